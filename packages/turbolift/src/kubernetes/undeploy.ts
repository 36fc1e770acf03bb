// Thin: deletes what deploy-k8s applied for one service (by its labels, the kinds it renders, one namespace) and waits.
// The namespace's callers Secret carries no service's labels and stays: the namespace's other services and their
// callers use it.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { AUTH } from '@turbolift/runtime/contract';
import { describeApiError, isNotFound, withTimeout } from './api-errors';
import { API_CALL_TIMEOUT_MS } from './apply';
import { managedObjectsSelector } from './labels';
import { RENDERED_KINDS } from './manifests';
import { observe, type Observation, type ObservedKind } from './observe';

export interface UndeployOptions {
  namespace: string;
  name: string;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface UndeployResult {
  success: boolean;
  reason?: string;
  deleted: string[];
}

/** The only kinds undeploy touches (what deploy renders); anything else in the namespace, labelled or not, is left alone. */
export function managedKinds(namespace: string): ObservedKind[] {
  return RENDERED_KINDS.map(({ apiVersion, kind, plural }) => ({
    apiVersion,
    kind,
    namespace,
    path: `${apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`}/namespaces/${namespace}/${plural}`,
  }));
}

export async function undeployService(kubeConfig: KubeConfig, options: UndeployOptions): Promise<UndeployResult> {
  const { namespace, name, log } = options;
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const labelSelector = managedObjectsSelector(name);
  const deleted: string[] = [];
  for (const kind of managedKinds(namespace)) {
    const list = await withTimeout(
      client.list(kind.apiVersion, kind.kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
      API_CALL_TIMEOUT_MS,
      `list ${kind.kind} in ${namespace}`,
    );
    for (const item of list.items) {
      const itemName = item.metadata?.name ?? '';
      try {
        // Foreground: the Deployment is gone only once its ReplicaSets and pods are, so "gone" means gone.
        await withTimeout(
          client.delete(
            { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name: itemName, namespace } },
            undefined,
            undefined,
            undefined,
            undefined,
            'Foreground',
          ),
          API_CALL_TIMEOUT_MS,
          `delete ${kind.kind}/${itemName}`,
        );
        deleted.push(`${kind.kind}/${itemName}`);
        log(`  ${kind.kind}/${itemName} deleted`);
      } catch (error) {
        if (!isNotFound(error))
          return { success: false, reason: `delete ${kind.kind}/${itemName} in ${namespace} failed: ${describeApiError(error)}`, deleted };
      }
    }
  }
  if (deleted.length === 0) {
    log(`${name}: nothing of it in namespace ${namespace}; ${callersSecretLeft(namespace)}`);
    return { success: true, deleted };
  }
  const gone = await waitUntilGone(kubeConfig, namespace, labelSelector, options.timeoutMs);
  if (!gone.success) return { success: false, reason: `${name}: ${gone.reason}`, deleted };
  log(`${name}: removed from namespace ${namespace}; ${callersSecretLeft(namespace)}`);
  return { success: true, deleted };
}

export function callersSecretLeft(namespace: string): string {
  return `Secret/${AUTH.secretName} in ${namespace}, if any, is left (its services and their callers share it; kubectl delete it once none is left)`;
}

/** Watches the managed kinds until nothing with the selector is left, or the time is up. */
function waitUntilGone(kubeConfig: KubeConfig, namespace: string, labelSelector: string, timeoutMs: number): Promise<{ success: boolean; reason?: string }> {
  return new Promise((resolve) => {
    const remaining = new Map<string, string[]>();
    const kinds = managedKinds(namespace);
    const observations: Observation[] = [];
    let finished = false;
    const finish = (result: { success: boolean; reason?: string }) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      observations.forEach((observation) => observation.stop());
      resolve(result);
    };
    const deadline = setTimeout(() => {
      const left = [...remaining.entries()].flatMap(([kind, names]) => names.map((itemName) => `${kind}/${itemName}`));
      finish({ success: false, reason: `still present after ${Math.round(timeoutMs / 1000)}s: ${left.join(', ') || 'unknown'}` });
    }, timeoutMs);
    for (const kind of kinds) {
      observations.push(
        observe(kubeConfig, {
          ...kind,
          labelSelector,
          onChange: (objects) => {
            remaining.set(kind.kind, [...objects.keys()]);
            if (remaining.size === kinds.length && [...remaining.values()].every((names) => names.length === 0)) finish({ success: true });
          },
          onError: (message) => finish({ success: false, reason: message }),
        }),
      );
    }
  });
}
