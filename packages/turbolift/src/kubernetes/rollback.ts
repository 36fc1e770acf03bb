// Thin: reads what an atomic deploy may change before it applies, and puts it back when the rollout fails.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { fromClientModel } from './client-model';
import { describeApiError, isNotFound, withTimeout } from './api-errors';
import {
  API_CALL_TIMEOUT_MS,
  ApplyError,
  OPTIONAL_KINDS,
  REPLICAS_FIELD_MANAGER,
  readIfExists,
  replicasOnly,
  serverSideApply,
  type ApplyOutcome,
} from './apply';
import { FIELD_MANAGER, managedObjectsSelector } from './labels';
import { objectKey, planRollback, type LiveObject, type PreDeployState, type RollbackStep } from './rollback-plan';
import { waitForRollout } from './rollout';
import type { KubernetesManifest } from './types';

/**
 * Every object the deploy may write, as it is now: each rendered object (the Namespace aside, which is never
 * changed) and our optional objects that the prune may delete. Read right before the apply.
 */
export async function readPreDeployState(
  client: KubernetesObjectApi,
  namespace: string,
  name: string,
  desired: readonly KubernetesManifest[],
): Promise<PreDeployState> {
  const state = new Map<string, LiveObject>();
  for (const object of desired) {
    if (object.kind === 'Namespace') continue;
    const current = await readIfExists(client, object);
    if (current) state.set(objectKey(object.kind, object.metadata.name), { ...current, apiVersion: object.apiVersion, kind: object.kind } as LiveObject);
  }
  for (const { apiVersion, kind } of OPTIONAL_KINDS) {
    let list;
    try {
      list = await withTimeout(
        client.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, managedObjectsSelector(name)),
        API_CALL_TIMEOUT_MS,
        `list ${kind} in ${namespace}`,
      );
    } catch (error) {
      // No namespace yet: nothing of ours in it either.
      if (isNotFound(error)) continue;
      throw new ApplyError(`list ${kind} in ${namespace} failed: ${describeApiError(error)}`);
    }
    // Items of a list carry no apiVersion and kind of their own.
    for (const item of list.items) state.set(objectKey(kind, item.metadata?.name ?? ''), fromClientModel({ ...item, apiVersion, kind }) as LiveObject);
  }
  return state;
}

export interface RollbackOptions {
  namespace: string;
  name: string;
  /** What the deploy did (its outcomes so far, when it was refused half-way). */
  outcomes: readonly ApplyOutcome[];
  before: PreDeployState;
  desired: readonly KubernetesManifest[];
  /** Bound of the restored rollout. */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface RollbackResult {
  /** Whether anything had to be undone (false for an unchanged deploy). */
  rolledBack: boolean;
  /** Whether the restored Deployment rolled out again (true when none was restored). */
  rolledOut: boolean;
  /** One clause for the failure line: `rolled back (Service/x, Deployment/x restored); the previous pods serve`. */
  summary: string;
}

/**
 * Undoes the deploy's outcomes (see planRollback), then waits for the restored Deployment's rollout: the old
 * ReplicaSet becomes the current one again and the new pods go. An API refusal is an ApplyError naming the object.
 */
export async function rollBack(kubeConfig: KubeConfig, client: KubernetesObjectApi, options: RollbackOptions): Promise<RollbackResult> {
  const { namespace, name, log } = options;
  const plan = planRollback(options.outcomes, options.before, options.desired);
  if (plan.steps.length === 0) return { rolledBack: false, rolledOut: true, summary: 'nothing to roll back (the deploy changed nothing)' };
  log(`${name}: rolling back`);
  for (const step of plan.steps) {
    await runStep(client, step, namespace);
    log(`  ${step.kind}/${step.name} ${step.action === 'delete' ? 'deleted' : step.action === 'recreate' ? 'recreated' : 'restored'}`);
  }
  const done = describeSteps(plan.steps, plan.kept);
  if (!plan.restoresDeployment) {
    const firstDeploy = plan.steps.some((step) => step.kind === 'Deployment' && step.action === 'delete');
    return { rolledBack: true, rolledOut: true, summary: `rolled back (${done}${firstDeploy ? '; nothing ran before' : ''})` };
  }
  const rollout = await waitForRollout(kubeConfig, { namespace, name, timeoutMs: options.timeoutMs, log });
  if (!rollout.success) {
    return {
      rolledBack: true,
      rolledOut: false,
      summary: `rolled back (${done}), but the restored Deployment did not roll out: ${withoutName(rollout.reason, name)}`,
    };
  }
  return { rolledBack: true, rolledOut: true, summary: `rolled back (${done}); the previous version is rolled out again` };
}

async function runStep(client: KubernetesObjectApi, step: RollbackStep, namespace: string): Promise<void> {
  if (step.action === 'delete') {
    const ref = { apiVersion: step.apiVersion, kind: step.kind, metadata: { name: step.name, namespace: step.namespace ?? namespace } };
    try {
      // Background, as kubectl deletes: the object is gone at once and the garbage collector removes its pods.
      await withTimeout(client.delete(ref, undefined, undefined, undefined, undefined, 'Background'), API_CALL_TIMEOUT_MS, `delete ${step.kind}/${step.name}`);
    } catch (error) {
      if (!isNotFound(error)) throw new ApplyError(`delete ${step.kind}/${step.name} in ${ref.metadata.namespace} failed: ${describeApiError(error)}`);
    }
    return;
  }
  if (step.handOverReplicas !== undefined) await serverSideApply(client, replicasOnly(step.manifest, step.handOverReplicas), REPLICAS_FIELD_MANAGER);
  await serverSideApply(client, step.manifest, FIELD_MANAGER);
}

/** `Deployment/x, Service/x restored, HorizontalPodAutoscaler/x deleted`. */
function describeSteps(steps: readonly RollbackStep[], kept: readonly string[]): string {
  const groups = new Map<string, string[]>();
  for (const step of steps) {
    const verb = step.action === 'delete' ? 'deleted' : step.action === 'recreate' ? 'recreated' : 'restored';
    groups.set(verb, [...(groups.get(verb) ?? []), `${step.kind}/${step.name}`]);
  }
  if (kept.length > 0) groups.set('kept', [...kept]);
  return [...groups.entries()].map(([verb, objects]) => `${objects.join(', ')} ${verb}`).join(', ');
}

function withoutName(reason: string, name: string): string {
  return reason.startsWith(`${name}: `) ? reason.slice(name.length + 2) : reason;
}
