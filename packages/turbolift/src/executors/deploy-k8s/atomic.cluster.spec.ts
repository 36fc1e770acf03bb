// Atomic deploys against a real cluster (tools/test-cluster) and the real Docker engine + registry (tools/test-infra):
// runs when TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no cluster it fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ECHO_SERVER_JS,
  SMALL_NODE,
  buildAndPushImage,
  clusterKubeconfig as kubeconfig,
  executorContext,
  failWithoutRequiredCluster,
  kubectlFor,
  testBaseImage,
  testRegistry,
  uniqueNamespace,
} from '../../../../../tools/test-support/cluster';
import { waitUntilAnswers } from '../../kubernetes';
import deployK8sExecutor from './executor';
import type { DeployK8sExecutorOptions } from './schema';

const PROJECT = 'echo-service';
const PROJECT_ROOT = 'apps/echo-service';
/** Short enough to keep the suite quick, long enough for a pod to start on a busy node. */
const BAD_TIMEOUT_SECONDS = 45;

failWithoutRequiredCluster('atomic deploy-k8s against a real cluster');

interface LoadCounts {
  ok: number;
  failed: number;
  errors: Record<string, number>;
}

/**
 * Calls `url` from this host (kube-proxy routes the ClusterIP here) until stopped: 2 callers, a short pause between
 * calls, at most 20,000 calls and 300 s, each call at most 3 s.
 */
