// Thin: render -> apply -> prune -> watch the rollout -> report where the service answers (or, atomic, roll back).
import { AppsV1Api } from '@kubernetes/client-node';
import { describeApiError, withTimeout } from './api-errors';
import { authOffWarning } from './auth';
import { ensureCallersSecrets, type CallersSecretOutcome } from './callers';
import { API_CALL_TIMEOUT_MS, ApplyError, applyManifests, objectApi, pruneManifests, type ApplyOutcome } from './apply';
import type { ClusterTarget } from './kubeconfig';
import { imageReference, minimumReplicas, renderManifests } from './manifests';
import { readPreDeployState, rollBack, type RollbackOptions, type RollbackResult } from './rollback';
import { waitForRollout } from './rollout';
import { readServiceEndpoint, waitForReadyEndpoints, type ServiceEndpoint } from './service-endpoint';
import type { ServiceDeploySpec } from './types';

export interface DeployServiceOptions {
  timeoutMs: number;
  pullGraceMs?: number;
  /**
   * As Helm's --atomic: when the rollout fails, times out or the Service never routes, every object the deploy
   * changed is put back as it was (what it created is deleted), the restored rollout is waited for (within
   * `timeoutMs` again), and the deploy fails saying so.
   */
  atomic?: boolean;
  log: (line: string) => void;
}

