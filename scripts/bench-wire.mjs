// `npm run bench:wire`: what the argument check and the caller-token check cost on the trivial call. The same
// lifted add(a, b) is served four ways, each in its own process (plain, with the parameter schemas, with a caller
// token, with both), and called through the stub with 64 calls in flight, the variants alternated round after
// round in this one run. Prints a Markdown table with each variant's cost per call as a ratio to plain's.
// Every loop is bounded by a call count and a time limit.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { runBenchmark, waitReady } from './bench/processes.mjs';

const require = createRequire(import.meta.url);
const { add } = require('./bench/functions.cjs');
const { liftedStub, closeConnections } = require('@turbolift/runtime');

const CALLS = Number(process.env.BENCH_WIRE_CALLS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_WIRE_ROUNDS ?? 5);
const IN_FLIGHT = 64;
const TIME_LIMIT_MS = 60_000;
const TOKEN = 'bench-wire-token-5f0e8c2a9d3b4e71a6c8';
const BASE_PORT = Number(process.env.BENCH_WIRE_PORT ?? 4890);

const VARIANTS = [
  { name: 'plain', env: {} },
  { name: 'parameter schemas', env: { BENCH_PARAMETERS: '1' } },
  { name: 'caller token', env: { TURBOLIFT_TOKEN: TOKEN }, token: true },
  { name: 'schemas + token', env: { BENCH_PARAMETERS: '1', TURBOLIFT_TOKEN: TOKEN }, token: true },
];

const children = [];
function startService(port, env) {
  const child = spawn(process.execPath, [new URL('./bench/services.cjs', import.meta.url).pathname, 'lifted', String(port), 'add'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TURBOLIFT_TOKEN: '', TURBOLIFT_TOKEN_DIR: '', ...env },
  });
  children.push(child);
  return waitReady(`http://127.0.0.1:${port}`);
}

async function measure(call) {
  let next = 0;
  const stopAt = performance.now() + TIME_LIMIT_MS;
  const started = performance.now();
  const worker = async () => {
    while (next < CALLS && performance.now() < stopAt) {
      const i = next++;
      if ((await call(i, 1)) !== i + 1) throw new Error('wrong result');
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return ((performance.now() - started) / Math.min(next, CALLS)) * 1000; // µs per call
}

runBenchmark(async () => {
  const origins = [];
  for (const [i, variant] of VARIANTS.entries()) origins.push(await startService(BASE_PORT + i, variant.env));
  process.env.TURBOLIFT_MODE = 'distributed';
  const stub = liftedStub('add', add, { service: 'bench-wire' });
  const use = (i) => {
    process.env.TURBOLIFT_ADD_URL = origins[i];
    // The stub sends a token only to the variants that check one.
    if (VARIANTS[i].token) process.env.TURBOLIFT_TOKEN = TOKEN;
    else delete process.env.TURBOLIFT_TOKEN;
  };
  for (let i = 0; i < VARIANTS.length; i++) {
    use(i);
    await stub(1, 1); // connections and workers warm
  }
  const samples = VARIANTS.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < VARIANTS.length; i++) {
      use(i);
      samples[i].push(await measure(stub));
    }
  }
  await closeConnections();
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const plain = median(samples[0]);
  console.log(`| variant | µs per call (median of ${ROUNDS} rounds of ${CALLS}, ${IN_FLIGHT} in flight) | ratio to plain |`);
  console.log('| --- | --- | --- |');
  for (const [i, variant] of VARIANTS.entries()) {
    const us = median(samples[i]);
    console.log(`| ${variant.name} | ${us.toFixed(1)} | ${(us / plain).toFixed(3)}× |`);
  }
  console.log(
    `\nload average at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
}, children);
