// Against a real cluster (tools/test-cluster) and the real Docker engine + registry (tools/test-infra): runs when
// TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no cluster it fails.
//
// Caller authentication end to end: a serve() service (the runtime from source) deployed with deploy-k8s answers
// only callers that send the namespace's token; a caller Job that mounts the callers Secret calls it through the real
// stub, which finds the token by itself; a rotation (token -> new, previous = old, then previous dropped) takes effect
// in the running pods; a redeploy keeps the token; the NetworkPolicy is accepted by the API server. The test
// cluster's bridge CNI does not enforce NetworkPolicies, so what the policy lets in is not tested here, only that the
// API server takes it as rendered.
//
// Raw calls (no token, a wrong one, the rotation's) go from this process to the Service's ClusterIP, which routes on
// the test cluster's host; the API server's service proxy would not do: it drops the caller's authorization header.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { AUTH, CALL_PATH, HEALTH_PATH } from '@turbolift/runtime/contract';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  clusterKubeconfig as kubeconfig,
  executorContext,
  failWithoutRequiredCluster,
  kubectlFor,
  run,
  testBaseImage as baseImage,
  testRegistry as registry,
  uniqueNamespace,
} from '../../../../tools/test-support/cluster';
import deployK8sExecutor from '../executors/deploy-k8s/executor';
import type { DeployK8sExecutorOptions } from '../executors/deploy-k8s/schema';
import undeployK8sExecutor from '../executors/undeploy-k8s/executor';

const PROJECT = 'square-auth';
const PROJECT_ROOT = 'apps/square-auth';
const RUNTIME_SRC = resolve(__dirname, '../../../runtime/src');
const RUNTIME_ENTRY = join(RUNTIME_SRC, 'index.ts');

const SERVICE_JS = `
const { serve } = require(${JSON.stringify(RUNTIME_ENTRY)});
function square(n) {
  return { n, square: n * n, servedBy: require('node:os').hostname() };
}
serve(square);
`;
// The call site after lifting: the stub with the Service's name only (TURBOLIFT_NAMESPACE for another namespace's).
// No token is handed to it: it finds the mounted Secret at AUTH.mountDir by itself.
const CALLER_JS = `
const { liftedStub, closeConnections } = require(${JSON.stringify(RUNTIME_ENTRY)});
const square = liftedStub('square', () => { throw new Error('ran locally'); }, { service: ${JSON.stringify(PROJECT)}, timeoutMs: 60000, retries: 5 });
square(Number(process.argv[2])).then(
  (answer) => { console.log(JSON.stringify({ answer })); closeConnections(); },
  (error) => { console.error(String(error && error.stack || error)); process.exit(1); },
);
`;

// Bounds for what the cluster does on its own time: a busy 2-core node, the kubelet's secret refresh (its sync
// period, about a minute, plus its cache), pulls and starts of Jobs.
const SECRET_REFRESH_BOUND_MS = 240_000;
const JOB_BOUND_MS = 180_000;
const SMALL = { resources: { requests: { cpu: '50m', memory: '64Mi' } } } as const;

failWithoutRequiredCluster('caller authentication on a real cluster');

