import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import {
  ApplyError,
  DeployConfigError,
  deployService,
  describeApiError,
  loadClusterTarget,
  readImageRecord,
  renderManifests,
  renderYaml,
  type ApplyOutcome,
  type ClusterSelection,
  type DeployServiceResult,
  waitUntilAnswers,
} from '../../kubernetes';
import { registerClusterEndpoint } from './endpoint-registration';
import { normalizeDeployOptions, toDeploySpec } from './normalize-options';
import { projectInfo } from './project-info';
import type { DeployK8sExecutorOptions } from './schema';

const ENDPOINT_CHECK_TIMEOUT_MS = 30_000;

export interface DeployK8sExecutorResult {
  success: boolean;
  name?: string;
  namespace?: string;
  contentHash?: string;
  /** Each object and what happened to it: created, configured, unchanged, pruned. */
  applied?: ApplyOutcome[];
  /** The Service's ClusterIP and `http://<clusterIP>:80` (reachable where kube-proxy runs, e.g. the node). */
  clusterIP?: string;
  url?: string;
  /** `http://<name>.<namespace>.svc:80`. */
  inClusterUrl?: string;
  /** The rendered manifests (dry run only). */
  yaml?: string;
  /** One line, when success is false. */
  reason?: string;
}

export default async function deployK8sExecutor(options: DeployK8sExecutorOptions, context: ExecutorContext): Promise<DeployK8sExecutorResult> {
  try {
    const project = projectInfo(context, 'turbolift:deploy-k8s');
    const normalized = normalizeDeployOptions(options, project);
    const image = readImageRecord(normalized.imageRecordPath, `nx run ${project.projectName}:build-image`);

    if (normalized.dryRun) {
      const namespace = normalized.cluster.namespace ?? namespaceFromKubeconfig(normalized.cluster) ?? 'default';
      const { objects, contentHash } = renderManifests(toDeploySpec(normalized, namespace, image));
      const yaml = renderYaml(objects);
      process.stdout.write(yaml);
      if (normalized.outputFile) {
        mkdirSync(dirname(normalized.outputFile), { recursive: true });
        writeFileSync(normalized.outputFile, yaml);
      }
      return { success: true, name: normalized.name, namespace, contentHash, yaml };
    }

    const target = loadClusterTarget(normalized.cluster);
    const spec = toDeploySpec(normalized, target.namespace, image);
    const result = await deployService(target, spec, { timeoutMs: normalized.timeoutMs, log: (line) => logger.info(line) });
    if (!result.success && result.reason) logger.error(result.reason);
    if (result.success && normalized.registerEndpoint && result.endpoint?.clusterIpUrl) {
      const url = result.endpoint.clusterIpUrl;
      // Registered only once it answers here: a caller reading the file right after must get through.
      const answers = await waitUntilAnswers(url, ENDPOINT_CHECK_TIMEOUT_MS);
      if (!answers.success) {
        const reason = `${spec.name}: not registered: ${answers.reason}; ClusterIPs route only where kube-proxy runs`;
        logger.error(reason);
        return { ...summary(spec.name, spec.namespace, result), success: false, reason };
      }
      const { file, fn } = registerClusterEndpoint(project.workspaceRoot, project.projectRoot, url);
      logger.info(`${spec.name}: registered ${fn} -> ${url} in ${file}`);
    }
    return summary(spec.name, spec.namespace, result);
  } catch (error) {
    const reason = error instanceof DeployConfigError || error instanceof ApplyError ? error.message : describeApiError(error);
    logger.error(reason);
    return { success: false, reason };
  }
}

function summary(name: string, namespace: string, result: DeployServiceResult): DeployK8sExecutorResult {
  return {
    success: result.success,
    name,
    namespace,
    contentHash: result.contentHash,
    applied: result.outcomes,
    clusterIP: result.endpoint?.clusterIP,
    url: result.endpoint?.clusterIpUrl,
    inClusterUrl: result.endpoint?.inClusterUrl,
    reason: result.reason,
  };
}

/** A dry run needs no cluster, but uses the kubeconfig's namespace when there is one, as kubectl would. */
function namespaceFromKubeconfig(selection: ClusterSelection): string | undefined {
  try {
    return loadClusterTarget(selection).namespace;
  } catch {
    return undefined;
  }
}
