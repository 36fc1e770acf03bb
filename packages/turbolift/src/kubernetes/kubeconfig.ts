import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TurboliftError } from '../errors';

export interface ClusterSelection {
  /** Path of a kubeconfig file; else KUBECONFIG, else ~/.kube/config, else the in-cluster account (as kubectl). */
  kubeconfig?: string;
  /** Context to use; else the file's current context. */
  context?: string;
  /** Namespace; else the context's namespace, else `default`. */
  namespace?: string;
}

export interface ClusterTarget {
  kubeConfig: KubeConfig;
  context: string;
  namespace: string;
  server: string;
}

export function loadClusterTarget(selection: ClusterSelection): ClusterTarget {
  const kubeConfig = new KubeConfig();
  const file = selection.kubeconfig;
  if (file) {
    if (!existsSync(file)) throw new TurboliftError('TL_KUBECONFIG', `kubeconfig ${file} does not exist`);
    loadOrExplain(() => kubeConfig.loadFromFile(file), file);
  } else {
    const defaultFile = join(homedir(), '.kube', 'config');
    const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
    if (!process.env.KUBECONFIG && !existsSync(defaultFile) && !inCluster) {
      throw new TurboliftError('TL_KUBECONFIG', `no kubeconfig: pass the kubeconfig option, set KUBECONFIG or create ${defaultFile}`);
    }
    loadOrExplain(() => kubeConfig.loadFromDefault(), process.env.KUBECONFIG ?? defaultFile);
  }

  if (selection.context) {
    if (!kubeConfig.getContextObject(selection.context)) {
      const known =
        kubeConfig
          .getContexts()
          .map((context) => context.name)
          .join(', ') || 'none';
      throw new TurboliftError('TL_KUBECONFIG', `kubeconfig has no context "${selection.context}" (contexts: ${known})`);
    }
    kubeConfig.setCurrentContext(selection.context);
  }
  const context = kubeConfig.getCurrentContext();
  const contextObject = kubeConfig.getContextObject(context);
  const cluster = kubeConfig.getCurrentCluster();
  if (!contextObject || !cluster) {
    throw new TurboliftError('TL_KUBECONFIG', `kubeconfig has no usable current context${context ? ` ("${context}")` : ''}: pass the context option`);
  }
  return {
    kubeConfig,
    context,
    namespace: selection.namespace || contextObject.namespace || 'default',
    server: cluster.server,
  };
}

function loadOrExplain(load: () => void, source: string): void {
  try {
    load();
  } catch (error) {
    throw new TurboliftError('TL_KUBECONFIG', `cannot read kubeconfig ${source}: ${(error as Error).message.split('\n')[0]}`);
  }
}