describe.skipIf(!kubeconfig)('caller authentication on a real cluster', () => {
  let workspace: string;
  const images: Partial<Record<'service' | 'caller', { image: string; tag: string; digest: string }>> = {};
  const namespace = uniqueNamespace('auth');
  const callersNamespace = uniqueNamespace('auth-callers');
  let output: string[] = [];
  let url = '';

  const kubectl = kubectlFor(kubeconfig!);
  const context = (target = 'deploy-k8s') => executorContext(workspace, PROJECT, PROJECT_ROOT, target);
  const options: DeployK8sExecutorOptions = {
    kubeconfig,
    namespace,
    createNamespace: true,
    drainMs: 1000,
    callers: { namespaces: [callersNamespace] },
    networkPolicy: true,
    ...SMALL,
  };

  /** As cluster-dns.cluster.spec.ts: the entry bundled with the runtime from source, on the test base image, pushed. */
  const buildImage = async (name: 'service' | 'caller', source: string) => {
    const dir = join(workspace, `${name}-image`);
    const out = join(dir, 'app');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(dir, 'entry.js'), source);
    const bundling = (await import(join(RUNTIME_SRC, 'bundling.ts'))) as {
      serviceBundleEntries(): Record<string, string>;
      OPTIONAL_NATIVE_PACKAGES: readonly string[];
    };
    const entryPoints = { main: join(dir, 'entry.js'), ...(name === 'service' ? bundling.serviceBundleEntries() : {}) };
    buildSync({ entryPoints, outdir: out, bundle: true, platform: 'node', format: 'cjs', external: [...bundling.OPTIONAL_NATIVE_PACKAGES], logLevel: 'error' });
    const dockerfile = `FROM ${baseImage}\nCOPY app/ /app/\nUSER 1000:1000\nENTRYPOINT ["node", "/app/main.js"]\n`;
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    const hash = createHash('sha256').update(dockerfile);
    for (const file of Object.keys(entryPoints).sort()) hash.update(file).update(readFileSync(join(out, `${file}.js`)));
    const tag = hash.digest('hex').slice(0, 12);
    const image = `${registry}/turbolift-auth-test/${name}`;
    const build = run('docker', ['build', '-q', '-t', `${image}:${tag}`, dir]);
    if (build.status !== 0) throw new Error(`docker build of the ${name} image failed (is tools/test-infra/up.sh running?): ${build.stderr.trim()}`);
    const push = run('docker', ['push', `${image}:${tag}`]);
    if (push.status !== 0) throw new Error(`docker push ${image}:${tag} failed: ${push.stderr.trim()}`);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    if (!digest) throw new Error(`no digest in docker push output: ${push.stdout}`);
    images[name] = { image, tag, digest };
  };

  /** The callers Secret's data in `ns`, decoded. */
  const secretData = (ns: string): Record<string, string> => {
    const read = kubectl('get', 'secret', AUTH.secretName, '-n', ns, '-o', 'json');
    if (read.status !== 0) throw new Error(`get secret in ${ns}: ${read.stderr}`);
    const data = (JSON.parse(read.stdout) as { data?: Record<string, string> }).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
  };

  /** A raw call from this process through the Service's ClusterIP: the status and the error code, if any. */
  const call = async (token: string | undefined, n = 7): Promise<{ status: number; code?: string; body: unknown }> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers[AUTH.header] = `${AUTH.scheme} ${token}`;
    const response = await fetch(`${url}${CALL_PATH}`, { method: 'POST', headers, body: JSON.stringify([n]), signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the failure message
    }
    return { status: response.status, code: (body as { error?: { code?: string } } | null)?.error?.code, body };
  };

  /** Polls `check` (no fixed sleep: a short pause between tries) until it holds or `boundMs` is over; the last value seen. */
  const waitFor = async <T>(what: string, probe: () => Promise<T>, holds: (value: T) => boolean, boundMs: number): Promise<T> => {
    let last: T | undefined;
    for (const deadline = Date.now() + boundMs; Date.now() < deadline;) {
      try {
        last = await probe();
        if (holds(last)) return last;
      } catch (error) {
        last = error as T;
      }
      await new Promise((done) => setTimeout(done, 1000));
    }
    throw new Error(`${what}: not within ${boundMs / 1000} s; last seen: ${JSON.stringify(last)}`);
  };

  /** A caller Job (the real stub) in `ns`, with the callers Secret mounted as the README shows; its answer, or its logs on failure. */
  const runCaller = async (ns: string, n: number, mount: boolean): Promise<{ succeeded: boolean; logs: string }> => {
    const job = `caller-${randomBytes(3).toString('hex')}`;
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: job, namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { [AUTH.callerLabel]: 'true' } },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'caller',
                image: `${images.caller!.image}@${images.caller!.digest}`,
                args: [String(n)],
                env: [
                  { name: 'TURBOLIFT_MODE', value: 'distributed' },
                  { name: 'TURBOLIFT_NAMESPACE', value: namespace },
                ],
                resources: { requests: { cpu: '50m', memory: '64Mi' } },
                ...(mount ? { volumeMounts: [{ name: 'turbolift-callers', mountPath: AUTH.mountDir, readOnly: true }] } : {}),
              },
            ],
            ...(mount ? { volumes: [{ name: 'turbolift-callers', secret: { secretName: AUTH.secretName } }] } : {}),
          },
        },
      },
    };
    const applied = kubectl.withInput(JSON.stringify(manifest), 'apply', '-f', '-');
    expect(applied.status, applied.stderr).toBe(0);
    const state = await waitFor(
      `job ${job} in ${ns} to end`,
      async () => kubectl('get', 'job', job, '-n', ns, '-o', 'jsonpath={.status.succeeded}/{.status.failed}').stdout,
      (value) => /^1\//.test(value) || /\/[1-9]/.test(value),
      JOB_BOUND_MS,
    );
    const logs = kubectl('logs', `job/${job}`, '-n', ns);
    return { succeeded: /^1\//.test(state), logs: `${logs.stdout}${logs.stderr}` };
  };

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'turbolift-auth-'));
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));
    await buildImage('service', SERVICE_JS);
    await buildImage('caller', CALLER_JS);
    const service = images.service!;
    mkdirSync(join(workspace, 'dist', PROJECT_ROOT), { recursive: true });
    writeFileSync(
      join(workspace, 'dist', PROJECT_ROOT, 'image.json'),
      JSON.stringify({ service: PROJECT, image: service.image, tag: service.tag, digest: service.digest, pushed: true }),
    );
    // callers.namespaces must exist: deploy copies the Secret there, it does not make namespaces it does not own.
    const created = kubectl('create', 'namespace', callersNamespace);
    if (created.status !== 0) throw new Error(`create namespace ${callersNamespace}: ${created.stderr}`);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const method of ['info', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        output.push(args.map(String).join(' '));
      });
    }
  }, 300_000);

  afterAll(() => {
    vi.restoreAllMocks();
    for (const ns of [namespace, callersNamespace]) kubectl('delete', 'namespace', ns, '--wait=false', '--ignore-not-found');
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('deploys with a new callers Secret, mounted in the pods and copied to the callers namespace', async () => {
    output = [];
    const deployed = await deployK8sExecutor(options, context());
    expect(deployed.success, output.join('\n')).toBe(true);
    url = deployed.url!;
    expect(output.join('\n')).toMatch(/Secret\/turbolift-callers created/);
    expect(output.join('\n')).toContain(`Secret/turbolift-callers copied to namespace ${callersNamespace}`);

    const own = secretData(namespace);
    expect(Object.keys(own)).toEqual([AUTH.currentKey]);
    expect(own[AUTH.currentKey]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secretData(callersNamespace)).toEqual(own);

    const template = JSON.parse(kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.spec.template}').stdout);
    expect(template.metadata.labels[AUTH.callerLabel]).toBe('true');
    expect(template.spec.volumes).toContainEqual(
      expect.objectContaining({ name: 'turbolift-callers', secret: expect.objectContaining({ secretName: AUTH.secretName }) }),
    );
    expect(template.spec.containers[0].env).toContainEqual({ name: AUTH.tokenDirEnv, value: AUTH.mountDir });
  }, 400_000);

  it('answers 401 TL_UNAUTHORIZED without a token and with a wrong one, the right token gets the answer, /healthz stays open', async () => {
    // The ClusterIP routes a moment after the API says it is ready: wait for the first answer of any kind.
    await waitFor(
      'the ClusterIP to answer',
      () => call(undefined),
      (result) => result.status > 0,
      60_000,
    );
    expect(await call(undefined)).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED' });
    expect(await call('not-the-token')).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED' });
    const right = await call(secretData(namespace)[AUTH.currentKey], 12);
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    expect(JSON.stringify(right.body)).toContain('"square":144');
    const health = await fetch(`${url}${HEALTH_PATH}`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);
  }, 120_000);

  it(
    'a caller Job that mounts the Secret calls through the real stub, in the namespace and from the callers namespace',
    async () => {
      for (const [ns, n] of [
        [namespace, 31],
        [callersNamespace, 32],
      ] as const) {
        const caller = await runCaller(ns, n, true);
        expect(caller.succeeded, `caller in ${ns}:\n${caller.logs}`).toBe(true);
        const { answer } = JSON.parse(caller.logs.trim().split('\n').pop()!) as { answer: { n: number; square: number } };
        expect(answer).toMatchObject({ n, square: n * n });
      }
      // Without the mount the stub has no token: the service refuses it, and the error says so.
      const refused = await runCaller(namespace, 5, false);
      expect(refused.succeeded).toBe(false);
      expect(refused.logs).toMatch(/TL_UNAUTHORIZED|401/);
    },
    3 * JOB_BOUND_MS + 60_000,
  );

  it(
    'rotation: token -> new with previous = old, both accepted; previous dropped, old refused; redeploy copies and keeps it',
    async () => {
      const old = secretData(namespace)[AUTH.currentKey];
      const fresh = randomBytes(32).toString('base64url');
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const rotate = kubectl(
        'patch',
        'secret',
        AUTH.secretName,
        '-n',
        namespace,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { token: b64(fresh), previous: b64(old) } }),
      );
      expect(rotate.status, rotate.stderr).toBe(0);
      await waitFor(
        'the new token to be accepted',
        () => call(fresh),
        (result) => result.status === 200,
        SECRET_REFRESH_BOUND_MS,
      );
      expect((await call(old)).status).toBe(200);

      // The next deploy carries the rotation to the callers namespace, and leaves the namespace's Secret as it is.
      output = [];
      const redeployed = await deployK8sExecutor(options, context());
      expect(redeployed.success, output.join('\n')).toBe(true);
      expect(output.join('\n')).toMatch(/Secret\/turbolift-callers kept/);
      expect(
        redeployed.applied?.every((outcome) => outcome.action === 'unchanged'),
        JSON.stringify(redeployed.applied),
      ).toBe(true);
      expect(secretData(namespace)).toEqual({ token: fresh, previous: old });
      expect(secretData(callersNamespace)).toEqual({ token: fresh, previous: old });

      const drop = kubectl(
        'patch',
        'secret',
        AUTH.secretName,
        '-n',
        namespace,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'remove', path: '/data/previous' }]),
      );
      expect(drop.status, drop.stderr).toBe(0);
      await waitFor(
        'the old token to be refused',
        () => call(old),
        (result) => result.status === 401 && result.code === 'TL_UNAUTHORIZED',
        SECRET_REFRESH_BOUND_MS,
      );
      expect((await call(fresh)).status).toBe(200);

      output = [];
      expect((await deployK8sExecutor(options, context())).success, output.join('\n')).toBe(true);
      // A key the source no longer has goes from the copy too (the field manager owned it).
      expect(secretData(callersNamespace)).toEqual({ token: fresh });
      expect(secretData(namespace)).toEqual({ token: fresh });
    },
    2 * SECRET_REFRESH_BOUND_MS + 240_000,
  );

  it('the API server accepts the NetworkPolicy, applied and as the dry run prints it', async () => {
    const policy = JSON.parse(kubectl('get', 'networkpolicy', PROJECT, '-n', namespace, '-o', 'json').stdout) as {
      spec: { podSelector: unknown; ingress: Array<{ from: unknown[]; ports: unknown[] }> };
    };
    expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': PROJECT, 'app.kubernetes.io/instance': PROJECT } });
    expect(policy.spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [callersNamespace] }] },
      podSelector: { matchLabels: { [AUTH.callerLabel]: 'true' } },
    });
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);

    const outputFile = join(workspace, 'dry-run.yaml');
    const dryRun = await deployK8sExecutor({ ...options, dryRun: true, outputFile }, context());
    expect(dryRun.success).toBe(true);
    const yaml = readFileSync(outputFile, 'utf8');
    expect(yaml).toMatch(/^# Secret\/turbolift-callers in namespace/);
    expect(yaml).not.toContain(secretData(namespace)[AUTH.currentKey]);
    const accepted = kubectl('apply', '--dry-run=server', '-f', outputFile);
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/networkpolicy\.networking\.k8s\.io\/square-auth (configured|unchanged|created) \(server dry run\)/);
  }, 120_000);

  it('undeploy removes the service and its NetworkPolicy, and leaves the callers Secret', async () => {
    output = [];
    const result = await undeployK8sExecutor({ kubeconfig, namespace }, context('undeploy-k8s'));
    expect(result.success, output.join('\n')).toBe(true);
    expect(output.join('\n')).toMatch(/Secret\/turbolift-callers in .* is left/);
    expect(kubectl('get', 'networkpolicy', PROJECT, '-n', namespace, '--ignore-not-found', '-o', 'name').stdout.trim()).toBe('');
    expect(Object.keys(secretData(namespace))).toEqual([AUTH.currentKey]);
  }, 200_000);
});
