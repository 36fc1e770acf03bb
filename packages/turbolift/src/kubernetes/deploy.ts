// Thin: render -> apply -> prune -> watch the rollout -> report where the service answers.
import { describeApiError } from './api-errors';
import { applyManifests, objectApi, pruneManifests, type ApplyOutcome } from './apply';
import type { ClusterTarget } from './kubeconfig';
import { imageReference, minimumReplicas, renderManifests } from './manifests';
import { waitForRollout } from './rollout';
import { readServiceEndpoint, waitForReadyEndpoints, type ServiceEndpoint } from './service-endpoint';
import type { ServiceDeploySpec } from './types';

export interface DeployServiceOptions {
  timeoutMs: number;
  pullGraceMs?: number;
  log: (line: string) => void;
}

export interface DeployServiceResult {
  success: boolean;
  /** One line when success is false. */
  reason?: string;
  contentHash: string;
  outcomes: ApplyOutcome[];
  endpoint?: ServiceEndpoint;
}

export async function deployService(target: ClusterTarget, spec: ServiceDeploySpec, options: DeployServiceOptions): Promise<DeployServiceResult> {
  const { log } = options;
  const startedAt = Date.now();
  const { objects, contentHash } = renderManifests(spec);
  log(`${spec.name}: deploying ${imageReference(spec.image)} to namespace ${spec.namespace} (context ${target.context}, ${target.server})`);

  if (spec.image.pushed === false || !spec.image.digest) {
    log(`${spec.name}: warning: the image record has no registry digest (not pushed?); the cluster must be able to pull ${imageReference(spec.image)}`);
  }

  const client = objectApi(target.kubeConfig);
  const autoscaledMinReplicas = spec.autoscaling.enabled ? spec.autoscaling.min : undefined;
  const applied = await applyManifests(client, objects, { autoscaledMinReplicas });
  const outcomes = [...applied, ...(await pruneManifests(client, spec.namespace, spec.name, objects))];
  for (const outcome of outcomes) log(`  ${outcome.kind}/${outcome.name} ${outcome.action}`);
  if (outcomes.every((outcome) => outcome.action === 'unchanged')) {
    log(`${spec.name}: unchanged (content hash ${contentHash.slice(0, 12)} already applied), checking it is rolled out`);
  }

  const rollout = await waitForRollout(target.kubeConfig, {
    namespace: spec.namespace,
    name: spec.name,
    timeoutMs: options.timeoutMs,
    pullGraceMs: options.pullGraceMs,
    log,
  });
  if (!rollout.success) {
    return { success: false, reason: rollout.reason, contentHash, outcomes };
  }

  // Callers go through the Service: wait until it routes to a ready pod, within what is left of the timeout.
  const wantedEndpoints = minimumReplicas(spec) > 0 ? 1 : 0;
  if (wantedEndpoints > 0) {
    const routed = await waitForReadyEndpoints(target.kubeConfig, {
      namespace: spec.namespace,
      name: spec.name,
      minimum: wantedEndpoints,
      timeoutMs: options.timeoutMs - (Date.now() - startedAt),
    });
    if (!routed.success) return { success: false, reason: `${spec.name}: ${routed.reason}`, contentHash, outcomes };
  }

  let endpoint: ServiceEndpoint | undefined;
  try {
    endpoint = await readServiceEndpoint(target.kubeConfig, spec.namespace, spec.name);
    const clusterIp = endpoint.clusterIP ? `${endpoint.clusterIP} (${endpoint.clusterIpUrl})` : 'none';
    log(`${spec.name}: ready (content hash ${contentHash.slice(0, 12)}); Service ClusterIP ${clusterIp}, in-cluster URL ${endpoint.inClusterUrl}`);
  } catch (error) {
    log(`${spec.name}: ready; reading Service/${spec.name} failed: ${describeApiError(error)}`);
  }
  return { success: true, contentHash, outcomes, endpoint };
}
