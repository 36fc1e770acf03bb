// What the specs against the real test cluster (tools/test-cluster) and registry (tools/test-infra) share: where they
// are, the rule that a suite is skipped without a cluster unless one is required, kubectl, the context an executor
// gets from Nx, and images built and pushed to the test registry.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecutorContext } from '@nx/devkit';
import { describe, it } from 'vitest';

/** Set by `tools/test-cluster/up.sh`'s caller (scripts/test.mjs); without it the cluster suites are skipped. */
export const clusterKubeconfig = process.env.TURBOLIFT_TEST_KUBECONFIG;
export const testRegistry = process.env.TURBOLIFT_TEST_REGISTRY ?? '127.0.0.1:5000';
export const testBaseImage = process.env.TURBOLIFT_TEST_BASE_IMAGE ?? `turbolift-test/node:${process.versions.node.split('.')[0]}`;

/** With TURBOLIFT_REQUIRE_CLUSTER=1 (as CI sets) a missing cluster fails the suite instead of skipping it. */
export function failWithoutRequiredCluster(suite: string): void {
  if (clusterKubeconfig || process.env.TURBOLIFT_REQUIRE_CLUSTER !== '1') return;
  describe(suite, () => {
    it('has a cluster to run against', () => {
      throw new Error(
        'TURBOLIFT_REQUIRE_CLUSTER=1 but TURBOLIFT_TEST_KUBECONFIG is not set: run tools/test-cluster/up.sh and export the kubeconfig path it prints',
      );
    });
  });
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A command with a 120 s bound, its output as text. */
export function run(command: string, args: string[], input?: string): CommandResult {
  const result = spawnSync(command, args, { input, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** kubectl against `kubeconfig`; `withInput` feeds stdin (e.g. `apply -f -`). */
export function kubectlFor(kubeconfig: string) {
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  const withInput = (input: string, ...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], input);
  return Object.assign(kubectl, { withInput });
}

/** `tl-<purpose>-<6 hex>`: each suite's namespaces are its own. */
export function uniqueNamespace(purpose: string): string {
  return `tl-${purpose}-${randomBytes(3).toString('hex')}`;
}

/** What Nx hands an executor for `project` (root `root`) in the workspace folder `workspace`. */
export function executorContext(workspace: string, project: string, root: string, targetName = 'deploy-k8s'): ExecutorContext {
  return {
    root: workspace,
    cwd: workspace,
    projectName: project,
    targetName,
    isVerbose: false,
    projectsConfigurations: { version: 2, projects: { [project]: { root } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as unknown as ExecutorContext;
}

/** Requests far below the default (request = limit = 1 core): the test node has 2 cores and a suite's pods stay until it ends. */
export const SMALL_NODE = { resources: { requests: { cpu: '50m', memory: '64Mi' } } };

/**
 * A tiny HTTP server for deploy tests: /healthz and /readyz for the probes, `hello from <pod>` elsewhere.
 * TEST_MODE=crash exits on start, TEST_MODE=unready never becomes ready.
 */
export const ECHO_SERVER_JS = `
const http = require('node:http');
const mode = process.env.TEST_MODE || 'ok';
if (mode === 'crash') { console.error('crashing on start, as asked'); process.exit(3); }
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') { res.writeHead(200); return res.end('ok'); }
  if (req.url === '/readyz') { res.writeHead(mode === 'unready' ? 503 : 200); return res.end(mode); }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello from ' + require('node:os').hostname());
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

// Images built and pushed to the test registry: their own module, free of vitest, so the jest e2e suite uses it too.
export { buildAndPushImage, type PushedImage } from './images';
