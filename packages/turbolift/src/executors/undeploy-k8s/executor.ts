import { logger, type ExecutorContext } from '@nx/devkit';
import { isAbsolute, resolve } from 'node:path';
import { DeployConfigError, describeApiError, loadClusterTarget, readServiceEndpoint, toDnsLabel, undeployService } from '../../kubernetes';
import { unregisterClusterEndpoint } from '../deploy-k8s/endpoint-registration';
import { projectInfo } from '../deploy-k8s/project-info';
import type { UndeployK8sExecutorOptions } from './schema';

const DEFAULT_TIMEOUT_SECONDS = 120;

export default async function undeployK8sExecutor(
  options: UndeployK8sExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean; deleted?: string[]; reason?: string }> {
  try {
    const project = projectInfo(context, 'turbolift:undeploy-k8s');
    const kubeconfig = options.kubeconfig && !isAbsolute(options.kubeconfig) ? resolve(project.workspaceRoot, options.kubeconfig) : options.kubeconfig;
    const target = loadClusterTarget({ kubeconfig, context: options.context, namespace: options.namespace });
    const name = toDnsLabel(options.name ?? project.projectName);
    logger.info(`${name}: removing from namespace ${target.namespace} (context ${target.context}, ${target.server})`);
    // The ClusterIP dies with the Service: read it first, to drop a registration that points at it.
    const endpoint = await readServiceEndpoint(target.kubeConfig, target.namespace, name).catch(() => undefined);
    const result = await undeployService(target.kubeConfig, {
      namespace: target.namespace,
      name,
      timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      log: (line) => logger.info(line),
    });
    if (!result.success && result.reason) logger.error(result.reason);
    if (result.success && endpoint?.clusterIpUrl && unregisterClusterEndpoint(project.workspaceRoot, project.projectRoot, endpoint.clusterIpUrl)) {
      logger.info(`${name}: dropped its endpoint ${endpoint.clusterIpUrl} from the endpoints file`);
    }
    return result;
  } catch (error) {
    const reason = error instanceof DeployConfigError ? error.message : describeApiError(error);
    logger.error(reason);
    return { success: false, reason };
  }
}
