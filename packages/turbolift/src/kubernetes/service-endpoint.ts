import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { withTimeout } from './api-errors';
import { SERVICE_PORT } from './manifests';

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
  const service = await withTimeout(
    kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ name, namespace }),
    30_000,
    `read Service/${name}`,
  );
  const clusterIP = service.spec?.clusterIP && service.spec.clusterIP !== 'None' ? service.spec.clusterIP : undefined;
  const host = clusterIP?.includes(':') ? `[${clusterIP}]` : clusterIP;
  return { clusterIP, clusterIpUrl: host ? `http://${host}:${SERVICE_PORT}` : undefined, inClusterUrl: inClusterUrl(name, namespace) };
}
