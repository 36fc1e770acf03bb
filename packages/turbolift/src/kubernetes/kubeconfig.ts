import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, sep } from 'node:path';
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
    resolveExecCommands(kubeConfig, file);
  } else {
    const defaultFile = join(homedir(), '.kube', 'config');
    const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
    if (!process.env.KUBECONFIG && !existsSync(defaultFile) && !inCluster) {
      throw new TurboliftError('TL_KUBECONFIG', `no kubeconfig: pass the kubeconfig option, set KUBECONFIG or create ${defaultFile}`);
    }
    loadOrExplain(() => kubeConfig.loadFromDefault(), process.env.KUBECONFIG ?? defaultFile);
    // With several KUBECONFIG files, which one a user entry came from is no longer known.
    const files = process.env.KUBECONFIG ? process.env.KUBECONFIG.split(delimiter).filter(Boolean) : existsSync(defaultFile) ? [defaultFile] : [];
    if (files.length === 1) resolveExecCommands(kubeConfig, files[0]);
  }
  trimTokens(kubeConfig);

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

/**
 * A token read from `token-file` keeps the file's trailing newline, which no HTTP header may hold: client-node's
 * every request would fail with "not a legal HTTP header value". kubectl trims it; so do we.
 */
function trimTokens(kubeConfig: KubeConfig): void {
  const users = kubeConfig.getUsers();
  users.forEach((user, index) => {
    if (user.token && user.token !== user.token.trim()) users[index] = { ...user, token: user.token.trim() };
  });
}

/**
 * kubectl resolves an exec plugin's command that is a relative path (`./bin/get-token`) against the kubeconfig's
 * folder; client-node would resolve it against the current directory. Bare names (`aws`) are looked up on PATH by both.
 */
function resolveExecCommands(kubeConfig: KubeConfig, file: string): void {
  const users = kubeConfig.getUsers();
  users.forEach((user, index) => {
    const command = (user.exec as { command?: unknown } | undefined)?.command;
    if (typeof command !== 'string' || isAbsolute(command) || !command.includes(sep)) return;
    users[index] = { ...user, exec: { ...user.exec, command: join(dirname(file), command) } };
  });
}
