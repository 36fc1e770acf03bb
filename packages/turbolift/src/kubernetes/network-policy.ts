// Pure: the optional NetworkPolicy. Only pods labelled AUTH.callerLabel "true", in the service's namespace and in the
// namespaces named, may open a connection to the service's pods, on the container port. It narrows who can reach
// the service; the token still decides who may call it. A CNI that does not enforce policies ignores it.
import { AUTH } from '@turbolift/runtime/contract';
import { selectorLabels } from './labels';
import type { KubernetesManifest, NetworkPolicySettings, ServiceDeploySpec } from './types';

/** The label every namespace carries with its name (set by the API server since Kubernetes 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function renderNetworkPolicy(
  spec: Pick<ServiceDeploySpec, 'name' | 'namespace'>,
  settings: NetworkPolicySettings,
  metadata: KubernetesManifest['metadata'],
  containerPort: number,
): KubernetesManifest {
  const callers = { matchLabels: { [AUTH.callerLabel]: 'true' } };
  const others = settings.namespaces.filter((namespace) => namespace !== spec.namespace);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: selectorLabels(spec) },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            // A peer with a podSelector only: pods of the policy's own namespace.
            { podSelector: callers },
            ...(others.length > 0
              ? [{ namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: others }] }, podSelector: callers }]
              : []),
          ],
          ports: [{ protocol: 'TCP', port: containerPort }],
        },
      ],
    },
  };
}
