// Against a real cluster (tools/test-cluster, with its cluster DNS) and the real Docker engine + registry
// (tools/test-infra): runs when TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no
// cluster it fails.
//
// A lifted-style service (serve() from @turbolift/runtime) deployed with deploy-k8s, and a caller pod whose
// stub finds it the way it does inside any cluster: no endpoint variable, no endpoints file, only
// `http://<service>.<namespace>.svc:80`, resolved by the cluster DNS.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
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
import { AUTH } from '@turbolift/runtime/contract';
import deployK8sExecutor from '../executors/deploy-k8s/executor';

const PROJECT = 'sum-squares';
const PROJECT_ROOT = 'apps/sum-squares';
// The runtime from source, bundled into each program as the bundle executor does for a service.
const RUNTIME_SRC = resolve(__dirname, '../../../runtime/src');
const RUNTIME_ENTRY = join(RUNTIME_SRC, 'index.ts');

// The lifted function. The service computes it; the caller only has the stub.
const SERVICE_JS = `
const { serve } = require(${JSON.stringify(RUNTIME_ENTRY)});
function sumSquares(n) {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += i * i;
  return { n, sum, servedBy: require('node:os').hostname() };
}
serve(sumSquares);
`;
// The call site after lifting: a stub with the Service's name only. It prints where it found the
// service and the answer, one JSON line.
const CALLER_JS = `
const { liftedStub, findEndpoint, closeConnections } = require(${JSON.stringify(RUNTIME_ENTRY)});
const target = { service: ${JSON.stringify(PROJECT)} };
const sumSquares = liftedStub('sumSquares', () => { throw new Error('ran locally'); }, { ...target, timeoutMs: 60000, retries: 5 });
const n = Number(process.argv[2]);
sumSquares(n).then(
  (answer) => {
    console.log(JSON.stringify({ endpoint: findEndpoint('sumSquares', target), answer }));
    closeConnections();
  },
  (error) => { console.error(String(error && error.stack || error)); process.exit(1); },
);
`;

failWithoutRequiredCluster('in-cluster calls through the cluster DNS');

