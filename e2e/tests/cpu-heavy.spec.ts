/**
 * A CPU-heavy function on the real cluster, as a user relies on it: three lifted functions doing iterated sha256
 * (deterministic, so every result is checked against the same call in local mode), each deployed with the options
 * its test is about, from nx.json and the service's own package.json:
 *   - cpu-digest-service, 1 replica at a CPU limit of 1 (one worker): under a saturating load for longer than the
 *     liveness probe's 30 s window the pod stays Ready and is never restarted; fn.map over thousands of inputs;
 *   - cpu-digest-limited-service, a call time limit and a queue of 1: an over-long call gets TL_CALL_TIMEOUT while
 *     other calls go on; a burst is refused with 503 TL_OVERLOADED and the stub's retries still deliver every call;
 *   - cpu-digest-scaled-service, a CPU autoscaler (1-3 pods): a bounded load takes it from 1 to 2 ready pods, and
 *     back to 1 once the load is light again, with no failed call throughout.
 * Loads run in their own process through the generated stubs; every load is bounded in calls and time. Traffic
 * goes only to this cluster's ClusterIPs and 127.0.0.1. The test's namespace is deleted at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApp } from '../support/app';
import { ensureCluster } from '../support/infra';
import { childEnv, delay, nx, run, waitFor } from '../support/run';
import { commitAll, copyWorkspace, writeFiles } from '../support/workspace';
import { configureDeploys, createLibrary, kubectlFor, registeredEndpoints, uniqueNamespace } from '../fixtures/deploy/cluster-helpers';
import type { Counts } from '../fixtures/cpu/counts';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/cpu', name), 'utf8');
const progress = (line: string) => process.stderr.write(`cpu-heavy: ${line}\n`);

const services = {
  digest: { fn: 'cpuDigest', project: '@acme/cpu-digest-service', name: 'cpu-digest-service' },
  limited: { fn: 'cpuDigestLimited', project: '@acme/cpu-digest-limited-service', name: 'cpu-digest-limited-service' },
  scaled: { fn: 'cpuDigestScaled', project: '@acme/cpu-digest-scaled-service', name: 'cpu-digest-scaled-service' },
};
const all = Object.values(services);

/** Every pod may use a whole core; the request is a quarter of it, so the 2-core node holds all five pods at once. */
const RESOURCES = { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } };
/** The limited service: a time limit each call, one call waiting at most, and a second worker so a stuck call leaves one free. */
const LIMITED = { workers: 2, callTimeoutMs: 8000, maxQueue: 1 };
/** 200 % of the 250m request: the autoscaler aims at half a core per pod; one saturated pod (about 400 %) asks for 2. */
const AUTOSCALING = { enabled: true, min: 1, max: 3, targetCPU: 200, scaleDownStabilizationSeconds: 15, scaleUpStabilizationSeconds: 0 };
/**
 * The liveness probe restarts a pod after 30 s without an answer: the saturating load issues calls for 32 s and its
 * queue keeps the worker busy some 6-8 s more (5 callers of about 1.2 s calls), about 40 s in all. Five callers keep
 * the estimated wait of a new call under the service's queue bound (TURBOLIFT_MAX_QUEUE_WAIT_MS, 10 s), so the
 * load is all accepted rather than partly refused and retried.
 */
const SATURATION_MS = 32_000;

