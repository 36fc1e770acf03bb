// `npm run bench`: the cost of a lifted call against an in-process call and a hand-written fastify+undici
// pair, all measured in this one run on loopback. Prints a Markdown report (pasted into BENCHMARKS.md).
// Every loop is bounded by a call count and a time limit.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { runBenchmark, waitReady } from './bench/processes.mjs';

const require = createRequire(import.meta.url);
const { add, byteSum } = require('./bench/functions.cjs');
const { liftedStub } = require('@turbolift/runtime');

const SEQUENTIAL_CALLS = Number(process.env.BENCH_SEQUENTIAL ?? 5000);
const CONCURRENT_CALLS = Number(process.env.BENCH_CONCURRENT ?? 40000);
const IN_FLIGHT = 64;
const BUFFER_CALLS = Number(process.env.BENCH_BUFFER ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TIME_LIMIT_MS = 60_000;

const children = [];
function startService(kind, port, fn, env = {}) {
  const child = spawn(process.execPath, [new URL('./bench/services.cjs', import.meta.url).pathname, kind, String(port), fn ?? ''], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return waitReady(`http://127.0.0.1:${port}`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs `calls` calls with `inFlight` workers; returns latency percentiles (µs) and calls per second. */
async function measure(call, calls, inFlight) {
  const latencies = new Float64Array(calls);
  let next = 0;
  const stopAt = performance.now() + TIME_LIMIT_MS;
  const started = performance.now();
  async function worker() {
    while (next < calls && performance.now() < stopAt) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      latencies[i] = performance.now() - t0;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = performance.now() - started;
  const done = Math.min(next, calls);
  const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50) * 1000, p99: percentile(sorted, 99) * 1000, rps: (done / elapsed) * 1000, calls: done };
}

function handwrittenClient(origin) {
  const pool = new Pool(origin, { connections: IN_FLIGHT, pipelining: 1 });
  return {
    pool,
    async add(a, b) {
      const { body } = await pool.request({ method: 'POST', path: '/add', headers: { 'content-type': 'application/json' }, body: JSON.stringify([a, b]) });
      return JSON.parse(await body.text());
    },
    async byteSum(bytes) {
      const { body } = await pool.request({ method: 'POST', path: '/byte-sum', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
      return JSON.parse(await body.text());
    },
  };
}

/** Best of ROUNDS for each contender, alternating them so drift on a shared machine hits all alike. */
async function compare(contenders, calls, inFlight) {
  const best = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(contenders)) {
      await measure(call, Math.min(1000, calls), inFlight); // warm-up
      const result = await measure(call, calls, inFlight);
      if (!best[name] || result.p50 < best[name].p50) best[name] = { ...result, rps: Math.max(result.rps, best[name]?.rps ?? 0) };
    }
  }
  return best;
}

function table(title, results, baseline) {
  const rows = Object.entries(results).map(([name, r]) => {
    const base = results[baseline];
    const ratios = `${(r.p50 / base.p50).toFixed(3)}× | ${(r.rps / base.rps).toFixed(3)}×`;
    return `| ${name} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.rps.toFixed(0)} | ${ratios} |`;
  });
  return [
    `### ${title}`,
    '',
    `| contender | p50 µs | p99 µs | calls/s | p50 vs ${baseline} | calls/s vs ${baseline} |`,
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main() {
  const handwrittenOrigin = await startService('handwritten', 47801);
  // The default service runs the function in a pool of worker threads; `inline` keeps it on the main thread.
  const pooled = { TURBOLIFT_WORKERS: '2' };
  const inline = { TURBOLIFT_WORKERS: '0' };
  const origins = {
    add: await startService('lifted', 47802, 'add', pooled),
    addInline: await startService('lifted', 47804, 'add', inline),
    byteSum: await startService('lifted', 47803, 'byteSum', pooled),
    byteSumInline: await startService('lifted', 47805, 'byteSum', inline),
  };

  const handwritten = handwrittenClient(handwrittenOrigin);
  const liftedAdd = liftedStub('add', add, { service: 'add-service' });
  const liftedByteSum = liftedStub('byteSum', byteSum, { service: 'byte-sum-service' });
  const distributed =
    (stub, origin) =>
    (...args) => {
      process.env.TURBOLIFT_MODE = 'distributed';
      process.env[stub === liftedAdd ? 'TURBOLIFT_ADD_URL' : 'TURBOLIFT_BYTE_SUM_URL'] = origin;
      return stub(...args);
    };
  const local =
    (stub) =>
    (...args) => {
      process.env.TURBOLIFT_MODE = 'local';
      return stub(...args);
    };

  const addContenders = {
    'hand-written fastify+undici': (i) => handwritten.add(i, 1),
    'lifted, inline (distributed)': (i) => distributed(liftedAdd, origins.addInline)(i, 1),
    'lifted, worker pool (distributed)': (i) => distributed(liftedAdd, origins.add)(i, 1),
    'lifted (local, in-process)': (i) => local(liftedAdd)(i, 1),
  };
  const payload = Buffer.alloc(100 * 1024, 7);
  const bufferContenders = {
    'hand-written fastify+undici': () => handwritten.byteSum(payload),
    'lifted, inline (distributed)': () => distributed(liftedByteSum, origins.byteSumInline)(payload),
    'lifted, worker pool (distributed)': () => distributed(liftedByteSum, origins.byteSum)(payload),
  };

  const report = [
    `Node ${process.version}, ${process.platform}/${process.arch}; loopback; best of ${ROUNDS} alternating rounds.`,
    '',
    table(
      `Trivial function, sequential (${SEQUENTIAL_CALLS} calls, 1 in flight)`,
      await compare(addContenders, SEQUENTIAL_CALLS, 1),
      'hand-written fastify+undici',
    ),
    table(
      `Trivial function, ${IN_FLIGHT} in flight (${CONCURRENT_CALLS} calls)`,
      await compare(addContenders, CONCURRENT_CALLS, IN_FLIGHT),
      'hand-written fastify+undici',
    ),
    table(`100 KB Buffer argument, 1 in flight (${BUFFER_CALLS} calls)`, await compare(bufferContenders, BUFFER_CALLS, 1), 'hand-written fastify+undici'),
  ].join('\n');
  console.log(report);
  await handwritten.pool.close();
}

runBenchmark(main, children);