describe.skipIf(!kubeconfig)('in-cluster calls through the cluster DNS', () => {
  let workspace: string;
  const images: Partial<Record<'service' | 'caller', { image: string; tag: string; digest: string }>> = {};
  const namespaces: string[] = [];
  let output: string[] = [];

  const kubectl = kubectlFor(kubeconfig!);
  const kubectlWithInput = kubectl.withInput;
  const context = () => executorContext(workspace, PROJECT, PROJECT_ROOT);

  /**
   * Bundles `source` with esbuild into main.js (a service also gets the worker pool's entries beside it, as
   * the bundle executor does), builds an image on the test base image that runs it, pushes it.
   */
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
    buildSync({
      entryPoints,
      outdir: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: [...bundling.OPTIONAL_NATIVE_PACKAGES],
      logLevel: 'error',
    });
    const dockerfile = `FROM ${baseImage}\nCOPY app/ /app/\nUSER 1000:1000\nENTRYPOINT ["node", "/app/main.js"]\n`;
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    const hash = createHash('sha256').update(dockerfile);
    for (const file of Object.keys(entryPoints).sort()) hash.update(file).update(readFileSync(join(out, `${file}.js`)));
    const tag = hash.digest('hex').slice(0, 12);
    const image = `${registry}/turbolift-dns-test/${name}`;
    const build = run('docker', ['build', '-q', '-t', `${image}:${tag}`, dir]);
    if (build.status !== 0) throw new Error(`docker build of the ${name} image failed (is tools/test-infra/up.sh running?): ${build.stderr.trim()}`);
    const push = run('docker', ['push', `${image}:${tag}`]);
    if (push.status !== 0) throw new Error(`docker push ${image}:${tag} failed: ${push.stderr.trim()}`);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    if (!digest) throw new Error(`no digest in docker push output: ${push.stdout}`);
    images[name] = { image, tag, digest };
  };

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'turbolift-dns-'));
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));
    await buildImage('service', SERVICE_JS);
    await buildImage('caller', CALLER_JS);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const method of ['info', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        output.push(args.map(String).join(' '));
      });
    }
  }, 240_000);

  afterAll(() => {
    vi.restoreAllMocks();
    for (const namespace of namespaces) kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('a caller pod reaches a deployed service by <service>.<namespace>.svc through its stub, with no endpoint configured', async () => {
    const namespace = uniqueNamespace('dns');
    namespaces.push(namespace);
    const service = images.service!;
    mkdirSync(join(workspace, 'dist', PROJECT_ROOT), { recursive: true });
    writeFileSync(
      join(workspace, 'dist', PROJECT_ROOT, 'image.json'),
      JSON.stringify({ service: PROJECT, image: service.image, tag: service.tag, digest: service.digest, pushed: true }),
    );
    output = [];
    const deployed = await deployK8sExecutor(
      { kubeconfig, namespace, createNamespace: true, replicas: 1, resources: { requests: { cpu: '50m', memory: '64Mi' } } },
      context(),
    );
    expect(deployed.success, output.join('\n')).toBe(true);
    expect(deployed.inClusterUrl).toBe(`http://${PROJECT}.${namespace}.svc:80`);

    // The caller: a Job in the same namespace. Distributed mode is all it is told; where the service is,
    // it works out itself (KUBERNETES_SERVICE_HOST is set in every pod, the namespace from its token mount).
    const n = 1000 + Math.floor(Math.random() * 1000);
    const job = `caller-${randomBytes(3).toString('hex')}`;
    const manifest = JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: job, namespace },
      spec: {
        backoffLimit: 0,
        template: {
          // A caller as the README shows it: the caller label and the namespace's callers Secret, mounted where stubs look.
          metadata: { labels: { [AUTH.callerLabel]: 'true' } },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'caller',
                image: `${images.caller!.image}@${images.caller!.digest}`,
                args: [String(n)],
                env: [{ name: 'TURBOLIFT_MODE', value: 'distributed' }],
                resources: { requests: { cpu: '50m', memory: '64Mi' } },
                volumeMounts: [{ name: 'callers', mountPath: AUTH.mountDir, readOnly: true }],
              },
            ],
            volumes: [{ name: 'callers', secret: { secretName: AUTH.secretName } }],
          },
        },
      },
    });
    const applied = kubectlWithInput(manifest, 'apply', '-f', '-');
    expect(applied.status, applied.stderr).toBe(0);

    // Bounded wait for the Job to end either way (pull, start, the call with its retries).
    let state = '';
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      state = kubectl('get', 'job', job, '-n', namespace, '-o', 'jsonpath={.status.succeeded}/{.status.failed}').stdout;
      if (/^1\//.test(state) || /\/[1-9]/.test(state)) break;
      await new Promise((done) => setTimeout(done, 1000));
    }
    const logs = kubectl('logs', `job/${job}`, '-n', namespace);
    expect(state, `job ${job} did not succeed; its logs:\n${logs.stdout}${logs.stderr}`).toMatch(/^1\//);

    const line = logs.stdout.trim().split('\n').pop()!;
    const { endpoint, answer } = JSON.parse(line) as { endpoint: { url: string; source: string }; answer: { n: number; sum: number; servedBy: string } };
    // Found by name, the in-cluster default, nothing else.
    expect(endpoint).toMatchObject({ url: `http://${PROJECT}.${namespace}.svc:80`, source: 'cluster' });
    // What the service computes (sum of i² for i = 1..n), computed by one of its pods.
    expect(answer.n).toBe(n);
    expect(answer.sum).toBe((n * (n + 1) * (2 * n + 1)) / 6);
    const pods = kubectl('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/name=${PROJECT}`, '-o', 'jsonpath={.items[*].metadata.name}');
    expect(pods.stdout.split(' ')).toContain(answer.servedBy);
  }, 300_000);
});
