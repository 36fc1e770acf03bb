// `node scripts/bench-k8s.mjs` (after `npm run build`, with tools/test-infra/up.sh and tools/test-cluster/up.sh
// running): what deploy-k8s costs on the real single-node test cluster. Prints a Markdown section for
// BENCHMARKS.md. Every load is bounded (4 callers, a time limit and a call limit); traffic goes only to
// 127.0.0.1 and this cluster's ClusterIPs and pod IPs. The benchmark's namespace and workspace are removed.
//
//   1. deploy-k8s from start to ready (rolled out, Service routing): one function, then ten in parallel;
//   2. calls per second through the Service ClusterIP vs straight to the pod IP;
//   3. failed calls through a rolling update and a pod kill: turbolift (drain + retrying stub) vs a naive
//      service (exits at once on SIGTERM, client without retries), same load;
//   4. `nx affected -t deploy-k8s` with nothing changed in a workspace of 20 lifted services, against
//      `nx show projects` in the same workspace;
//   5. the example's compressAll (examples/text-compress) over 3,000 and 30,000 texts in chunks of 250 sent together:
//      2 replicas of 1 CPU (1 worker each) through the ClusterIP against the same stub in local mode, in this process;
//   6. the CPU autoscaler: time from the start of a load to 2 ready replicas (and back to 1 after it);
//   7. atomic deploys that fail (an image that cannot be pulled; a version that never becomes ready) and roll back:
//      time from the start to the old pods serving alone (the new pod gone), against a good rolling update of the
//      same service in the same run, with the bounded load running through it. `BENCH_K8S_ONLY=atomic` runs only 7;
//   8. an unchanged deploy with two patches and createPullSecret against a plain unchanged deploy, alternated in the
//      same run (median of 7 each). `BENCH_K8S_ONLY=unchanged` runs only 8.
// The echo service of 1-3 and 7 runs its function inline (workers 0): those sections measure the path and the rollouts.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bestOf, bundleService, exampleModule, exampleSrc } from './bench/bundles.mjs';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const WORKERS = 4;
const PHASE_LIMIT_MS = 8000;
const THROUGHPUT_MS = Number(process.env.BENCH_K8S_THROUGHPUT_MS ?? 5000);
const MAX_CALLS = 400_000;
// deploy-k8s defaults each request to its limit (cpu 1); the test node has 2 CPUs and the benchmark runs over a dozen
// pods at once, so it asks for small requests and keeps the limits (each pod may still use a whole core).
const SMALL_REQUESTS = { cpu: '50m', memory: '64Mi' };
const ECHO = { workers: 0 };
const COMPRESS_COUNTS = [3000, 30_000];
const CHUNK_SIZE = 250;
const COMPRESS_ROUNDS = Number(process.env.BENCH_K8S_COMPRESS_ROUNDS ?? 3);
/** Bound of each contender's rounds, and of each autoscaler wait. */
const COMPRESS_LIMIT_MS = 150_000;
const HPA_TRIALS = Number(process.env.BENCH_K8S_HPA_TRIALS ?? 2);
const HPA_LIMIT_MS = 240_000;
const HPA_CALLERS = 4;
/** The never-ready version's rollout timeout; the pull failure is given up after the executor's 10 s grace. */
const ATOMIC_TIMEOUT_SECONDS = 20;
/** Bound of the load through one atomic deploy (its timeout, the rollback, the old pods alone). */
const ATOMIC_LOAD_LIMIT_MS = 120_000;

// ---- load mode: a child process that calls one URL for a bounded time and prints its counts ----
if (process.argv[2] === '--load') {
  const [, , , fnName, url, retries, durationMs, limitMs] = process.argv;
  process.env.TURBOLIFT_MODE = 'distributed';
  process.env[`TURBOLIFT_${fnName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_URL`] = url;
  const { liftedStub } = require('@turbolift/runtime');
  const call = liftedStub(fnName, (n) => n * 2 + 1, { service: 'bench', retries: Number(retries), timeoutMs: 5000 });
  const counts = { ok: 0, failed: 0, errors: {} };
  let issued = 0;
  const started = performance.now();
  let stopAt = started + Math.min(Number(durationMs), Number(limitMs ?? PHASE_LIMIT_MS));
  process.stdin.on('data', () => (stopAt = Math.min(stopAt, performance.now())));
  process.stdin.on('error', () => undefined);
  const worker = async () => {
    while (performance.now() < stopAt && issued < MAX_CALLS) {
      const n = issued++;
      try {
        if ((await call(n)) === n * 2 + 1) counts.ok++;
        else counts.failed++;
      } catch (error) {
        counts.failed++;
        counts.errors[error.code ?? error.name] = (counts.errors[error.code ?? error.name] ?? 0) + 1;
      }
    }
  };
  console.log('LOAD started');
  await Promise.all(Array.from({ length: WORKERS }, worker));
  console.log(`RESULT ${JSON.stringify({ ...counts, ms: Math.round(performance.now() - started) })}`);
  process.exit(0);
}

