/**
 * Callers inside the cluster, as a user runs them: a fresh workspace lifts two functions, one of which calls the
 * other, and deploys both with `nx run-many -t deploy-k8s`. The app itself is then built into an image and run
 * as a Job in the cluster. Its stubs find the services only by their DNS names (no endpoint variable, no
 * endpoints file) and send the namespace's caller token from the Secret the Job mounts; the lifted function
 * that calls the other one does so through that one's Service. The results equal local mode. A Job without
 * the token is refused with TL_UNAUTHORIZED.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { AUTH } from '../../packages/runtime/src/contract';
import { buildAndPushImage } from '../../tools/test-support/images';
import { runApp, bundleApp } from '../support/app';
import { ensureCluster, testBaseImage, testRegistry } from '../support/infra';
import { nx, run, waitFor } from '../support/run';
import { commitAll, copyWorkspace, workspaceScope } from '../support/workspace';
import { configureDeploys, createLibrary, kubectlFor, uniqueNamespace } from '../fixtures/deploy/cluster-helpers';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/in-cluster', name), 'utf8');

const services = { count: 'ic-word-count-service', summary: 'ic-summary-service' };

interface AppResult {
  summary: { words: number; countedBy: string; longest: string; summarizedBy: string };
  direct: { words: number; countedBy: string };
}

describe('callers inside the cluster', () => {
  let ws: string;
  let kubectl: ReturnType<typeof kubectlFor>;
  let appImage: string;
  const namespace = uniqueNamespace('in-cluster');

  beforeAll(() => {
    const kubeconfig = ensureCluster();
    kubectl = kubectlFor(kubeconfig);
    ws = copyWorkspace('in-cluster');
    createLibrary(ws, 'packages/ic-app', {
      'src/functions.ts': fixture('functions.ts'),
      'src/main.ts': fixture('main.ts'),
      'src/index.ts': "export * from './functions.js';\n",
    });
    // The word count first: lifting the summary then carries a stub of it into the summary's library.
    for (const fn of ['icWordCount', 'icSummary']) nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/ic-app', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    configureDeploys(ws, { kubeconfig, namespace, createNamespace: true });
    commitAll(ws, 'two lifted functions, one calling the other');
  }, 10 * 60_000);

  afterAll(() => {
    kubectl?.(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });

  /** The app bundled whole (the runtime included) into an image on the test base image, pushed to the test registry. */
  function buildAppImage(): string {
    const dir = join(ws, 'dist', 'ic-app-image');
    const outfile = join(dir, 'main.js');
    const bundling = createRequire(join(ws, 'package.json'))('@turbolift/runtime/bundling') as { OPTIONAL_NATIVE_PACKAGES: readonly string[] };
    buildSync({
      entryPoints: [join(ws, 'packages/ic-app/src/main.ts')],
      absWorkingDir: ws,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      conditions: [`${workspaceScope}/source`],
      external: [...bundling.OPTIONAL_NATIVE_PACKAGES],
      outfile,
      logLevel: 'error',
    });
    const dockerfile = `FROM ${testBaseImage()}\nCOPY main.js /app/main.js\nUSER 1000:1000\nENTRYPOINT ["node", "/app/main.js"]\n`;
    const pushed = buildAndPushImage(`${testRegistry()}/turbolift-e2e/ic-app`, dir, dockerfile, { 'main.js': readFileSync(outfile, 'utf8') });
    return `${pushed.image}@${pushed.digest}`;
  }

  /** Runs the app as a Job; with `token`, the pod carries the caller label and mounts the callers Secret. */
  async function runJob(token: boolean): Promise<{ succeeded: boolean; logs: string }> {
    const name = `ic-app-${randomBytes(3).toString('hex')}`;
    const pod: Record<string, unknown> = {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'app',
          image: appImage,
          // Distributed mode is all it is told: where the services are, and its token, it finds itself.
          env: [{ name: 'TURBOLIFT_MODE', value: 'distributed' }],
          resources: { requests: { cpu: '50m', memory: '64Mi' } },
          ...(token ? { volumeMounts: [{ name: 'turbolift-token', mountPath: AUTH.mountDir, readOnly: true }] } : {}),
        },
      ],
      ...(token ? { volumes: [{ name: 'turbolift-token', secret: { secretName: AUTH.secretName } }] } : {}),
    };
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace },
      spec: {
        backoffLimit: 0,
        template: { metadata: { labels: token ? { [AUTH.callerLabel]: 'true' } : {} }, spec: pod },
      },
    };
    const file = join(ws, 'dist', `${name}.json`);
    writeFileSync(file, JSON.stringify(job));
    kubectl(['apply', '-f', file]);
    // Bounded: pull, start, and the calls with their retries.
    const state = await waitFor(
      `job ${name} to end`,
      () => {
        const status = kubectl(['get', 'job', name, '-n', namespace, '-o', 'jsonpath={.status.succeeded}/{.status.failed}']).stdout;
        return /^1\//.test(status) ? 'succeeded' : /\/[1-9]/.test(status) ? 'failed' : undefined;
      },
      180_000,
    );
    const logs = kubectl(['logs', `job/${name}`, '-n', namespace]);
    return { succeeded: state === 'succeeded', logs: `${logs.stdout}${logs.stderr}` };
  }

  const podsOf = (service: string) =>
    kubectl(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/name=${service}`, '-o', 'jsonpath={.items[*].metadata.name}']).stdout.split(' ');

  it('the app runs in the cluster, finds both functions by name, and one function calls the other through its Service', async () => {
    const outcome = nx(ws, ['run-many', '-t', 'deploy-k8s', '--parallel=2', '--output-style=static'], { timeoutMs: 10 * 60_000 });
    expect(outcome.output).toContain(services.count);
    expect(outcome.output).toContain(services.summary);

    const local = JSON.parse(runApp(ws, bundleApp(ws, 'packages/ic-app/src/main.ts', 'ic-app'), 'local').result) as AppResult;
    expect(local.summary).toMatchObject({ words: 8, longest: 'functions' });
    expect(local.direct.words).toBe(3);

    appImage = buildAppImage();
    const job = await runJob(true);
    if (!job.succeeded) throw new Error(`the app's Job failed; its logs:\n${job.logs}`);
    const line = job.logs.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line).toBeDefined();
    const inCluster = JSON.parse(line!.slice('RESULT '.length)) as AppResult;

    // The same answers as local mode...
    expect(inCluster.summary.words).toBe(local.summary.words);
    expect(inCluster.summary.longest).toBe(local.summary.longest);
    expect(inCluster.direct.words).toBe(local.direct.words);
    // ...computed where each function is served: the summary in its pod, the count it asked for in the
    // word-count service's pod (a call through that Service, not in the summary's process).
    expect(podsOf(services.summary)).toContain(inCluster.summary.summarizedBy);
    expect(podsOf(services.count)).toContain(inCluster.summary.countedBy);
    expect(podsOf(services.count)).toContain(inCluster.direct.countedBy);
  });

  it('a pod without the callers Secret is refused with TL_UNAUTHORIZED, naming where the stub looked for a token', async () => {
    const job = await runJob(false);
    expect(job.succeeded).toBe(false);
    expect(job.logs).toContain('TL_UNAUTHORIZED');
    expect(job.logs).toContain(`no caller token was found`);
    expect(job.logs).toContain(join(AUTH.mountDir, AUTH.currentKey));
  });
});
