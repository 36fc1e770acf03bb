// Thin: watches a Deployment, its ReplicaSets and pods until the rollout is done, fails for good, or times out.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { CoreV1Event, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { describeApiError, withTimeout } from './api-errors';
import { selectorLabels } from './labels';
import { observe, type Observation } from './observe';
import { describeWaiting, diagnosePod, findNewReplicaSet, mostTelling, oneLine, podsOfReplicaSet, rolloutProgress, type PodProblem } from './rollout-state';

export interface WaitForRolloutOptions {
  namespace: string;
  name: string;
  timeoutMs: number;
  /** How long an image pull may keep failing before the rollout is given up (default 10 s). */
  pullGraceMs?: number;
  /** Progress lines, e.g. `compress-all-service: 1/2 ready`. */
  log: (line: string) => void;
}

export type RolloutResult = { success: true } | { success: false; reason: string };

const DEFAULT_PULL_GRACE_MS = 10_000;
const EVENTS_TIMEOUT_MS = 10_000;

export function waitForRollout(kubeConfig: KubeConfig, options: WaitForRolloutOptions): Promise<RolloutResult> {
  const { namespace, name, log } = options;
  const pullGraceMs = options.pullGraceMs ?? DEFAULT_PULL_GRACE_MS;
  const selector = Object.entries(selectorLabels({ name }))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

  return new Promise<RolloutResult>((resolve) => {
    let deployment: V1Deployment | undefined;
    let deploymentSeen = false;
    let replicaSets: V1ReplicaSet[] = [];
    let pods: V1Pod[] = [];
    let lastProgress = '';
    let finished = false;
    const pullFailingSince = new Map<string, number>();
    let graceTimer: NodeJS.Timeout | undefined;
    const observations: Observation[] = [];

    const stopWatching = () => {
      finished = true;
      clearTimeout(deadline);
      if (graceTimer) clearTimeout(graceTimer);
      observations.forEach((observation) => observation.stop());
    };

    const finish = (result: RolloutResult) => {
      if (finished) return;
      stopWatching();
      resolve(result);
    };

    const fail = async (headline: string, problem?: PodProblem) => {
      if (finished) return;
      stopWatching(); // nothing is evaluated any more while the events are fetched
      const detail = problem ? await explainPod(kubeConfig, namespace, problem) : undefined;
      resolve({ success: false, reason: detail ? `${headline}: ${detail}` : headline });
    };

    const evaluate = () => {
      if (finished || !deploymentSeen) return;
      if (!deployment) return void fail(`${name}: the Deployment was deleted while waiting for its rollout`);
      const newReplicaSet = findNewReplicaSet(deployment, replicaSets);
      const progress = rolloutProgress(deployment, newReplicaSet);
      const line = `${name}: ${progress.ready}/${progress.desired} ready`;
      if (line !== lastProgress) {
        lastProgress = line;
        log(line);
      }
      if (progress.done) return finish({ success: true });

      const problems = newReplicaSet ? podsOfReplicaSet(newReplicaSet, pods).map(diagnosePod).filter(isProblem) : [];
      if (progress.failure) return void fail(`${name}: rollout failed: ${progress.failure}`, mostTelling(problems));

      const now = Date.now();
      for (const pod of [...pullFailingSince.keys()]) {
        if (!problems.some((problem) => problem.pod === pod && problem.severity === 'pull')) pullFailingSince.delete(pod);
      }
      const definitive = problems.find((problem) => problem.severity === 'definitive');
      if (definitive) return void fail(`${name}: rollout failed`, definitive);
      for (const problem of problems.filter((candidate) => candidate.severity === 'pull')) {
        const since = pullFailingSince.get(problem.pod) ?? now;
        pullFailingSince.set(problem.pod, since);
        if (now - since >= pullGraceMs) return void fail(`${name}: rollout failed`, problem);
      }
      // A pull failure is only given up after the grace; check again when it ends even if nothing else happens.
      if (graceTimer) clearTimeout(graceTimer);
      graceTimer = undefined;
      if (pullFailingSince.size > 0) {
        const earliest = Math.min(...pullFailingSince.values());
        graceTimer = setTimeout(evaluate, Math.max(0, earliest + pullGraceMs - now) + 10);
      }
    };

    const deadline = setTimeout(() => {
      const newReplicaSet = deployment ? findNewReplicaSet(deployment, replicaSets) : undefined;
      const problems = newReplicaSet ? podsOfReplicaSet(newReplicaSet, pods).map(diagnosePod).filter(isProblem) : [];
      const progress = lastProgress ? ` (${lastProgress.slice(name.length + 2)})` : '';
      const problem = mostTelling(problems);
      const waiting = problem ? undefined : describeWaiting(deployment, newReplicaSet);
      void fail(`${name}: rollout not done after ${Math.round(options.timeoutMs / 1000)}s${progress}${waiting ? `: ${waiting}` : ''}`, problem);
    }, options.timeoutMs);

    const watchFailed = (message: string) => void fail(`${name}: ${message}`);
    observations.push(
      observe(kubeConfig, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace,
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        fieldSelector: `metadata.name=${name}`,
        onChange: (objects) => {
          deploymentSeen = true;
          deployment = objects.get(name) as V1Deployment | undefined;
          evaluate();
        },
        onError: watchFailed,
      }),
      observe(kubeConfig, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        namespace,
        path: `/apis/apps/v1/namespaces/${namespace}/replicasets`,
        labelSelector: selector,
        onChange: (objects) => {
          replicaSets = [...objects.values()] as V1ReplicaSet[];
          evaluate();
        },
        onError: watchFailed,
      }),
      observe(kubeConfig, {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace,
        path: `/api/v1/namespaces/${namespace}/pods`,
        labelSelector: selector,
        onChange: (objects) => {
          pods = [...objects.values()] as V1Pod[];
          evaluate();
        },
        onError: watchFailed,
      }),
    );
  });
}

function isProblem(problem: PodProblem | undefined): problem is PodProblem {
  return problem !== undefined;
}

/**
 * `pod <name>: <reason>`, and for a pod that is merely not ready, the latest warning event about it
 * (e.g. `Readiness probe failed: HTTP probe failed with statuscode: 503`), which says more than its status.
 */
async function explainPod(kubeConfig: KubeConfig, namespace: string, problem: PodProblem): Promise<string> {
  const prefix = `pod ${problem.pod}: ${problem.reason}`;
  if (problem.severity !== 'pending') return prefix;
  try {
    const events = await withTimeout(
      kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${problem.pod},type=Warning`,
      }),
      EVENTS_TIMEOUT_MS,
      `events of pod ${problem.pod}`,
    );
    const latest = latestEvent(events.items);
    return latest ? `${prefix}; ${latest.reason ?? 'Warning'}: ${oneLine(latest.message ?? '')}` : prefix;
  } catch (error) {
    return `${prefix} (events unavailable: ${describeApiError(error)})`;
  }
}

function latestEvent(events: readonly CoreV1Event[]): CoreV1Event | undefined {
  const time = (event: CoreV1Event) =>
    new Date((event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp ?? 0) as Date | string).getTime();
  return [...events].sort((a, b) => time(b) - time(a))[0];
}
