import { describe, expect, it } from 'vitest';
import { fromClientModel, toClientModel } from './client-model';
import type { KubernetesManifest } from './types';

const policy: KubernetesManifest = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'fn', namespace: 'demo' },
  spec: {
    podSelector: { matchLabels: { app: 'fn' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { 'turbolift.dev/caller': 'true' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
  },
};

describe('client-model', () => {
  // What client-node's serialiser reads (it drops a plain `from`): auth.cluster.spec.ts reads the applied policy back.
  it("puts a NetworkPolicy's peers under the model's name", () => {
    const rules = (toClientModel(policy).spec as { ingress: Array<Record<string, unknown>> }).ingress;
    expect(rules[0]).toEqual({ _from: [{ podSelector: { matchLabels: { 'turbolift.dev/caller': 'true' } } }], ports: [{ protocol: 'TCP', port: 8080 }] });
  });

  it('reads back in the wire names, and leaves other kinds alone', () => {
    expect(fromClientModel(toClientModel(policy))).toEqual(policy);
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fn' }, spec: { ingress: [{ from: 1 }] } };
    expect(toClientModel(deployment)).toBe(deployment);
  });
});
