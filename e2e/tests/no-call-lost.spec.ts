/**
 * No call is lost while pods go away: one lifted function with 2 replicas, a bounded load (4 callers, at most
 * 8 s per phase, every call counted) through its Service ClusterIP while (a) a rolling update replaces every pod
 * and (b) one of the two pods is deleted. The contrast keeps the test honest: the same load against a naive
 * service (exits at once on SIGTERM, no drain) with a client that does not retry loses calls in a rolling update.
 * Traffic goes only to this cluster's ClusterIPs. The test's namespace is deleted at the end.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApp } from '../support/app';
import { ensureCluster, testBaseImage, testRegistry } from '../support/infra';
import { childEnv, delay, nx, run, waitFor } from '../support/run';
import { commitAll, copyWorkspace, writeFiles } from '../support/workspace';
import { configureDeploys, createLibrary, kubectlFor, registeredEndpoints, uniqueNamespace } from '../fixtures/deploy/cluster-helpers';

const fixtureDir = join(__dirname, '../fixtures/deploy');
const fixture = (name: string) => readFileSync(join(fixtureDir, name), 'utf8');

const SERVICE = { fn: 'nclEcho', project: '@acme/ncl-echo-service', name: 'ncl-echo-service' };
const NAIVE = 'naive-echo';
// The load's own bound. A rollout plus the old pods' drain must fit inside it, on a busy 2-core machine too.
const PHASE_LIMIT_MS = 20_000;

interface LoadResult {
  ok: number;
  failed: number;
  wrong: number;
  errors: Record<string, number>;
  ms: number;
}

interface RunningLoad {
  /** Ends the phase early; resolves with the counts. */
  stop(): Promise<LoadResult>;
  done: Promise<LoadResult>;
}