function startLoad(url: string): { stop: () => Promise<LoadCounts> } {
  const counts: LoadCounts = { ok: 0, failed: 0, errors: {} };
  const started = Date.now();
  let issued = 0;
  let stopped = false;
  const caller = async () => {
    while (!stopped && issued < 20_000 && Date.now() - started < 300_000) {
      issued++;
      let error: string | undefined;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
        const body = await response.text();
        if (!response.ok || !body.startsWith('hello from')) error = `HTTP ${response.status}`;
      } catch (caught) {
        const cause = (caught as { cause?: { code?: string } }).cause;
        error = cause?.code ?? (caught as Error).name;
      }
      if (error) {
        counts.failed++;
        counts.errors[error] = (counts.errors[error] ?? 0) + 1;
      } else counts.ok++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const callers = Promise.all([caller(), caller()]);
  return {
    stop: async () => {
      stopped = true;
      await callers;
      return counts;
    },
  };
}

describe.skipIf(!kubeconfig)('atomic deploy-k8s against a real cluster', () => {
  let workspace: string;
  let imageRecord: { service: string; image: string; tag: string; digest: string | null; pushed: boolean };
  const namespaces: string[] = [];
  let output: string[] = [];

  const kubectl = kubectlFor(kubeconfig!);
  const kubectlJson = <T>(...args: string[]): T => {
    const result = kubectl(...args, '-o', 'json');
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as T;
  };
  /** Checks `condition` every 500 ms until it holds, at most `limitMs`; returns whether it did. */
  const eventually = async (condition: () => boolean, limitMs: number) => {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      if (condition()) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return condition();
  };

  const newNamespace = (purpose: string) => {
    const namespace = uniqueNamespace(purpose);
    namespaces.push(namespace);
    return namespace;
  };

  const deploy = (options: DeployK8sExecutorOptions) =>
    deployK8sExecutor({ kubeconfig, createNamespace: true, ...SMALL_NODE, ...options }, executorContext(workspace, PROJECT, PROJECT_ROOT));

  type Deployment = {
    metadata: { annotations?: Record<string, string> };
    spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
  };
  type PodList = { items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> };
  const podsOf = (namespace: string) => kubectlJson<PodList>('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${PROJECT}`).items;

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'turbolift-k8s-atomic-'));
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));
    const dockerfile = `FROM ${testBaseImage}\nCOPY server.js /app/server.js\nUSER 1000:1000\nCMD ["node", "/app/server.js"]\n`;
    const pushed = buildAndPushImage(`${testRegistry}/turbolift-k8s-test/echo`, join(workspace, 'image'), dockerfile, { 'server.js': ECHO_SERVER_JS });
    imageRecord = { service: PROJECT, ...pushed, pushed: true };
    mkdirSync(join(workspace, 'dist', PROJECT_ROOT), { recursive: true });
    writeFileSync(join(workspace, 'dist', PROJECT_ROOT, 'image.json'), JSON.stringify(imageRecord, null, 2));

    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const spyOn = (method: 'info' | 'error') =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        output.push(stripVTControlCharacters(args.map(String).join(' ')));
      });
    spyOn('info');
    spyOn('error');
  }, 180_000);

  afterEach((test) => {
    if (process.env.TURBOLIFT_TEST_VERBOSE === '1') process.stderr.write(`--- ${test.task.name}\n${output.join('\n')}\n`);
    output = [];
  });

  afterAll(() => {
    vi.restoreAllMocks();
    for (const namespace of namespaces) kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('rolls a version that never becomes ready back to the good one, server-side, with no call lost', async () => {
    const namespace = newNamespace('atomic');
    const good = await deploy({ namespace, replicas: 2 });
    expect(good.success, output.join('\n')).toBe(true);
    expect(good.url).toBeDefined();
    const goodPods = podsOf(namespace).map((pod) => pod.metadata.name);
    expect(goodPods).toHaveLength(2);
    const answers = await waitUntilAnswers(good.url!, 60_000);
    expect(answers.success, JSON.stringify(answers)).toBe(true);

    const load = startLoad(good.url!);
    const started = Date.now();
    let bad: Awaited<ReturnType<typeof deploy>>;
    let counts: LoadCounts;
    try {
      bad = await deploy({ namespace, replicas: 2, env: { TEST_MODE: 'unready' }, timeoutSeconds: BAD_TIMEOUT_SECONDS, atomic: true });
    } finally {
      counts = await load.stop();
    }
    const elapsedMs = Date.now() - started;
    output.push(`load through the atomic deploy: ${JSON.stringify(counts)} in ${elapsedMs} ms`);

    expect(bad.success).toBe(false);
    expect(bad.applied?.find((outcome) => outcome.kind === 'Deployment')?.action).toBe('configured');
    // The original reason, naming the pod and its probe, then what the rollback did.
    expect(bad.reason).toMatch(new RegExp(`^${PROJECT}: rollout not done after ${BAD_TIMEOUT_SECONDS}s \\(0/2 ready\\): pod ${PROJECT}-\\S+: `));
    expect(bad.reason).toContain('Readiness probe failed');
    expect(bad.reason).toContain(`rolled back (Service/${PROJECT}, Deployment/${PROJECT}, PodDisruptionBudget/${PROJECT} restored)`);
    expect(bad.reason).toContain('the previous version is rolled out again');
    expect(output).toContain(`deploy-k8s: ${bad.reason}`);
    // Its timeout, then at most as long again for the restored rollout.
    expect(elapsedMs).toBeLessThan(2 * BAD_TIMEOUT_SECONDS * 1000 + 30_000);
    // The old pods served alone throughout: the new one never became ready, so it never took a call.
    expect(counts.failed, JSON.stringify(counts)).toBe(0);
    expect(counts.ok).toBeGreaterThan(100);

    // What runs is the good version again: its template and its content hash, on the pods it had.
    const deployment = kubectlJson<Deployment>('get', 'deployment', PROJECT, '-n', namespace);
    expect(deployment.metadata.annotations?.['turbolift.dev/content-hash']).toBe(good.contentHash);
    const env = deployment.spec.template.spec.containers[0].env ?? [];
    expect(env.some((variable) => variable.name === 'TEST_MODE')).toBe(false);
    expect(kubectl('rollout', 'status', `deployment/${PROJECT}`, '-n', namespace, '--timeout=10s').status).toBe(0);
    const service = kubectlJson<{ metadata: { annotations?: Record<string, string> } }>('get', 'service', PROJECT, '-n', namespace);
    expect(service.metadata.annotations?.['turbolift.dev/content-hash']).toBe(good.contentHash);
    // The new pod goes (it exits at once on SIGTERM); the good ones were never replaced.
    expect(await eventually(() => podsOf(namespace).length === 2, 60_000)).toBe(true);
    expect(
      podsOf(namespace)
        .map((pod) => pod.metadata.name)
        .sort(),
    ).toEqual([...goodPods].sort());

    // Redeploying the good version changes nothing: the rollback put back its content hash on every object.
    const again = await deploy({ namespace, replicas: 2 });
    expect(again.success, output.join('\n')).toBe(true);
    expect(again.contentHash).toBe(good.contentHash);
    expect(again.applied?.map((outcome) => outcome.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  }, 300_000);

  it('leaves nothing behind when a first atomic deploy fails', async () => {
    const namespace = newNamespace('atomic-first');
    const result = await deploy({ namespace, env: { TEST_MODE: 'unready' }, timeoutSeconds: 20, atomic: true });
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(new RegExp(`^${PROJECT}: rollout not done after 20s \\(0/1 ready\\): pod ${PROJECT}-\\S+: `));
    expect(result.reason).toContain(`rolled back (Deployment/${PROJECT}, Service/${PROJECT} deleted, Namespace/${namespace} kept; nothing ran before)`);
    expect(
      kubectl(
        'get',
        'deployments,services,replicasets,hpa,pdb,secrets',
        '-n',
        namespace,
        '-l',
        `app.kubernetes.io/instance=${PROJECT}`,
        '-o',
        'name',
      ).stdout.trim(),
    ).toBe('');
    // The garbage collector removes the pods of the deleted Deployment.
    expect(await eventually(() => podsOf(namespace).length === 0, 60_000)).toBe(true);
  }, 120_000);

  it('does not fight the autoscaler over the replica count when it rolls an autoscaled Deployment back', async () => {
    const namespace = newNamespace('atomic-hpa');
    const autoscaling = { enabled: true, min: 2, max: 3, targetCPU: 80, scaleDownStabilizationSeconds: 15 };
    const good = await deploy({ namespace, autoscaling });
    expect(good.success, output.join('\n')).toBe(true);

    const bad = await deploy({ namespace, autoscaling, env: { TEST_MODE: 'unready' }, timeoutSeconds: 30, atomic: true });
    expect(bad.success).toBe(false);
    expect(bad.reason).toContain('the previous version is rolled out again');

    const managed = kubectlJson<{ spec: { replicas: number }; metadata: { managedFields: Array<{ manager: string; fieldsV1?: { 'f:spec'?: object } }> } }>(
      'get',
      'deployment',
      PROJECT,
      '-n',
      namespace,
      '--show-managed-fields',
    );
    const replicaOwners = managed.metadata.managedFields.filter((entry) => entry.fieldsV1?.['f:spec'] && 'f:replicas' in entry.fieldsV1['f:spec']);
    expect(replicaOwners.map((entry) => entry.manager)).not.toContain('turbolift');
    expect(managed.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(kubectl('get', 'hpa', PROJECT, '-n', namespace, '-o', 'name').status).toBe(0);
    const again = await deploy({ namespace, autoscaling });
    expect(
      again.applied?.every((outcome) => outcome.action === 'unchanged'),
      output.join('\n'),
    ).toBe(true);
  }, 240_000);
});
