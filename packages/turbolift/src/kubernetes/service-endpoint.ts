import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { withTimeout } from './api-errors';
import { SERVICE_PORT } from './manifests';
import { observe } from './observe';
import { READY_PATH } from '../service/runtime-settings';

export interface ServiceEndpoint {
  clusterIP: string | undefined;
  /** `http://<clusterIP>:80`: reachable from nodes (and, with kube-proxy on the host, from the host). */
  clusterIpUrl: string | undefined;
  /** `http://<name>.<namespace>.svc:80`: what the stub resolves to inside the cluster. */
  inClusterUrl: string;
}

export function inClusterUrl(name: string, namespace: string): string {
  return `http://${name}.${namespace}.svc:${SERVICE_PORT}`;
}

export async function readServiceEndpoint(kubeConfig: KubeConfig, namespace: string, name: string): Promise<ServiceEndpoint> {
  const service = await withTimeout(kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ name, namespace }), 30_000, `read Service/${name}`);
  const clusterIP = service.spec?.clusterIP && service.spec.clusterIP !== 'None' ? service.spec.clusterIP : undefined;
  const host = clusterIP?.includes(':') ? `[${clusterIP}]` : clusterIP;
  return { clusterIP, clusterIpUrl: host ? `http://${host}:${SERVICE_PORT}` : undefined, inClusterUrl: inClusterUrl(name, namespace) };
}

interface EndpointSliceLike {
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
}

/** Ready addresses across a Service's EndpointSlices (`ready` unset counts as ready, as the API says). */
export function readyEndpointAddresses(slices: readonly EndpointSliceLike[]): string[] {
  const addresses = new Set<string>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) addresses.add(address);
    }
  }
  return [...addresses].sort();
}

/**
 * Waits (by watching its EndpointSlices) until the Service routes to at least `minimum` ready pods: a finished
 * rollout is not yet a Service that answers, the endpoint controller lags a little behind pod readiness.
 */
export function waitForReadyEndpoints(
  kubeConfig: KubeConfig,
  options: { namespace: string; name: string; minimum: number; timeoutMs: number },
): Promise<{ success: true; addresses: string[] } | { success: false; reason: string }> {
  const { namespace, name, minimum } = options;
  return new Promise((resolve) => {
    let done = false;
    let latest: string[] = [];
    const finish = (result: { success: true; addresses: string[] } | { success: false; reason: string }) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      observation.stop();
      resolve(result);
    };
    const deadline = setTimeout(
      () =>
        finish({
          success: false,
          reason: `Service/${name} has ${latest.length} ready endpoint(s), wanted ${minimum}, after ${Math.round(options.timeoutMs / 1000)}s`,
        }),
      Math.max(options.timeoutMs, 1),
    );
    const observation = observe(kubeConfig, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      namespace,
      path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      labelSelector: `kubernetes.io/service-name=${name}`,
      onChange: (objects) => {
        latest = readyEndpointAddresses([...objects.values()] as EndpointSliceLike[]);
        if (latest.length >= minimum) finish({ success: true, addresses: latest });
      },
      onError: (message) => finish({ success: false, reason: message }),
    });
  });
}

/**
 * Waits until `GET <url>/readyz` answers 200 from this machine. Nothing in the API says when kube-proxy has
 * programmed a new ClusterIP, so this asks the address itself: bounded attempts, a short pause between them.
 */
export async function waitUntilAnswers(url: string, timeoutMs: number): Promise<{ success: true } | { success: false; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (let attempt = 0; attempt < 600 && Date.now() < deadline; attempt++) {
    try {
      const response = await fetch(`${url}${READY_PATH}`, { signal: AbortSignal.timeout(Math.max(1, Math.min(2000, deadline - Date.now()))) });
      await response.body?.cancel();
      if (response.status === 200) return { success: true };
      last = `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      last = cause?.code ?? cause?.message ?? (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { success: false, reason: `${url}${READY_PATH} does not answer from this machine (${last})` };
}