// ---- where the test infrastructure is ----
function infraValue(key, fallback) {
  if (process.env[key]) return process.env[key];
  const envFile = join(process.env.TURBOLIFT_TEST_INFRA_DIR ?? '/tmp/turbolift-test-infra', 'env.sh');
  const match = existsSync(envFile) && new RegExp(`^export ${key}=(.*)$`, 'm').exec(readFileSync(envFile, 'utf8'));
  return match ? match[1].trim().replace(/^(['"])(.*)\1$/, '$2') : fallback;
}
const kubeconfig = process.env.TURBOLIFT_TEST_KUBECONFIG ?? join(process.env.TURBOLIFT_CLUSTER_STATE ?? '/tmp/turbolift-test-cluster', 'kubeconfig');
const registry = infraValue('TURBOLIFT_TEST_REGISTRY', '127.0.0.1:5000');
const baseImage = infraValue('TURBOLIFT_TEST_BASE_IMAGE', `turbolift-test/node:${process.versions.node.split('.')[0]}`);
const namespace = `tl-bench-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'turbolift-bench-k8s-'));

function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, ...options });
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${(result.stderr || result.stdout || '').trim().slice(-2000)}`);
  }
  return result.stdout ?? '';
}
const kubectl = (...args) => sh('kubectl', ['--kubeconfig', kubeconfig, ...args]);
const kubectlAsync = (...args) =>
  new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')}: ${err.trim()}`))));
  });
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Builds and pushes an image from a folder (tagged by the hash of its files); returns `repo@digest`-ready parts. */
function buildAndPush(repository, context) {
  const hash = createHash('sha256').update(baseImage);
  for (const file of readdirSync(context).sort()) hash.update(file).update(readFileSync(join(context, file)));
  const tag = hash.digest('hex').slice(0, 12);
  sh('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${baseImage}`, '-t', `${repository}:${tag}`, context]);
  const pushed = sh('docker', ['push', `${repository}:${tag}`]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
  if (!digest) throw new Error(`no digest in docker push output for ${repository}:${tag}`);
  return { image: repository, tag, tags: [tag], digest, pushed: true };
}

/**
 * A turbolift service image: the runtime's serve() around one function (`source`, a service entry), bundled as the
 * plugin's build target bundles it: main.js plus the files the worker pool starts its threads from.
 */
function serviceImage(name, source) {
  const context = join(work, `image-${name}`);
  mkdirSync(context, { recursive: true });
  bundleService(context, source);
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY *.js /app/\nUSER 1000:1000\nCMD ["node", "/app/main.js"]\n');
  return buildAndPush(`${registry}/turbolift-bench/${name}`, context);
}

const turboliftImage = () =>
  serviceImage(
    'bench-echo',
    "import { serve } from '@turbolift/runtime';\nvoid serve(function benchEcho(n: number) { return n * 2 + 1; }, { name: 'benchEcho' });\n",
  );
const compressImage = () =>
  serviceImage(
    'bench-compress',
    `import { serve } from '@turbolift/runtime';\nimport { compressAll } from '${exampleSrc}/compress';\nvoid serve(compressAll, { name: 'compressAll' });\n`,
  );

function naiveImage() {
  const context = join(work, 'image-naive');
  mkdirSync(context, { recursive: true });
  writeFileSync(join(context, 'main.js'), readFileSync(join(root, 'e2e/fixtures/deploy/naive/server.js')));
  writeFileSync(
    join(context, 'Dockerfile'),
    readFileSync(join(root, 'e2e/fixtures/deploy/naive/Dockerfile'), 'utf8').replace('server.js /app/server.js', 'main.js /app/server.js'),
  );
  return buildAndPush(`${registry}/turbolift-bench/naive-echo`, context);
}

/** A plain HTTP server whose TEST_MODE=unready keeps its readiness probe at 503: a version that never becomes ready. */
function modesImage() {
  const context = join(work, 'image-modes');
  mkdirSync(context, { recursive: true });
  const server = `const http = require('node:http');
const mode = process.env.TEST_MODE || 'ok';
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(mode === 'unready' ? 503 : 200); return res.end(mode); }
  res.writeHead(200);
  res.end('ok');
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
  writeFileSync(join(context, 'server.js'), server);
  writeFileSync(join(context, 'Dockerfile'), readFileSync(join(root, 'e2e/fixtures/deploy/naive/Dockerfile'), 'utf8'));
  return buildAndPush(`${registry}/turbolift-bench/modes`, context);
}

// ---- deploy-k8s through the built executor, as Nx would call it (one process, no Nx startup) ----
const deployExecutor = require(join(root, 'packages/turbolift/dist/executors/deploy-k8s/executor.js')).default;
const deployWorkspace = join(work, 'deploy-ws');
mkdirSync(deployWorkspace, { recursive: true });
writeFileSync(join(deployWorkspace, 'package.json'), JSON.stringify({ name: '@bench/source', private: true }));

function contextFor(project) {
  return {
    root: deployWorkspace,
    cwd: deployWorkspace,
    projectName: project,
    targetName: 'deploy-k8s',
    isVerbose: false,
    projectsConfigurations: { version: 2, projects: { [project]: { root: `apps/${project}` } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  };
}

async function deploy(project, record, options = {}) {
  const recordFile = join(deployWorkspace, 'dist/apps', project, 'image.json');
  mkdirSync(join(recordFile, '..'), { recursive: true });
  writeFileSync(recordFile, JSON.stringify({ service: project, ...record }));
  const started = performance.now();
  const resources = { ...options.resources, requests: { ...SMALL_REQUESTS, ...options.resources?.requests } };
  const result = await deployExecutor({ kubeconfig, namespace, createNamespace: true, ...options, resources }, contextFor(project));
  if (!result.success) throw new Error(`deploy of ${project} failed: ${result.reason}`);
  // The stubs here and in the load children are callers outside the cluster: they send the namespace's token.
  process.env.TURBOLIFT_TOKEN ??= Buffer.from(
    kubectl('get', 'secret', 'turbolift-callers', '-n', namespace, '-o', 'jsonpath={.data.token}').trim(),
    'base64',
  ).toString('utf8');
  return { ms: performance.now() - started, result };
}

/** Starts the bounded load in a child process (so the deploy's own work does not share its event loop). */
async function startLoad(fnName, url, retries, limitMs = PHASE_LIMIT_MS) {
  const args = ['--load', fnName, url, String(retries), String(limitMs), String(limitMs)];
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  const done = new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)));
      else reject(new Error(`load exited ${code}: ${output}`));
    }),
  );
  const deadline = Date.now() + 20_000;
  while (!output.includes('LOAD started') && Date.now() < deadline) await delay(20);
  return { done, stop: () => (child.stdin.end('stop\n'), done) };
}

const podsOf = (selector) =>
  kubectl(
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    selector,
    '--field-selector=status.phase=Running',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.status.podIP} {end}',
  )
    .trim()
    .split(' ')
    .filter(Boolean)
    .map((pair) => pair.split('='));

async function main() {
  const loadAtStart = loadavg()[0];
  const lines = [];
  const log = (line) => {
    console.error(line);
    lines.push(line);
  };
  // Quiet the executor's progress lines; errors still show.
  const info = console.info;
  console.info = () => undefined;

  console.error(`bench-k8s: images, namespace ${namespace}`);
  const turbolift = turboliftImage();
  if (process.env.BENCH_K8S_ONLY === 'unchanged') {
    const rows = await unchangedBench(turbolift);
    console.info = info;
    log(`Measured ${new Date().toISOString().slice(0, 10)}, load average ${loadAtStart.toFixed(1)} → ${loadavg()[0].toFixed(1)}:`);
    log('');
    printUnchanged(log, rows);
    console.log(lines.join('\n'));
    return;
  }
  if (process.env.BENCH_K8S_ONLY === 'atomic') {
    const atomic = await atomicBench(turbolift, modesImage());
    console.info = info;
    log(`Measured ${new Date().toISOString().slice(0, 10)}, load average ${loadAtStart.toFixed(1)} → ${loadavg()[0].toFixed(1)}:`);
    log('');
    printAtomic(log, atomic);
    console.log(lines.join('\n'));
    return;
  }
  const naive = naiveImage();

  // 1. deploy to ready
  const single = await deploy('bench-one', turbolift, ECHO);
  const parallelStarted = performance.now();
  const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => deploy(`bench-p${i}`, turbolift, ECHO)));
  const parallelMs = performance.now() - parallelStarted;
  const unchanged = await deploy('bench-one', turbolift, ECHO);

  // 2. calls per second: ClusterIP vs pod IP of the same single pod
  const [[, podIP]] = podsOf('app.kubernetes.io/instance=bench-one');
  const clusterIpUrl = single.result.url;
  const podUrl = `http://${podIP}:8080`;
  const rates = {};
  for (const [label, url] of [
    ['ClusterIP', clusterIpUrl],
    ['pod IP', podUrl],
    ['ClusterIP ', clusterIpUrl],
    ['pod IP ', podUrl],
  ]) {
    const load = await startLoad('benchEcho', url, 3);
    await delay(THROUGHPUT_MS);
    const result = await load.stop();
    (rates[label.trim()] ??= []).push({ rps: (result.ok / result.ms) * 1000, failed: result.failed });
  }

  // 3. failed calls: turbolift (2 replicas) vs naive (2 replicas, plain kubectl)
  const drainUrl = (await deploy('bench-drain', turbolift, { ...ECHO, replicas: 2, env: { ROUND: '0' } })).result.url;
  const naiveYaml = readFileSync(join(root, 'e2e/fixtures/deploy/naive/manifests.yaml'), 'utf8')
    .replace(/__NAMESPACE__/g, namespace)
    .replace(/__IMAGE__/g, `${naive.image}@${naive.digest}`);
  writeFileSync(join(work, 'naive.yaml'), naiveYaml);
  kubectl('apply', '-f', join(work, 'naive.yaml'));
  kubectl('rollout', 'status', 'deployment/naive-echo', '-n', namespace, '--timeout=120s');
  const naiveUrl = `http://${kubectl('get', 'service', 'naive-echo', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}').trim()}:80`;

  const failures = {};
  const turboliftRolling = await startLoad('benchEcho', drainUrl, 3);
  await delay(300);
  for (let round = 1; round <= 2; round++) await deploy('bench-drain', turbolift, { ...ECHO, replicas: 2, env: { ROUND: String(round) } });
  await delay(1000);
  failures['turbolift, 2 rolling updates'] = await turboliftRolling.stop();

  const turboliftKill = await startLoad('benchEcho', drainUrl, 3);
  await delay(300);
  kubectl('delete', 'pod', podsOf('app.kubernetes.io/instance=bench-drain')[0][0], '-n', namespace, '--wait=false');
  await kubectlAsync('rollout', 'status', 'deployment/bench-drain', '-n', namespace, '--timeout=30s');
  await delay(2000);
  failures['turbolift, 1 of 2 pods deleted'] = await turboliftKill.stop();

  const naiveRolling = await startLoad('naiveEcho', naiveUrl, 0);
  await delay(300);
  for (let round = 1; round <= 2; round++) {
    await kubectlAsync('set', 'env', 'deployment/naive-echo', '-n', namespace, `ROUND=${round}`);
    await kubectlAsync('rollout', 'status', 'deployment/naive-echo', '-n', namespace, '--timeout=30s');
  }
  await delay(1000);
  failures['naive, 2 rolling updates'] = await naiveRolling.stop();

  const naiveKill = await startLoad('naiveEcho', naiveUrl, 0);
  await delay(300);
  kubectl('delete', 'pod', podsOf('app=naive-echo')[0][0], '-n', namespace, '--wait=false');
  await kubectlAsync('rollout', 'status', 'deployment/naive-echo', '-n', namespace, '--timeout=30s');
  await delay(2000);
  failures['naive, 1 of 2 pods deleted'] = await naiveKill.stop();

  // 7. atomic deploys that fail and roll back
  const atomic = await atomicBench(turbolift, modesImage());

  // 5. and 6. CPU-heavy: the node's 2 cores go to these pods alone (the echo pods are removed first).
  await kubectlAsync('delete', 'deployments', '--all', '-n', namespace, '--wait=true', '--timeout=120s');
  const compress = compressImage();
  const compression = await compressBench(compress);
  const autoscaler = await autoscalerBench(compress);
  console.info = info;

  // 4. no-change affected with 20 lifted services
  const affected = affectedBench();

  log(
    `Measured ${new Date().toISOString().slice(0, 10)} on the test cluster (tools/test-cluster, 1 node, 2 cores), Node ${process.versions.node}; ` +
      `1-minute load average at the end ${loadavg()[0].toFixed(1)} (from ${loadAtStart.toFixed(1)} at the start):`,
  );
  log('');
  log('| deploy-k8s, start to ready (rolled out and routed) | time |');
  log('|---|---|');
  log(`| 1 function, new (executor in-process, no Nx startup) | ${seconds(single.ms)} |`);
  log(
    `| 10 functions in parallel, new | ${seconds(parallelMs)} ` +
      `(each: median ${seconds(median(ten.map((d) => d.ms)))}, max ${seconds(Math.max(...ten.map((d) => d.ms)))}) |`,
  );
  log(`| 1 function, unchanged (nothing written, rollout checked) | ${seconds(unchanged.ms)} |`);
  log('');
  log(`| calls/s, ${WORKERS} keep-alive callers, ${THROUGHPUT_MS / 1000} s, stub \`benchEcho(n)\` | round 1 | round 2 | failed |`);
  log('|---|---|---|---|');
  for (const [label, runs] of Object.entries(rates)) {
    const row = label === 'pod IP' ? 'direct to the pod IP (:8080)' : 'through the Service ClusterIP (:80)';
    log(`| ${row} | ${runs.map((r) => Math.round(r.rps)).join(' | ')} | ${runs.reduce((a, r) => a + r.failed, 0)} |`);
  }
  log('');
  log(`| ${WORKERS} callers, ≤ ${PHASE_LIMIT_MS / 1000} s per phase | phase | calls ok | failed | errors |`);
  log('|---|---|---|---|---|');
  for (const [label, r] of Object.entries(failures))
    log(`| ${label} | ${seconds(r.ms)} | ${r.ok} | ${r.failed} | ${JSON.stringify(r.errors).replace(/"/g, '')} |`);
  log('');
  log('| 20 lifted services, nothing changed (NX_DAEMON=false) | median of 5 |');
  log('|---|---|');
  log(`| \`nx show projects\` (baseline: Nx startup + project graph) | ${seconds(affected.baseline)} |`);
  log(`| \`nx affected -t deploy-k8s --base=HEAD\` | ${seconds(affected.affected)} (tasks run: ${affected.tasks}) |`);
  log('');
  log(
    `| compressAll (brotli q11), chunks of ${CHUNK_SIZE} sent together, best of ${COMPRESS_ROUNDS} | chunks | local, in-process | ` +
      'cluster: 2 replicas × 1 CPU, 1 worker each | cluster vs local |',
  );
  log('|---|---|---|---|---|');
  for (const r of compression)
    log(`| ${r.count.toLocaleString('en')} texts | ${r.chunks} | ${seconds(r.local)} | ${seconds(r.cluster)} | ${(r.local / r.cluster).toFixed(2)}× |`);
  log('');
  log(
    '| autoscaler: limit cpu 1, request 250m, targetCPU 200, min 1, max 3, scale-down window 15 s; ' +
      `load: ${HPA_CALLERS} callers of compressAll(${CHUNK_SIZE} texts) | 1 → 2 ready | back to 1 after the load | calls ok | failed |`,
  );
  log('|---|---|---|---|---|');
  autoscaler.forEach((t, i) => log(`| trial ${i + 1} | ${seconds(t.upMs)} | ${seconds(t.downMs)} | ${t.ok} | ${t.failed} |`));
  log('');
  printAtomic(log, atomic);
  console.log(lines.join('\n'));
}

const UNCHANGED_ROUNDS = 7;

/** 8. Unchanged deploys: plain, and with patches and a pull Secret (a Docker config of the benchmark's own). */
async function unchangedBench(turbolift) {
  const dockerConfig = join(work, 'docker-config');
  mkdirSync(dockerConfig, { recursive: true });
  const auth = Buffer.from('bench:not-checked').toString('base64');
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
  process.env.DOCKER_CONFIG = dockerConfig;
  const patched = {
    ...ECHO,
    createPullSecret: true,
    patches: [
      { kind: 'Deployment', patch: { spec: { template: { spec: { containers: [{ name: 'bench-patched', env: [{ name: 'PATCHED', value: '1' }] }] } } } } },
      { kind: 'Service', patch: { metadata: { annotations: { 'prometheus.io/scrape': 'true' } } } },
    ],
  };
  await deploy('bench-plain', turbolift, ECHO);
  await deploy('bench-patched', turbolift, patched);
  const plain = [];
  const withPatches = [];
  for (let round = 0; round < UNCHANGED_ROUNDS; round++) {
    const a = await deploy('bench-plain', turbolift, ECHO);
    const b = await deploy('bench-patched', turbolift, patched);
    for (const { result } of [a, b]) {
      if (!result.applied.every((outcome) => outcome.action === 'unchanged')) throw new Error(`an unchanged deploy wrote: ${JSON.stringify(result.applied)}`);
    }
    plain.push(a.ms);
    withPatches.push(b.ms);
  }
  return { plain: median(plain), patched: median(withPatches) };
}

function printUnchanged(log, { plain, patched }) {
  log(`| unchanged deploy, start to ready (median of ${UNCHANGED_ROUNDS}, alternated) | time | vs plain |`);
  log('| --- | --- | --- |');
  log(`| plain | ${seconds(plain)} | 1.00× |`);
  log(`| 2 patches + createPullSecret (Secret, Service, Deployment unchanged) | ${seconds(patched)} | ${(patched / plain).toFixed(2)}× |`);
}

function printAtomic(log, rows) {
  log(
    '| atomic deploy that fails, 2 replicas | good rolling update (baseline) | failed deploy returns | rollback: started → old pods alone | ' +
      'start → old pods alone (new pod gone) | alone vs good update | rollback vs good update | calls ok | failed |',
  );
  log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const calls = r.calls ? `| ${r.calls.ok} | ${r.calls.failed} |` : '| – | – |';
    log(
      `| ${r.label} | ${seconds(r.goodMs)} | ${seconds(r.failedMs)} | ${seconds(r.aloneMs - r.rollbackAtMs)} | ${seconds(r.aloneMs)} | ` +
        `${(r.aloneMs / r.goodMs).toFixed(2)}× | ${((r.aloneMs - r.rollbackAtMs) / r.goodMs).toFixed(2)}× ${calls}`,
    );
  }
  for (const r of rows) log(`- ${r.label}: ${r.reason}`);
}

const kubectlJson = (...args) =>
  new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args, '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`kubectl ${args.join(' ')}: ${err.trim()}`))));
  });

