import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { isNotFound, withTimeout } from './api-errors';
import { CONTENT_HASH_ANNOTATION } from './labels';

/**
 * The content hash of what deploy-k8s last applied to this Deployment, or undefined when it is not there:
 * compare with `renderManifests(spec).contentHash` to know whether a deploy would change anything.
 */
export async function deployedContentHash(kubeConfig: KubeConfig, namespace: string, name: string): Promise<string | undefined> {
  try {
    const deployment = await withTimeout(kubeConfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace }), 30_000, `read Deployment/${name}`);
    return deployment.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
