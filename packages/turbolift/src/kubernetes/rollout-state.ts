// Pure: what a Deployment, its ReplicaSets and pods say about a rollout. No I/O, no clock of its own.
import type { V1ContainerStatus, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const TEMPLATE_HASH_LABEL = 'pod-template-hash';

export interface RolloutProgress {
  /** The controller has seen the latest spec and every replica runs it, available, with no old one left. */
  done: boolean;
  ready: number;
  desired: number;
  /** A condition on the Deployment that no waiting will fix (ProgressDeadlineExceeded, ReplicaFailure). */
  failure?: string;
}

export function rolloutProgress(deployment: V1Deployment, newReplicaSet?: V1ReplicaSet): RolloutProgress {
  const generation = deployment.metadata?.generation ?? 0;
  const observed = deployment.status?.observedGeneration ?? 0;
  const desired = deployment.spec?.replicas ?? 1;
  const updated = deployment.status?.updatedReplicas ?? 0;
  const total = deployment.status?.replicas ?? 0;
  const available = deployment.status?.availableReplicas ?? 0;
  const current = observed >= generation;
  const done = current && updated === desired && total === desired && available === desired;
  // Only pods of the new ReplicaSet count: before the controller has acted on the new spec, none are ready yet.
  const ready = done ? desired : current && newReplicaSet ? (newReplicaSet.status?.availableReplicas ?? 0) : 0;
  return { done, ready, desired, failure: current ? deploymentFailure(deployment) : undefined };
}

function deploymentFailure(deployment: V1Deployment): string | undefined {
  for (const condition of deployment.status?.conditions ?? []) {
    if (condition.type === 'Progressing' && condition.status === 'False' && condition.reason === 'ProgressDeadlineExceeded') {
      return `ProgressDeadlineExceeded: ${oneLine(condition.message ?? 'no progress within the deadline')}`;
    }
    if (condition.type === 'ReplicaFailure' && condition.status === 'True') {
      return `${condition.reason ?? 'ReplicaFailure'}: ${oneLine(condition.message ?? '')}`;
    }
  }
  return undefined;
}

/** Why a rollout that has no pod problem is still not done, for the timeout message. */
export function describeWaiting(deployment: V1Deployment | undefined, newReplicaSet: V1ReplicaSet | undefined): string | undefined {
  if (!deployment) return 'the Deployment was never seen';
  const generation = deployment.metadata?.generation ?? 0;
  if ((deployment.status?.observedGeneration ?? 0) < generation) return `the controller has not observed generation ${generation} yet`;
  if (!newReplicaSet) return 'the controller has not created the new ReplicaSet';
  const old = (deployment.status?.replicas ?? 0) - (deployment.status?.updatedReplicas ?? 0);
  if (old > 0) return `${old} old replica${old === 1 ? '' : 's'} still running`;
  return undefined;
}

/** The ReplicaSet of the Deployment's current revision (the one the rollout moves to). */
export function findNewReplicaSet(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]): V1ReplicaSet | undefined {
  const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  const uid = deployment.metadata?.uid;
  if (!revision) return undefined;
  return replicaSets.find(
    (set) =>
      set.metadata?.annotations?.[REVISION_ANNOTATION] === revision && (!uid || (set.metadata?.ownerReferences ?? []).some((owner) => owner.uid === uid)),
  );
}

export function podsOfReplicaSet(replicaSet: V1ReplicaSet, pods: readonly V1Pod[]): V1Pod[] {
  const hash = replicaSet.metadata?.labels?.[TEMPLATE_HASH_LABEL];
  const uid = replicaSet.metadata?.uid;
  return pods.filter(
    (pod) =>
      !pod.metadata?.deletionTimestamp &&
      ((uid && (pod.metadata?.ownerReferences ?? []).some((owner) => owner.uid === uid)) ||
        (hash !== undefined && pod.metadata?.labels?.[TEMPLATE_HASH_LABEL] === hash)),
  );
}

/**
 * How sure we are that a pod will never become ready:
 * - `definitive`: waiting cannot help (CrashLoopBackOff, an invalid image name),
 * - `pull`: the image cannot be pulled; definitive once it has lasted a short grace (a registry may blink),
 * - `pending`: not ready yet, and this is the best explanation so far (reported on timeout).
 */
export type ProblemSeverity = 'definitive' | 'pull' | 'pending';

export interface PodProblem {
  pod: string;
  severity: ProblemSeverity;
  /** One line: `CrashLoopBackOff: container x exited with code 1 (Error), restarted 3 times`. */
  reason: string;
}

const DEFINITIVE_WAITING = new Set(['CrashLoopBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const PULL_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff']);

export function diagnosePod(pod: V1Pod): PodProblem | undefined {
  const name = pod.metadata?.name ?? '?';
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && DEFINITIVE_WAITING.has(waiting.reason)) {
      return { pod: name, severity: 'definitive', reason: `${waiting.reason}: ${describeContainer(status, waiting.message)}` };
    }
  }
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && PULL_WAITING.has(waiting.reason)) {
      return { pod: name, severity: 'pull', reason: `${waiting.reason}: ${oneLine(waiting.message ?? `cannot pull ${status.image}`)}` };
    }
  }
  for (const status of statuses) {
    const terminated = status.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      return {
        pod: name,
        severity: 'pending',
        reason: `container ${status.name} exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`,
      };
    }
    const waiting = status.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      return { pod: name, severity: 'pending', reason: `${waiting.reason}: ${describeContainer(status, waiting.message)}` };
    }
  }
  const conditions = pod.status?.conditions ?? [];
  const unscheduled = conditions.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
  if (unscheduled) {
    return { pod: name, severity: 'pending', reason: `${unscheduled.reason ?? 'Unschedulable'}: ${oneLine(unscheduled.message ?? '')}` };
  }
  if (pod.status?.phase === 'Failed') {
    return { pod: name, severity: 'definitive', reason: `pod failed: ${pod.status.reason ?? ''} ${oneLine(pod.status.message ?? '')}`.trim() };
  }
  const notReady = conditions.find((condition) => condition.type === 'Ready' && condition.status !== 'True');
  if (notReady || statuses.some((status) => !status.ready)) {
    const running = statuses.every((status) => status.state?.running);
    return { pod: name, severity: 'pending', reason: running ? 'running but not ready (readiness probe not passing)' : 'not ready' };
  }
  return undefined;
}

function describeContainer(status: V1ContainerStatus, message?: string): string {
  const last = status.lastState?.terminated;
  const exit = last ? `exited with code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}` : undefined;
  const restarts = status.restartCount ? `restarted ${status.restartCount} time${status.restartCount === 1 ? '' : 's'}` : undefined;
  const detail = [exit, restarts].filter(Boolean).join(', ') || oneLine(message ?? '');
  return `container ${status.name}${detail ? ` ${detail}` : ''}`;
}

/** The problem worth reporting first: definitive before pull failures before anything pending. */
export function mostTelling(problems: readonly PodProblem[]): PodProblem | undefined {
  const order: ProblemSeverity[] = ['definitive', 'pull', 'pending'];
  return [...problems].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity) || a.pod.localeCompare(b.pod))[0];
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
