import { relative } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import {
  deployRecord,
  deployService,
  describeApiError,
  loadClusterTarget,
  renderDryRun,
  waitUntilAnswers,
  writeDeployRecord,
  type ApplyOutcome,
  type DeployRecord,
  type DeployServiceResult,
} from '../../kubernetes';
import { pullSecretFor } from '../../docker/pull-secret';
import { writeTokenFile } from '@turbolift/runtime';
import { registerServiceEndpoint } from '../../service/endpoints';
import { callerTokenCopyPath } from '../../service/paths';
import { readImageRecord } from '../../service/image-record';
import { readWorkspaceName, requireMarker, resolveServiceProject } from '../../service/project';
import { explainReason, withClusterAccess } from '../cluster-access';
import { runExecutor } from '../run-executor';
import { normalizeDeployOptions, toDeploySpec } from './normalize-options';
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
  /** What was written to the deploy record (not on a dry run). */
  record?: DeployRecord;
}

/** `turbolift:deploy-k8s`: options → the record → a dry run's YAML, or server-side apply and the rollout. */
export default async function deployK8sExecutor(options: DeployK8sExecutorOptions, context: ExecutorContext): Promise<DeployK8sExecutorResult> {
  return runExecutor(
    'deploy-k8s',
    async () => {
      const project = resolveServiceProject(context, 'deploy-k8s');
      const normalized = normalizeDeployOptions(options, { ...project, workspaceName: readWorkspaceName(project.workspaceRoot) });
      const image = readImageRecord(normalized.imageRecordPath, `nx run ${project.name}:build-image`);
      // Read before any cluster call: missing credentials fail the deploy before it changes anything.
      const pullSecret = normalized.createPullSecret ? pullSecretFor(normalized.name, image.image) : undefined;

      if (normalized.dryRun) {
        const dryRun = renderDryRun(normalized.cluster, (namespace) => toDeploySpec(normalized, namespace, image, pullSecret), normalized.outputFile);
        process.stdout.write(dryRun.yaml);
        return { success: true, name: normalized.name, ...dryRun };
      }

      const target = loadClusterTarget(normalized.cluster);
      const spec = toDeploySpec(normalized, target.namespace, image, pullSecret);
      const log = (line: string) => logger.info(line);
      const deployed = await withClusterAccess(target, () => deployService(target, spec, { timeoutMs: normalized.timeoutMs, atomic: normalized.atomic, log }));
      deployed.reason = explainReason(target, deployed.reason);
      const record = deployRecord({ project: project.name, configuration: context.configurationName, target, spec, deployed });
      writeDeployRecord(normalized.recordFile, record);
      logger.info(`${spec.name}: deploy record in ${relative(project.workspaceRoot, normalized.recordFile)}`);
      if (normalized.json) process.stdout.write(`${JSON.stringify(record)}\n`);
      const result = { ...summary(spec.name, spec.namespace, deployed), record };
      if (!result.success) {
        console.error(`deploy-k8s: ${result.reason}`);
        return result;
      }
      if (normalized.registerEndpoint && result.url) {
        // Registered only once it answers here: a caller reading the file right after must get through.
        const answers = await waitUntilAnswers(result.url, ENDPOINT_CHECK_TIMEOUT_MS);
        if (!answers.success) {
          const reason = `${spec.name}: not registered: ${answers.reason}; ClusterIPs route only where kube-proxy runs`;
          console.error(`deploy-k8s: ${reason}`);
          return { ...result, success: false, reason };
        }
        // Callers here are outside the cluster: they get the namespace's token from a copy the endpoints file names.
        const token = deployed.callersSecret?.token;
        const tokenFile = token ? callerTokenCopyPath(project.workspaceRoot, target.context, spec.namespace) : undefined;
        if (token && tokenFile) writeTokenFile(tokenFile, token);
        const registration = registerServiceEndpoint(project.workspaceRoot, requireMarker(project, 'registerEndpoint').function, result.url, tokenFile);
        logger.info(`${spec.name}: registered ${registration.fn} -> ${registration.url} in ${registration.file}`);
      }
      return result;
    },
    describeApiError,
  );
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