interface Driver {
  child: ChildProcess;
  output(): string;
  send(line: string): void;
  done: Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

interface PodState {
  name: string;
  ready: boolean;
  readySince?: string;
  restarts: number;
  deleting: boolean;
}

describe('a CPU-heavy function on the real cluster', () => {
  let ws: string;
  let kubeconfig: string;
  let kubectl: ReturnType<typeof kubectlFor>;
  let driverBundle: string;
  let roundsPerSecond: number;
  const namespace = uniqueNamespace('cpuheavy');
  const summary: Record<string, unknown> = {};

  /** Rounds of the function that take about `seconds` of one core on this machine. */
  const roundsFor = (seconds: number) => Math.max(1000, Math.round(roundsPerSecond * seconds));

  /** Starts one phase of the driver in its own process (TURBOLIFT_MODE is the driver's to switch). */
  function startDriver(phase: string, env: Record<string, string | number> = {}, boundMs = 5 * 60_000): Driver {
    progress(`${phase} driver started ${JSON.stringify(env)}`);
    const child = spawn(process.execPath, [driverBundle], {
      cwd: ws,
      env: childEnv({ PHASE: phase, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a driver's JSON report, read field by field by each test
    const done = new Promise<Record<string, any>>((resolve, reject) => {
      child.once('error', reject);
      // `close`, not `exit`: the process may be gone before the last of its output has been read.
      child.once('close', (code, signal) => {
        clearTimeout(bound);
        progress(`${phase} driver exited ${code ?? signal}`);
        const line = output.split('\n').find((l) => l.startsWith('RESULT '));
        try {
          if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)));
          else throw new Error('no RESULT line');
        } catch (error) {
          reject(new Error(`the ${phase} driver exited ${code ?? signal} without a result (${(error as Error).message}):\n${output.slice(-4000)}`));
        }
      });
    });
    return { child, output: () => output, send: (line) => child.stdin!.write(`${line}\n`), done };
  }

  async function runDriver(phase: string, env: Record<string, string | number> = {}) {
    const driver = startDriver(phase, env);
    return driver.done;
  }

  /** kubectl without blocking the event loop (the tests poll while a driver runs). */
  function kubectlAsync(args: string[], timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], { env: childEnv() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const bound = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(bound);
        if (code === 0) resolve(stdout);
        else reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      });
    });
  }

  async function podsOf(service: string): Promise<PodState[]> {
    const pods = JSON.parse(await kubectlAsync(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${service}`, '-o', 'json'])).items;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl's JSON, of which two fields are read
    return pods.map((pod: any) => {
      const ready = pod.status.conditions?.find((c: { type: string }) => c.type === 'Ready');
      return {
        name: pod.metadata.name,
        ready: ready?.status === 'True',
        readySince: ready?.lastTransitionTime,
        restarts: (pod.status.containerStatuses ?? []).reduce((sum: number, c: { restartCount: number }) => sum + c.restartCount, 0),
        deleting: Boolean(pod.metadata.deletionTimestamp),
      };
    });
  }

  /** The pod's CPU use in cores as metrics-server last saw it; undefined until it has a sample. */
  async function podCpu(pod: string): Promise<number | undefined> {
    try {
      const metrics = JSON.parse(await kubectlAsync(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/${pod}`]));
      const cpu: string = metrics.containers[0].usage.cpu;
      if (cpu.endsWith('n')) return Number(cpu.slice(0, -1)) / 1e9;
      if (cpu.endsWith('u')) return Number(cpu.slice(0, -1)) / 1e6;
      if (cpu.endsWith('m')) return Number(cpu.slice(0, -1)) / 1e3;
      return Number(cpu);
    } catch {
      return undefined;
    }
  }

  async function readyReplicas(service: string): Promise<number> {
    return Number(JSON.parse(await kubectlAsync(['get', 'deployment', service, '-n', namespace, '-o', 'json'])).status.readyReplicas ?? 0);
  }

  const expectNoFailures = (counts: Counts) =>
    expect({ failed: counts.failed, wrong: counts.wrong, errors: counts.errors }).toEqual({ failed: 0, wrong: 0, errors: {} });

  beforeAll(async () => {
    kubeconfig = ensureCluster();
    kubectl = kubectlFor(kubeconfig);
    ws = copyWorkspace('cpu-heavy');
    createLibrary(ws, 'packages/cpu-app', {
      'src/digest.ts': fixture('digest.ts'),
      'src/functions.ts': fixture('functions.ts'),
      'src/counts.ts': fixture('counts.ts'),
      'src/driver.ts': fixture('driver.ts'),
      'src/index.ts': "export * from './functions.js';\n",
    });
    // The driver is written against the stubs: it hands the functions to helpers as values and uses `.map`, awaiting
    // where it calls them, so the lift's refusal of uses it cannot await is waived here (lift-local tests the refusal).
    for (const { fn } of all) nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/cpu-app', '--allowSyncCallers', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    configureDeploys(ws, { kubeconfig, namespace, createNamespace: true, registerEndpoint: true, resources: RESOURCES });
    // Options of one service go in its own project configuration, over the targetDefaults.
    const projectOptions = (name: string, options: Record<string, unknown>) => {
      const file = join(ws, 'apps/lifted', name, 'package.json');
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      manifest.nx = { ...manifest.nx, targets: { 'deploy-k8s': { options } } };
      writeFiles(ws, { [join('apps/lifted', name, 'package.json')]: JSON.stringify(manifest, null, 2) + '\n' });
    };
    projectOptions(services.limited.name, LIMITED);
    projectOptions(services.scaled.name, { autoscaling: AUTOSCALING });
    commitAll(ws, 'three lifted CPU-heavy functions');
    const shown = JSON.parse(nx(ws, ['show', 'project', services.scaled.project, '--json']).stdout);
    expect(shown.targets['deploy-k8s'].options).toMatchObject({ namespace, autoscaling: AUTOSCALING, resources: RESOURCES });

    progress('deploying');
    const started = Date.now();
    nx(ws, ['run-many', '-t', 'deploy-k8s', `--projects=${all.map((s) => s.project).join(',')}`, '--parallel=3', '--output-style=static'], {
      timeoutMs: 12 * 60_000,
    });
    summary.deployAllMs = Date.now() - started;
    driverBundle = bundleApp(ws, 'packages/cpu-app/src/driver.ts', 'cpu-driver');
    roundsPerSecond = (await runDriver('calibrate')).roundsPerSecond;
    summary.roundsPerSecond = roundsPerSecond;
  }, 15 * 60_000);

  afterAll(() => {
    console.log(`cpu-heavy: ${JSON.stringify(summary)}`);
    if (kubectl) kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });

  it('deploys each service with its own options: one ready pod each, workers and limits as configured', () => {
    const endpoints = registeredEndpoints(ws);
    for (const { fn } of all) expect(endpoints[fn]).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+:80$/);
    const deployments = JSON.parse(kubectl(['get', 'deployments', '-n', namespace, '-o', 'json']).stdout).items;
    const container = (name: string) => deployments.find((d: { metadata: { name: string } }) => d.metadata.name === name).spec.template.spec.containers[0];
    const envOf = (name: string) => Object.fromEntries(container(name).env.map((e: { name: string; value: string }) => [e.name, e.value]));
    for (const { name } of all) expect(container(name).resources).toEqual(RESOURCES);
    expect(envOf(services.digest.name)).toMatchObject({ TURBOLIFT_WORKERS: '1' });
    expect(envOf(services.digest.name).TURBOLIFT_CALL_TIMEOUT_MS).toBeUndefined();
    expect(envOf(services.limited.name)).toMatchObject({ TURBOLIFT_WORKERS: '2', TURBOLIFT_CALL_TIMEOUT_MS: '8000', TURBOLIFT_MAX_QUEUE: '1' });
    const hpa = JSON.parse(kubectl(['get', 'hpa', services.scaled.name, '-n', namespace, '-o', 'json']).stdout);
    expect(hpa.spec).toMatchObject({ minReplicas: 1, maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 15 } } });
    for (const { name } of all) {
      const status = deployments.find((d: { metadata: { name: string } }) => d.metadata.name === name).status;
      expect(status.readyReplicas).toBe(1);
    }
  });

  it('one replica at its CPU limit stays Ready, unrestarted, under a load longer than the liveness window; results equal local mode', async () => {
    const [before] = await podsOf(services.digest.name);
    expect(before).toMatchObject({ ready: true, restarts: 0 });
    const driver = startDriver('saturate', { CALLERS: 5, ROUNDS: roundsFor(1.2), DURATION_MS: SATURATION_MS, MAX: 60 }, 3 * 60_000);
    await waitFor(
      `the saturating load to start\n${driver.output()}`,
      () => driver.output().includes('LOAD started') || driver.child.exitCode !== null || undefined,
      60_000,
    );

    // While it runs: the pod's Ready condition and restarts about every second, its CPU use as metrics-server sees it.
    const samples: PodState[][] = [];
    let maxCpu = 0;
    let running = true;
    const result = driver.done.finally(() => (running = false));
    const pollUntil = Date.now() + SATURATION_MS + 60_000;
    while (running && Date.now() < pollUntil) {
      const [pods, cpu] = await Promise.all([podsOf(services.digest.name), podCpu(before.name)]);
      samples.push(pods);
      maxCpu = Math.max(maxCpu, cpu ?? 0);
      await Promise.race([delay(1000), result.catch(() => undefined)]);
    }
    const load = (await result) as Counts & { localMs: number };
    const [after] = await podsOf(services.digest.name);
    summary.saturation = { ...load, samples: samples.length, maxCpuCores: Number(maxCpu.toFixed(2)) };

    expect(load.ms).toBeGreaterThan(30_000);
    expect(load.calls).toBeGreaterThanOrEqual(10);
    expect(load.ok).toBe(load.calls);
    expectNoFailures(load);
    // Calls queued behind each other on the one worker: the pod really was saturated, and metrics-server saw it busy.
    expect(load.medianCallMs).toBeGreaterThan(2 * load.localMs);
    expect(maxCpu).toBeGreaterThan(0.6);
    expect(samples.length).toBeGreaterThanOrEqual(15);
    const notReady = samples.flat().filter((pod) => !pod.ready || pod.restarts > 0 || pod.name !== before.name);
    expect(notReady).toEqual([]);
    // Never left Ready between two samples either: the condition's last transition is the one from before the load.
    expect(after).toEqual(before);
  });

  it('an over-long call gets TL_CALL_TIMEOUT at the service limit while other calls still succeed', async () => {
    const result = await runDriver('timeout', { LONG_ROUNDS: roundsFor(60), SHORT_ROUNDS: roundsFor(0.04), SHORT_CALLERS: 2 });
    summary.timeout = result;
    expect(result.long).toMatchObject({ ok: false, code: 'TL_CALL_TIMEOUT', name: 'TurboliftCallError', statusCode: 504, remoteCode: 'TL_CALL_TIMEOUT' });
    expect(result.long.ms).toBeGreaterThanOrEqual(LIMITED.callTimeoutMs - 500);
    expect(result.long.ms).toBeLessThan(LIMITED.callTimeoutMs + 15_000);
    expect(result.short.calls).toBeGreaterThanOrEqual(5);
    expect(result.short.ok).toBe(result.short.calls);
    expectNoFailures(result.short);
    expect(result.after).toEqual([true, true]);
    const [pod] = await podsOf(services.limited.name);
    expect(pod).toMatchObject({ ready: true, restarts: 0 });
  });

  it('an overloaded service answers 503 TL_OVERLOADED with retry-after, and the stub retries until every call of the burst succeeds', async () => {
    const probeUrl = registeredEndpoints(ws)[services.limited.fn];
    // 12 calls at once against 2 workers and a queue of 1: most are refused at first.
    const result = await runDriver('overload', { BURST: 12, ROUNDS: roundsFor(0.3), PROBE_URL: probeUrl });
    summary.overload = result;
    expect(result.refused).toMatchObject({ status: 503, code: 'TL_OVERLOADED', connection: 'close' });
    expect(Number(result.refused.retryAfter)).toBeGreaterThanOrEqual(0);
    // The stub's own calls were refused too (it saw 503s), and each was retried until it went through.
    expect(result.refusals).toBeGreaterThan(0);
    expect(result.notOk).toEqual([]);
    expect(result.ok).toBe(12);
  });

  it('fn.map over 5000 inputs through the ClusterIP equals local mode, in order, with the failing input in its place', async () => {
    const failAt = 1234;
    const result = await runDriver('map', { COUNT: 5000, FAIL_AT: failAt });
    summary.map = {
      localMs: result.localMs,
      distributedMs: result.distributedMs,
      batches: result.batches,
      longestWaitMs: result.longestWaitMs,
      connections: result.connections,
      refusals: result.refusals,
    };
    const { local, distributed } = result as { local: unknown[]; distributed: unknown[] };
    expect(distributed).toHaveLength(5000);
    expect(local[failAt]).toEqual({ error: { name: 'RangeError', message: 'rounds must be a whole number >= 0, got -1' } });
    expect(distributed[failAt]).toEqual({
      error: { name: 'RemoteError', code: 'TL_FUNCTION_THREW', remoteName: 'RangeError', message: 'rounds must be a whole number >= 0, got -1' },
    });
    const others = (outcomes: unknown[]) => outcomes.filter((_, i) => i !== failAt);
    expect(others(distributed).every((digest) => typeof digest === 'string' && /^[0-9a-f]{64}$/.test(digest))).toBe(true);
    expect(others(distributed)).toEqual(others(local));
    // Batched: far fewer requests than inputs.
    expect(result.batches).toBeLessThan(1000);
  });

  it('the autoscaler takes the service from 1 to 2 ready pods under load and back to 1 after it, with no failed call', async () => {
    const service = services.scaled.name;
    expect(await readyReplicas(service)).toBe(1);
    // The autoscaler has read the idle pod's CPU: the time measured below is the reaction to the load alone.
    await waitFor(
      'the autoscaler to have a CPU reading of the idle pod',
      async () => {
        const hpa = JSON.parse(await kubectlAsync(['get', 'hpa', service, '-n', namespace, '-o', 'json']));
        return hpa.status.currentMetrics?.[0]?.resource?.current?.averageUtilization !== undefined || undefined;
      },
      120_000,
    );

    const driver = startDriver('scale', { CALLERS: 4, ROUNDS: roundsFor(0.5), LIGHT_ROUNDS: roundsFor(0.002), LIGHT_PAUSE_MS: 100 }, 8 * 60_000);
    await waitFor(
      `the heavy load to start\n${driver.output()}`,
      () => driver.output().includes('LOAD started') || driver.child.exitCode !== null || undefined,
      60_000,
    );
    const loadStarted = Date.now();
    let maxReady = 1;
    try {
      // Bounded: a few minutes of heavy load at most.
      const ready = await waitFor(
        '2 ready pods under load',
        async () => {
          const count = await readyReplicas(service);
          maxReady = Math.max(maxReady, count);
          return count >= 2 ? count : undefined;
        },
        180_000,
      );
      summary.scaleUpMs = Date.now() - loadStarted;
      expect(ready).toBeGreaterThanOrEqual(2);
    } finally {
      // Light traffic from here on: the autoscaler removes pods while calls still arrive.
      driver.send('light');
    }
    await waitFor(
      `the light load to start\n${driver.output()}`,
      () => driver.output().includes('LIGHT started') || driver.child.exitCode !== null || undefined,
      120_000,
    );
    const lightStarted = Date.now();
    let scaledDown = false;
    try {
      await waitFor(
        '1 pod again after the load',
        async () => {
          const pods = (await podsOf(service)).filter((pod) => !pod.deleting);
          maxReady = Math.max(maxReady, pods.filter((pod) => pod.ready).length);
          return (pods.length === 1 && pods[0].ready) || undefined;
        },
        240_000,
      );
      scaledDown = true;
      summary.scaleDownMs = Date.now() - lightStarted;
      // Keep calling until the removed pods are gone, so the light load covers their drain too.
      await waitFor('the removed pods to be gone', async () => (await podsOf(service)).length === 1 || undefined, 90_000);
    } finally {
      driver.send('stop');
    }
    const result = await driver.done;
    summary.autoscaling = { maxReady, heavy: result.heavy, light: result.light };
    expect(scaledDown).toBe(true);
    expect(await readyReplicas(service)).toBe(1);
    expect(result.heavy.ok).toBe(result.heavy.calls);
    expect(result.light.ok).toBe(result.light.calls);
    expect(result.light.calls).toBeGreaterThan(10);
    expectNoFailures(result.heavy);
    expectNoFailures(result.light);
  });
});