/** Polls `check` every `intervalMs` until it returns a value (not undefined), at most `limitMs`. */
async function poll(what, check, limitMs, intervalMs = 500) {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await delay(intervalMs);
  }
  throw new Error(`bench-k8s: no ${what} within ${limitMs / 1000} s`);
}

/**
 * Waits until the Service's ClusterIP answers: the executor returns once the EndpointSlice is ready, and kube-proxy
 * programs the node's rules a moment later (longer on a busy node); the stub's few quick retries may not cover it.
 */
async function clusterIpAnswers(url) {
  const started = performance.now();
  await poll(`answer from ${url}/readyz`, async () => ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined), 60_000);
  console.error(`bench-k8s: ${url} answered ${seconds(performance.now() - started)} after the rollout`);
}

/** The stub a caller of the lifted compressAll has, pointed at `url`. */
function compressStub(example, url) {
  process.env.TURBOLIFT_COMPRESS_ALL_URL = url;
  const { liftedStub } = require('@turbolift/runtime');
  return liftedStub('compressAll', example.compressAll, { service: 'bench-compress', timeoutMs: 600_000 });
}

const outputsDigest = (outputs) => createHash('sha256').update(Buffer.concat(outputs)).digest('hex');

/** 5. compressAll over 3,000 and 30,000 texts: in this process, then on 2 replicas of 1 CPU through the ClusterIP. */
async function compressBench(image) {
  const example = exampleModule(join(work, 'example.cjs'));
  const { url } = (await deploy('bench-compress', image, { replicas: 2, workers: 1, resources: { limits: { cpu: '1', memory: '256Mi' } } })).result;
  await clusterIpAnswers(url);
  const stub = compressStub(example, url);
  const rows = [];
  for (const count of COMPRESS_COUNTS) {
    const chunks = example.chunk(example.makeSentences(count), CHUNK_SIZE);
    const digests = new Set();
    const run = (mode) => async () => {
      process.env.TURBOLIFT_MODE = mode;
      const outputs = (await Promise.all(chunks.map((texts) => stub(texts)))).flat();
      if (outputs.length !== count) throw new Error(`compressAll gave ${outputs.length} outputs for ${count} texts in ${mode} mode`);
      digests.add(outputsDigest(outputs));
    };
    console.error(`bench-k8s: compressAll, ${count} texts`);
    await run('distributed')(); // warm-up: connections, the workers' JIT
    const local = await best(run('local'));
    const cluster = await best(run('distributed'));
    if (digests.size !== 1) throw new Error(`compressAll of ${count} texts gave different outputs on the cluster and in this process`);
    rows.push({ count, chunks: chunks.length, local, cluster });
  }
  process.env.TURBOLIFT_MODE = 'local';
  await kubectlAsync('delete', 'deployment', 'bench-compress', '-n', namespace, '--wait=true', '--timeout=120s');
  return rows;
}

