// observe() against the real test cluster: the list+watch loop keeps its copy right across reconnects.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { observe } from './observe';

const kubeconfig = process.env.TURBOLIFT_TEST_KUBECONFIG;
const namespace = `tl-observe-${randomBytes(3).toString('hex')}`;
const kubectl = (...args: string[]) => spawnSync('kubectl', ['--kubeconfig', kubeconfig!, ...args], { encoding: 'utf8', timeout: 60_000 });

// The cluster-required failure is reported once, by the deploy-k8s cluster spec.
describe.skipIf(!kubeconfig)('observe against a real cluster', () => {
  afterAll(() => {
    kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
  });

  it('reports the initial list, then changes made after the server ended earlier watches', async () => {
    expect(kubectl('create', 'namespace', namespace).status).toBe(0);
    expect(kubectl('create', 'configmap', 'first', '-n', namespace).status).toBe(0);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig!);

    const snapshots: string[][] = [];
    let resolveSecond!: () => void;
    const sawSecond = new Promise<void>((resolve) => (resolveSecond = resolve));
    const errors: string[] = [];
    const observation = observe(kubeConfig, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      // Each watch lasts a second, so the change below arrives on a reconnected watch.
      watchTimeoutSeconds: 1,
      onChange: (objects) => {
        snapshots.push([...objects.keys()].sort());
        if (objects.has('second')) resolveSecond();
      },
      onError: (message) => errors.push(message),
    });
    try {
      // Created after at least two watches have ended (bounded wait, not an assertion on time).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(kubectl('create', 'configmap', 'second', '-n', namespace).status).toBe(0);
      await Promise.race([
        sawSecond,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no event for "second"; snapshots: ${JSON.stringify(snapshots)}`)), 20_000)),
      ]);
    } finally {
      observation.stop();
    }
    expect(errors).toEqual([]);
    expect(snapshots[0]).toContain('first');
    expect(snapshots.at(-1)).toEqual(expect.arrayContaining(['first', 'second']));
  }, 60_000);
});
