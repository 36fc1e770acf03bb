import { logger, type ExecutorContext } from '@nx/devkit';
import { isAbsolute, resolve } from 'node:path';
import { describeApiError, loadClusterTarget, readServiceEndpoint, toDnsLabel, undeployService, type UndeployResult } from '../../kubernetes';
import { unregisterServiceEndpoint } from '../../service/endpoints';
import { endpointsFilePath } from '../../service/paths';
import { resolveServiceProject } from '../../service/project';
import { explainReason, withClusterAccess } from '../cluster-access';
import { runExecutor } from '../run-executor';
import type { UndeployK8sExecutorOptions } from './schema';

const DEFAULT_TIMEOUT_SECONDS = 120;

/** `turbolift:undeploy-k8s`: removes what deploy-k8s applied, and the endpoint it registered. */
export default async function undeployK8sExecutor(
  options: UndeployK8sExecutorOptions,
  context: ExecutorContext,
): Promise<UndeployResult | { success: false; reason: string }> {
  return runExecutor(
    'undeploy-k8s',
    async () => {
      const project = resolveServiceProject(context, 'undeploy-k8s');
      const kubeconfig = options.kubeconfig && !isAbsolute(options.kubeconfig) ? resolve(project.workspaceRoot, options.kubeconfig) : options.kubeconfig;
      const target = loadClusterTarget({ kubeconfig, context: options.context, namespace: options.namespace });
      const name = toDnsLabel(options.name ?? project.name);
      logger.info(`${name}: removing from namespace ${target.namespace} (context ${target.context}, ${target.server})`);
      const timeoutMs = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
      const { endpoint, result } = await withClusterAccess(target, async () => {
        // The ClusterIP dies with the Service: read it first, to drop a registration that points at it.
        const endpoint = await readServiceEndpoint(target.kubeConfig, target.namespace, name).catch(() => undefined);
        const result = await undeployService(target.kubeConfig, { namespace: target.namespace, name, timeoutMs, log: (line) => logger.info(line) });
        return { endpoint, result };
      });
      if (!result.success) {
        result.reason = explainReason(target, result.reason);
        console.error(`undeploy-k8s: ${result.reason}`);
      }
      const url = endpoint?.clusterIpUrl;
      if (result.success && url && project.marker) {
        const registration = { file: endpointsFilePath(project.workspaceRoot), fn: project.marker.function, url };
        if (unregisterServiceEndpoint(registration)) logger.info(`${name}: dropped its endpoint ${url} from the endpoints file`);
      }
      return result;
    },
    describeApiError,
  );
}