const best = (run) => bestOf(run, COMPRESS_ROUNDS, COMPRESS_LIMIT_MS);

/** 6. The HPA from 1 to 2 ready replicas under a compressAll load, then back to 1: HPA_TRIALS times. */
async function autoscalerBench(image) {
  const example = exampleModule(join(work, 'example.cjs'));
  const name = 'bench-scaled';
  const { url } = (
    await deploy(name, image, {
      workers: 1,
      resources: { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
      autoscaling: { enabled: true, min: 1, max: 3, targetCPU: 200, scaleDownStabilizationSeconds: 15 },
    })
  ).result;
  await clusterIpAnswers(url);
  const stub = compressStub(example, url);
  const texts = example.makeSentences(CHUNK_SIZE);
  const expected = outputsDigest(example.compressAll(texts));
  const ready = async () => (await kubectlJson('get', 'deployment', name, '-n', namespace)).status.readyReplicas ?? 0;
  const pods = async () => (await kubectlJson('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${name}`)).items.length;
  // The autoscaler has read the idle pod's CPU: what is measured is its reaction to the load.
  await poll(
    'CPU reading of the idle pod by the autoscaler',
    async () => ((await kubectlJson('get', 'hpa', name, '-n', namespace)).status.currentMetrics?.[0]?.resource?.current ? true : undefined),
    HPA_LIMIT_MS,
  );
  process.env.TURBOLIFT_MODE = 'distributed';
  const trials = [];
  for (let trial = 0; trial < HPA_TRIALS; trial++) {
    await poll('single idle pod', async () => ((await ready()) === 1 && (await pods()) === 1 ? true : undefined), HPA_LIMIT_MS);
    console.error(`bench-k8s: autoscaler, trial ${trial + 1}`);
    const counts = { ok: 0, failed: 0 };
    let stop = false;
    const started = performance.now();
    const callers = Array.from({ length: HPA_CALLERS }, async () => {
      for (let calls = 0; !stop && calls < 1000 && performance.now() - started < HPA_LIMIT_MS; calls++) {
        try {
          if (outputsDigest(await stub(texts)) === expected) counts.ok++;
          else counts.failed++;
        } catch {
          counts.failed++;
        }
      }
    });
    let upMs;
    try {
      await poll('second ready replica under load', async () => ((await ready()) >= 2 ? true : undefined), HPA_LIMIT_MS);
      upMs = performance.now() - started;
    } finally {
      stop = true;
      await Promise.all(callers);
    }
    const stopped = performance.now();
    await poll('scale-down to 1 replica', async () => ((await ready()) === 1 && (await pods()) === 1 ? true : undefined), HPA_LIMIT_MS);
    trials.push({ upMs, downMs: performance.now() - stopped, ...counts });
  }
  process.env.TURBOLIFT_MODE = 'local';
  return trials;
}

/**
 * 7. Atomic deploys that fail, each against a good rolling update of the same 2-replica service just before it: one
 * whose image cannot be pulled (the turbolift echo service, the bounded load running through it) and one that never
 * becomes ready (its readiness probe answers 503; the rollout is given up at its timeout). Measured from the start of
 * the failing deploy to its old pods serving alone (no other pod of the service left, not even a terminating one).
 */
async function atomicBench(turbolift, modes) {
  const cases = [
    {
      label: 'image cannot be pulled (tag does not exist)',
      name: 'bench-atomic-pull',
      record: turbolift,
      options: ECHO,
      bad: { record: { ...turbolift, tag: 'does-not-exist', tags: ['does-not-exist'], digest: null }, options: {} },
      load: true,
    },
    {
      label: `never ready (readiness 503), timeoutSeconds ${ATOMIC_TIMEOUT_SECONDS}`,
      name: 'bench-atomic-unready',
      record: modes,
      options: {},
      bad: { record: modes, options: { env: { ROUND: '1', TEST_MODE: 'unready' }, timeoutSeconds: ATOMIC_TIMEOUT_SECONDS } },
      load: false,
    },
  ];
  const rows = [];
  for (const c of cases) {
    const selector = `app.kubernetes.io/instance=${c.name}`;
    const podNames = async () => (await kubectlJson('get', 'pods', '-n', namespace, '-l', selector)).items.map((pod) => pod.metadata.name);
    const { url } = (await deploy(c.name, c.record, { ...c.options, replicas: 2, env: { ROUND: '0' } })).result;
    const good = await deploy(c.name, c.record, { ...c.options, replicas: 2, env: { ROUND: '1' } });
    // The first round's pods finish draining: what is left are the pods the failing deploy must leave alone.
    const oldPods = await poll(`2 pods of ${c.name}`, async () => ((names) => (names.length === 2 ? names : undefined))(await podNames()), 120_000);
    let load;
    if (c.load) {
      await clusterIpAnswers(url);
      load = await startLoad('benchEcho', url, 3, ATOMIC_LOAD_LIMIT_MS);
    }
    console.error(`bench-k8s: atomic deploy of ${c.name} that fails (${c.label})`);
    const recordFile = join(deployWorkspace, 'dist/apps', c.name, 'image.json');
    writeFileSync(recordFile, JSON.stringify({ service: c.name, ...c.bad.record }));
    let rollbackAt;
    const quiet = console.info;
    console.info = (...args) => {
      if (rollbackAt === undefined && args.join(' ').includes(`${c.name}: rolling back`)) rollbackAt = performance.now();
    };
    const started = performance.now();
    const options = { ...c.options, replicas: 2, env: { ROUND: '1' }, ...c.bad.options, atomic: true };
    let failed;
    try {
      failed = await deployExecutor({ kubeconfig, namespace, createNamespace: true, ...options, resources: { requests: SMALL_REQUESTS } }, contextFor(c.name));
    } finally {
      console.info = quiet;
    }
    const failedMs = performance.now() - started;
    if (failed.success || !/rolled back/.test(failed.reason ?? ''))
      throw new Error(`the atomic deploy of ${c.name} did not fail and roll back: ${failed.reason}`);
    const aloneMs = await poll(
      `old pods of ${c.name} alone`,
      async () => {
        const names = await podNames();
        return names.length === oldPods.length && names.every((name) => oldPods.includes(name)) ? performance.now() - started : undefined;
      },
      120_000,
      200,
    );
    const calls = load ? await load.stop() : undefined;
    rows.push({ label: c.label, goodMs: good.ms, failedMs, rollbackAtMs: (rollbackAt ?? started) - started, aloneMs, calls, reason: failed.reason });
    await kubectlAsync('delete', 'deployment', c.name, '-n', namespace, '--wait=true', '--timeout=120s');
  }
  return rows;
}

/** A bare Nx workspace with 20 lifted-service markers, using this repository's nx and plugin. */
function affectedBench() {
  const ws = join(work, 'affected-ws');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: '@bench/source', private: true }));
  writeFileSync(join(ws, 'nx.json'), JSON.stringify({ plugins: ['turbolift/plugin'], defaultBase: 'main' }));
  writeFileSync(join(ws, '.gitignore'), 'node_modules\n.nx\ndist\n');
  symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
  for (let i = 0; i < 20; i++) {
    const dir = join(ws, `apps/lifted/f${i}-service`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `@bench/f${i}-service`, private: true }));
    writeFileSync(join(dir, 'turbolift.json'), JSON.stringify({ function: `f${i}`, library: `@bench/lifted-f${i}`, main: 'src/main.ts', port: 4400 + i }));
    writeFileSync(join(dir, 'src/main.ts'), `export const f${i} = ${i};\n`);
  }
  const git = (...args) => sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: ws });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'twenty services');
  const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', CI: 'true', FORCE_COLOR: '0' };
  const nx = (...args) => sh(join(root, 'node_modules/.bin/nx'), args, { cwd: ws, env });
  const shown = JSON.parse(nx('show', 'project', '@bench/f0-service', '--json'));
  if (!shown.targets['deploy-k8s']) throw new Error('the plugin inferred no deploy-k8s target in the affected benchmark workspace');
  if (JSON.parse(nx('show', 'projects', '--json')).length !== 20) throw new Error('expected 20 projects in the affected benchmark workspace');
  const time = (...args) => {
    const runs = [];
    let out = '';
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      out = nx(...args);
      runs.push(performance.now() - started);
    }
    return { ms: median(runs), out };
  };
  const baseline = time('show', 'projects');
  const affected = time('affected', '-t', 'deploy-k8s', '--base=HEAD', '--output-style=static');
  const tasks = (affected.out.match(/^\s*> nx run /gm) ?? []).length;
  return { baseline: baseline.ms, affected: affected.ms, tasks };
}

try {
  await main();
} finally {
  spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--ignore-not-found', '--wait=false'], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