export interface DeployServiceResult {
  success: boolean;
  /** One line when success is false. */
  reason?: string;
  contentHash: string;
  outcomes: ApplyOutcome[];
  /** Whether anything was created, configured or pruned. */
  changed: boolean;
  /** True when an atomic deploy failed and put back what ran before it. */
  rolledBack?: boolean;
  /** The Deployment's `deployment.kubernetes.io/revision` after a successful rollout, as the API server says. */
  revision?: string;
  endpoint?: ServiceEndpoint;
  /** With auth on: whether the namespace's callers Secret was created, and where its tokens were copied. */
  callersSecret?: CallersSecretOutcome;
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export async function deployService(target: ClusterTarget, spec: ServiceDeploySpec, options: DeployServiceOptions): Promise<DeployServiceResult> {
  const { log } = options;
  const startedAt = Date.now();
  const { objects, contentHash } = renderManifests(spec);
  log(`${spec.name}: deploying ${imageReference(spec.image)} to namespace ${spec.namespace} (context ${target.context}, ${target.server})`);

  if (spec.image.pushed === false || !spec.image.digest) {
    log(`${spec.name}: warning: the image record has no registry digest (not pushed?); the cluster must be able to pull ${imageReference(spec.image)}`);
  }

  if (!spec.auth.enabled) log(authOffWarning(spec));

  const client = objectApi(target.kubeConfig);
  // Read before anything is written: what a rollback puts back.
  const before = options.atomic ? await readPreDeployState(client, spec.namespace, spec.name, objects) : undefined;
  const rollbackOptions = (outcomes: readonly ApplyOutcome[]): RollbackOptions => ({
    namespace: spec.namespace,
    name: spec.name,
    outcomes,
    before: before ?? new Map(),
    desired: objects,
    timeoutMs: options.timeoutMs,
    log,
  });

  const autoscaledMinReplicas = spec.autoscaling.enabled ? spec.autoscaling.min : undefined;
  const written: ApplyOutcome[] = [];
  const onOutcome = (outcome: ApplyOutcome) => written.push(outcome);
  let outcomes: ApplyOutcome[];
  let callersSecret: CallersSecretOutcome | undefined;
  try {
    // The Namespace first, then the callers Secret the pods mount (a pod whose Secret is missing does not start).
    const namespaces = objects.filter((object) => object.kind === 'Namespace');
    const applied = await applyManifests(client, namespaces, { onOutcome });
    callersSecret = await ensureCallersSecrets(client, spec, log);
    const rest = objects.filter((object) => object.kind !== 'Namespace');
    applied.push(...(await applyManifests(client, rest, { autoscaledMinReplicas, onOutcome })));
    outcomes = [...applied, ...(await pruneManifests(client, spec.namespace, spec.name, objects, { onOutcome }))];
  } catch (error) {
    // Refused half-way: an atomic deploy first undoes what it had written, then reports the refusal.
    if (!before || !(error instanceof ApplyError)) throw error;
    const rollback = await rollBackOrRefuse(target, client, error.message, rollbackOptions(written));
    throw new ApplyError(`${error.message}; ${rollback.summary}`);
  }
  for (const outcome of outcomes) log(`  ${outcome.kind}/${outcome.name} ${outcome.action}`);
  const changed = outcomes.some((outcome) => outcome.action !== 'unchanged');
  if (!changed) {
    log(`${spec.name}: unchanged (content hash ${contentHash.slice(0, 12)} already applied), checking it is rolled out`);
  }

  const failure = await rollOut(target, spec, options, startedAt);
  if (failure) {
    // An unchanged deploy has nothing to undo: rollBack says so and the failure stands as it is.
    if (!before || !changed) return { success: false, reason: failure, contentHash, outcomes, changed, callersSecret };
    log(`${failure}`);
    const rollback = await rollBackOrRefuse(target, client, failure, rollbackOptions(outcomes));
    return {
      success: false,
      reason: `${failure}; ${rollback.summary}`,
      contentHash,
      outcomes,
      changed,
      rolledBack: rollback.rolledBack,
      callersSecret,
    };
  }

  const revision = await readRevision(target, spec, log);
  let endpoint: ServiceEndpoint | undefined;
  try {
    endpoint = await readServiceEndpoint(target.kubeConfig, spec.namespace, spec.name);
    const clusterIp = endpoint.clusterIP ? `${endpoint.clusterIP} (${endpoint.clusterIpUrl})` : 'none';
    log(`${spec.name}: ready (content hash ${contentHash.slice(0, 12)}); Service ClusterIP ${clusterIp}, in-cluster URL ${endpoint.inClusterUrl}`);
  } catch (error) {
    log(`${spec.name}: ready; reading Service/${spec.name} failed: ${describeApiError(error)}`);
  }
  return { success: true, contentHash, outcomes, changed, revision, endpoint, callersSecret };
}

/** The rollout, then the Service routing to a ready pod, within what is left of the timeout; the failure line, if any. */
async function rollOut(target: ClusterTarget, spec: ServiceDeploySpec, options: DeployServiceOptions, startedAt: number): Promise<string | undefined> {
  const rollout = await waitForRollout(target.kubeConfig, {
    namespace: spec.namespace,
    name: spec.name,
    timeoutMs: options.timeoutMs,
    pullGraceMs: options.pullGraceMs,
    log: options.log,
  });
  if (!rollout.success) return rollout.reason;

  // Callers go through the Service: wait until it routes to a ready pod.
  const wantedEndpoints = minimumReplicas(spec) > 0 ? 1 : 0;
  if (wantedEndpoints === 0) return undefined;
  const routed = await waitForReadyEndpoints(target.kubeConfig, {
    namespace: spec.namespace,
    name: spec.name,
    minimum: wantedEndpoints,
    timeoutMs: options.timeoutMs - (Date.now() - startedAt),
  });
  return routed.success ? undefined : `${spec.name}: ${routed.reason}`;
}

/** A rollback the API server refuses is an ApplyError that still says why the deploy was rolled back. */
async function rollBackOrRefuse(
  target: ClusterTarget,
  client: ReturnType<typeof objectApi>,
  failure: string,
  options: RollbackOptions,
): Promise<RollbackResult> {
  try {
    return await rollBack(target.kubeConfig, client, options);
  } catch (error) {
    if (error instanceof ApplyError) throw new ApplyError(`${failure}; rollback failed: ${error.message}`);
    throw error;
  }
}

/** Read back rather than inferred: the controller numbers revisions, and an undone deploy reuses an old ReplicaSet. */
async function readRevision(target: ClusterTarget, spec: ServiceDeploySpec, log: (line: string) => void): Promise<string | undefined> {
  try {
    const deployment = await withTimeout(
      target.kubeConfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: spec.name, namespace: spec.namespace }),
      API_CALL_TIMEOUT_MS,
      `read Deployment/${spec.name}`,
    );
    return deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  } catch (error) {
    log(`${spec.name}: reading the revision of Deployment/${spec.name} failed: ${describeApiError(error)}`);
    return undefined;
  }
}