describe('no call lost while pods are replaced or deleted (real cluster)', () => {
  let ws: string;
  let kubeconfig: string;
  let kubectl: ReturnType<typeof kubectlFor>;
  let loadBundle: string;
  let naiveUrl: string;
  const namespace = uniqueNamespace('nocalllost');
  const phases: Record<string, LoadResult> = {};

  /** Starts the bounded load in its own process; resolves once its callers are running. */
  async function startLoad(target: 'turbolift' | 'naive', env: Record<string, string>): Promise<RunningLoad> {
    const child = spawn(process.execPath, [loadBundle], {
      cwd: ws,
      env: childEnv({ TURBOLIFT_MODE: 'distributed', LOAD_TARGET: target, WORKERS: '4', DURATION_MS: String(PHASE_LIMIT_MS), ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const done = new Promise<LoadResult>((resolve, reject) => {
      // `close`, not `exit`: the process may be gone before the last of its output has been read.
      child.once('close', (code) => {
        const line = output.split('\n').find((l) => l.startsWith('RESULT '));
        if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)));
        else reject(new Error(`the load exited ${code} without a result:\n${output}`));
      });
    });
    await waitFor(`the load to start\n${output}`, () => output.includes('LOAD started') || child.exitCode !== null || undefined, 30_000);
    return {
      done,
      stop: () => {
        child.stdin.end('stop\n');
        return done;
      },
    };
  }

  /** Running pods that are not on their way out (a draining pod still runs, with a deletion timestamp). */
  const podNames = (selector: string): string[] =>
    JSON.parse(kubectl(['get', 'pods', '-n', namespace, '-l', selector, '--field-selector=status.phase=Running', '-o', 'json']).stdout)
      .items.filter((pod: { metadata: { deletionTimestamp?: string } }) => !pod.metadata.deletionTimestamp)
      .map((pod: { metadata: { name: string } }) => pod.metadata.name)
      .sort();
  const turboliftPods = () => podNames(`app.kubernetes.io/instance=${SERVICE.name}`);

  /** Runs a command without blocking the event loop (the load's counts are read after it). */
  function runAsync(command: string, args: string[], cwd: string, onOutput?: (output: string) => void): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd, env: childEnv() });
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk;
        onOutput?.(output);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
    });
  }

  function setRound(round: number): void {
    const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
    nxJson.targetDefaults['deploy-k8s'].options.env = { ROUND: String(round) };
    writeFiles(ws, { 'nx.json': JSON.stringify(nxJson, null, 2) + '\n' });
  }

  beforeAll(() => {
    kubeconfig = ensureCluster();
    kubectl = kubectlFor(kubeconfig);
    ws = copyWorkspace('no-call-lost');
    createLibrary(ws, 'packages/ncl-app', {
      'src/functions.ts': fixture('echo-functions.ts'),
      'src/load.ts': fixture('load.ts'),
      'src/index.ts': "export * from './functions.js';\n",
    });
    // The load driver picks the stub as a value (`const call = … : nclEcho`) and awaits each call: written for the
    // stub, so the refusal of uses the lift cannot await is waived here (lift-local tests the refusal).
    nx(ws, ['g', 'turbolift:lift', SERVICE.fn, '--project=@acme/ncl-app', '--allowSyncCallers', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    configureDeploys(ws, { kubeconfig, namespace, createNamespace: true, registerEndpoint: true, replicas: 2, env: { ROUND: '0' } });
    commitAll(ws, 'one lifted function, two replicas');
    nx(ws, ['run', `${SERVICE.project}:deploy-k8s`, '--output-style=static'], { timeoutMs: 10 * 60_000 });
    loadBundle = bundleApp(ws, 'packages/ncl-app/src/load.ts', 'load');

    // The naive service: a hand-written server image, applied with plain kubectl.
    const server = fixture('naive/server.js');
    const tag = createHash('sha256').update(server).update(fixture('naive/Dockerfile')).update(testBaseImage()).digest('hex').slice(0, 12);
    const image = `${testRegistry()}/turbolift-e2e/naive-echo:${tag}`;
    run('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${testBaseImage()}`, '-t', image, join(fixtureDir, 'naive')], { cwd: '/' });
    const pushed = run('docker', ['push', image], { cwd: '/' }).stdout;
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    if (!digest) throw new Error(`no digest in docker push output: ${pushed}`);
    const manifests = fixture('naive/manifests.yaml')
      .replace(/__NAMESPACE__/g, namespace)
      .replace(/__IMAGE__/g, `${image.replace(/:[^:/]+$/, '')}@${digest}`);
    writeFiles(ws, { 'naive.yaml': manifests });
    kubectl(['apply', '-f', join(ws, 'naive.yaml')]);
    kubectl(['rollout', 'status', `deployment/${NAIVE}`, '-n', namespace, '--timeout=120s']);
    naiveUrl = `http://${kubectl(['get', 'service', NAIVE, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}']).stdout.trim()}:80`;
  }, 10 * 60_000);

  afterAll(() => {
    if (Object.keys(phases).length) console.log(`no-call-lost phases: ${JSON.stringify(phases)}`);
    if (kubectl) kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });

  it('the function is reachable through its ClusterIP with 2 ready pods', () => {
    expect(registeredEndpoints(ws)[SERVICE.fn]).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+:80$/);
    expect(turboliftPods()).toHaveLength(2);
  });

  it('a rolling update that replaces every pod loses no call', async () => {
    const before = turboliftPods();
    setRound(1);
    // Only the deploy itself: build and image are unchanged (the content hash changes through the env). The load
    // starts once the executor starts applying, so Nx's own start-up does not eat into the bounded phase; no old
    // pod can go before a new one is ready, which takes longer than the load needs to start.
    // `stream` shows the executor's lines as they come (`static` holds them until the task ends).
    let load: Promise<RunningLoad> | undefined;
    let loadRunning = false;
    let loadRunningWhenReady: boolean | undefined;
    const deployed = runAsync('npx', ['nx', 'run', `${SERVICE.project}:deploy-k8s`, '--excludeTaskDependencies', '--output-style=stream'], ws, (output) => {
      if (!load && output.includes(`${SERVICE.name}: deploying`)) load = startLoad('turbolift', {}).then((running) => ((loadRunning = true), running));
      if (loadRunningWhenReady === undefined && output.includes(`${SERVICE.name}: ready (content hash`)) loadRunningWhenReady = loadRunning;
    });
    const deployOutput = await deployed;
    expect(load).toBeDefined();
    // The phase covered the rollout: the callers were running before the executor saw it done.
    expect(loadRunningWhenReady).toBe(true);
    await delay(1500); // the old pods are terminating now: keep calling through their drain
    const result = await (await load!).stop();
    phases.rollingUpdate = result;
    expect(result.ms).toBeLessThan(PHASE_LIMIT_MS); // ended by the test after the rollout, so the phase covered it
    expect(deployOutput).toMatch(new RegExp(`Deployment/${SERVICE.name} configured`));
    const after = turboliftPods();
    expect(after).toHaveLength(2);
    expect(after.filter((pod) => before.includes(pod))).toEqual([]);
    expect(result.ok).toBeGreaterThan(0);
    expect({ failed: result.failed, wrong: result.wrong, errors: result.errors }).toEqual({ failed: 0, wrong: 0, errors: {} });
  });

  it('deleting one of two pods loses no call', async () => {
    const [victim] = turboliftPods();
    const load = await startLoad('turbolift', {});
    await delay(500);
    kubectl(['delete', 'pod', victim, '-n', namespace, '--wait=false']);
    await waitFor(
      `a replacement for ${victim}`,
      () => {
        const pods = turboliftPods();
        return (pods.length === 2 && !pods.includes(victim)) || undefined;
      },
      PHASE_LIMIT_MS,
    );
    await runAsync('kubectl', ['--kubeconfig', kubeconfig, 'rollout', 'status', `deployment/${SERVICE.name}`, '-n', namespace, '--timeout=20s'], '/');
    await delay(1000);
    const result = await load.stop();
    phases.podDeleted = result;
    expect(result.ok).toBeGreaterThan(0);
    expect({ failed: result.failed, wrong: result.wrong, errors: result.errors }).toEqual({ failed: 0, wrong: 0, errors: {} });
  });

  it('contrast: a naive service without drain, called without retries, loses calls in a rolling update', async () => {
    const load = await startLoad('naive', { TURBOLIFT_NAIVE_ECHO_URL: naiveUrl });
    const started = Date.now();
    // As many rollouts as fit in the phase: each replaces both pods, each old pod exits at once on SIGTERM.
    for (let round = 1; round <= 3 && Date.now() - started < PHASE_LIMIT_MS - 8000; round++) {
      await runAsync('kubectl', ['--kubeconfig', kubeconfig, 'set', 'env', `deployment/${NAIVE}`, '-n', namespace, `ROUND=${round}`], '/');
      await runAsync('kubectl', ['--kubeconfig', kubeconfig, 'rollout', 'status', `deployment/${NAIVE}`, '-n', namespace, '--timeout=20s'], '/');
    }
    await delay(500);
    const result = await load.stop();
    phases.naiveRollingUpdate = result;
    expect(result.ok).toBeGreaterThan(0);
    expect(result.failed).toBeGreaterThan(0);
  });
});
