import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import undeployK8sExecutor from './executor';

const context = {
  root: '/ws',
  cwd: '/ws',
  projectName: '@acme/compress-all-service',
  isVerbose: false,
  projectsConfigurations: { version: 2, projects: { '@acme/compress-all-service': { root: 'apps/compress-all-service' } } },
} as unknown as ExecutorContext;

afterEach(() => vi.restoreAllMocks());

describe('undeploy-k8s executor without a cluster', () => {
  it('names the kubeconfig that does not exist, in one line', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line) => void errors.push(String(line)));
    const result = await undeployK8sExecutor({ kubeconfig: 'missing/kubeconfig' }, context);
    expect(result).toEqual({ success: false, reason: 'kubeconfig /ws/missing/kubeconfig does not exist' });
    expect(errors).toHaveLength(1);
  });

  it('names a context the kubeconfig does not have', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const dir = mkdtempSync(join(tmpdir(), 'turbolift-kubeconfig-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: only, context: { cluster: c, user: u } }]',
        'current-context: only',
      ].join('\n'),
    );
    try {
      const result = await undeployK8sExecutor({ kubeconfig, context: 'no-such-context' }, context);
      expect(result).toEqual({ success: false, reason: 'kubeconfig has no context "no-such-context" (contexts: only)' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
