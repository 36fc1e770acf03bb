import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { pruneManifests, type ApplyOutcome } from './apply';
import { managedObjectsSelector } from './labels';
import type { KubernetesManifest } from './types';

/** A client whose list answers from `items` by kind, and that records what it is asked to list and delete. */
function fakeClient(items: Record<string, string[]>) {
  const listed: Array<{ kind: string; selector?: string }> = [];
  const deleted: string[] = [];
  const client = {
    list: async (_apiVersion: string, kind: string, _namespace?: string, ...rest: Array<string | undefined>) => {
      listed.push({ kind, selector: rest[4] });
      return { items: (items[kind] ?? []).map((name) => ({ metadata: { name } })) };
    },
    delete: async (object: { kind: string; metadata: { name: string } }) => {
      deleted.push(`${object.kind}/${object.metadata.name}`);
      return {};
    },
  };
  return { client: client as unknown as KubernetesObjectApi, listed, deleted };
}

const secret = (name: string): KubernetesManifest => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'apps' } });

describe('pruneManifests', () => {
  it('deletes our pull Secret once createPullSecret is off, listing only Secrets with our managed labels', async () => {
    const { client, listed, deleted } = fakeClient({ Secret: ['echo-service-pull'] });
    const seen: ApplyOutcome[] = [];
    const outcomes = await pruneManifests(client, 'apps', 'echo-service', [], { onOutcome: (outcome) => seen.push(outcome) });
    expect(outcomes).toEqual([{ kind: 'Secret', name: 'echo-service-pull', action: 'pruned' }]);
    expect(seen).toEqual(outcomes);
    expect(deleted).toEqual(['Secret/echo-service-pull']);
    expect(listed.find((call) => call.kind === 'Secret')?.selector).toBe(managedObjectsSelector('echo-service'));
  });

  it('keeps the pull Secret the desired state still has', async () => {
    const { client, deleted } = fakeClient({ Secret: ['echo-service-pull'], PodDisruptionBudget: ['echo-service'] });
    const outcomes = await pruneManifests(client, 'apps', 'echo-service', [secret('echo-service-pull')]);
    expect(outcomes).toEqual([{ kind: 'PodDisruptionBudget', name: 'echo-service', action: 'pruned' }]);
    expect(deleted).toEqual(['PodDisruptionBudget/echo-service']);
  });
});
