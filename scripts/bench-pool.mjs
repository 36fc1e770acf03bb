// `npm run bench:pool`: what the worker pool and fan-out buy for CPU-heavy work, all measured in this one run
// on loopback, against the same work in this process. Prints a Markdown report (pasted into BENCHMARKS.md).
//   1. the example's compressAll (brotli at quality 11) over 3,000 and 30,000 texts in chunks of 250:
//      in-process, then served with 1 and with 2 workers (the example's own Promise.all over chunks);
//   2. map over 10,000 inputs of a ~1 ms function: batched map, one call per input, local;
//   3. map over 10,000 trivial inputs: batched map against one call per input.
// Services are bundled the way the plugin bundles them. Every loop is bounded by a count and a time limit.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bestOf, bundleService, exampleModule, exampleSrc } from './bench/bundles.mjs';
import { runBenchmark, waitReady } from './bench/processes.mjs';

const require = createRequire(import.meta.url);
const { liftedStub, closeConnections } = require('@turbolift/runtime');

const repo = new URL('..', import.meta.url).pathname;
const work = join(repo, 'tmp', 'bench-pool');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MAP_INPUTS = Number(process.env.BENCH_MAP_INPUTS ?? 10_000);
const TIME_LIMIT_MS = 120_000;
const CHUNK_SIZE = 250;

const children = [];

async function startService(mainJs, port, env) {
  const child = spawn(process.execPath, [mainJs], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const origin = await waitReady(`http://127.0.0.1:${port}`);
  return { origin, stop: () => child.kill('SIGTERM') };
}

const best = (run) => bestOf(run, ROUNDS, TIME_LIMIT_MS);

/** Runs `count` calls with at most `inFlight` at once. */
async function bounded(count, inFlight, call) {
  let next = 0;
  const stopAt = performance.now() + TIME_LIMIT_MS;
  const results = new Array(count);
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count && performance.now() < stopAt) {
        const i = next++;
        results[i] = await call(i);
      }
    }),
  );
  if (next < count) throw new Error(`only ${next} of ${count} calls within ${TIME_LIMIT_MS} ms`);
  return results;
}

const row = (cells) => `| ${cells.join(' | ')} |`;
const ms = (value) => value.toFixed(0);
const ratio = (base, value) => `${(base / value).toFixed(2)}×`;

async function compressSection() {
  const { compressAll, makeSentences, chunk } = exampleModule(join(work, 'example.cjs'));
  const main = bundleService(
    join(work, 'compress-all'),
    `import { serve } from '@turbolift/runtime';\nimport { compressAll } from '${exampleSrc}/compress';\nvoid serve(compressAll, { name: 'compressAll' });\n`,
  );
  const stub = liftedStub('compressAll', compressAll, { service: 'compress-all-service', timeoutMs: 600_000 });
  const lines = [
    '### The example: compressAll (brotli, quality 11), chunks of 250 texts sent together',
    '',
    row(['texts', 'local, in-process ms', '1 worker ms', '2 workers ms', '1 worker vs local', '2 workers vs local']),
    '|---|---|---|---|---|---|',
  ];
  const services = { one: await startService(main, 47811, { TURBOLIFT_WORKERS: '1' }), two: await startService(main, 47812, { TURBOLIFT_WORKERS: '2' }) };
  for (const count of [3000, 30_000]) {
    const chunks = chunk(makeSentences(count), CHUNK_SIZE);
    const run = (mode, origin) => async () => {
      process.env.TURBOLIFT_MODE = mode;
      if (origin) process.env.TURBOLIFT_COMPRESS_ALL_URL = origin;
      const out = (await Promise.all(chunks.map((texts) => stub(texts)))).flat();
      if (out.length !== count) throw new Error(`compressAll gave ${out.length} outputs for ${count} texts`);
    };
    await run('distributed', services.two.origin)(); // warm-up: connections, worker JIT
    const local = await best(run('local'));
    const one = await best(run('distributed', services.one.origin));
    const two = await best(run('distributed', services.two.origin));
    lines.push(row([count, ms(local), ms(one), ms(two), ratio(local, one), ratio(local, two)]));
  }
  services.one.stop();
  services.two.stop();
  return lines.join('\n') + '\n';
}

async function mapSection() {
  const functions = join(work, 'functions.ts');
  writeFileSync(
    functions,
    [
      '/** About `ms` of CPU without yielding, as a small CPU-bound step. */',
      'export function spin(ms: number): number {',
      '  const end = performance.now() + ms;',
      '  let x = 0;',
      '  while (performance.now() < end) x += Math.sqrt(x + 1);',
      '  return x > 0 ? 1 : 0;',
      '}',
      'export function trivial(n: number): number {',
      '  return n + 1;',
      '}',
      '',
    ].join('\n'),
  );
  const spinMain = bundleService(
    join(work, 'spin'),
    `import { serve } from '@turbolift/runtime';\nimport { spin } from '${functions.replace(/\.ts$/, '')}';\nvoid serve(spin, { name: 'spin' });\n`,
  );
  const trivialMain = bundleService(
    join(work, 'trivial'),
    `import { serve } from '@turbolift/runtime';\nimport { trivial } from '${functions.replace(/\.ts$/, '')}';\nvoid serve(trivial, { name: 'trivial' });\n`,
  );
  const spinService = await startService(spinMain, 47813, { TURBOLIFT_WORKERS: '2' });
  const trivialService = await startService(trivialMain, 47814, { TURBOLIFT_WORKERS: '2' });
  process.env.TURBOLIFT_SPIN_URL = spinService.origin;
  process.env.TURBOLIFT_TRIVIAL_URL = trivialService.origin;

  const localSpin = (msEach) => {
    const end = performance.now() + msEach;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    return x > 0 ? 1 : 0;
  };
  const spin = liftedStub('spin', localSpin, { service: 'spin-service', timeoutMs: 120_000 });
  const trivial = liftedStub('trivial', (n) => n + 1, { service: 'trivial-service', timeoutMs: 120_000 });
  const ones = Array.from({ length: MAP_INPUTS }, () => 1);
  const numbers = Array.from({ length: MAP_INPUTS }, (_, i) => i);
  const inMode = (mode, run) => () => {
    process.env.TURBOLIFT_MODE = mode;
    return run();
  };
  const check = (results) => {
    if (results.length !== MAP_INPUTS) throw new Error(`got ${results.length} results for ${MAP_INPUTS} inputs`);
  };

  await inMode('distributed', () => spin.map(ones.slice(0, 500)))(); // warm-up
  const spinLocal = await best(inMode('local', async () => check(await spin.map(ones))));
  const spinBatched = await best(inMode('distributed', async () => check(await spin.map(ones))));
  const spinPerCall = await best(inMode('distributed', async () => check(await bounded(MAP_INPUTS, 64, () => spin(1)))));

  await inMode('distributed', () => trivial.map(numbers.slice(0, 500)))(); // warm-up
  const trivialBatched = await best(inMode('distributed', async () => check(await trivial.map(numbers))));
  const trivialPerCall = await best(inMode('distributed', async () => check(await bounded(MAP_INPUTS, 64, (i) => trivial(i)))));
  const perSecond = (elapsed) => ((MAP_INPUTS / elapsed) * 1000).toFixed(0);

  spinService.stop();
  trivialService.stop();
  return [
    `### map over ${MAP_INPUTS} inputs of a ~1 ms CPU-bound function (service: 2 workers)`,
    '',
    row(['contender', 'ms', 'inputs/s', 'vs local']),
    '|---|---|---|---|',
    row(['local, in-process (map)', ms(spinLocal), perSecond(spinLocal), '1.00×']),
    row(['distributed, map (batched)', ms(spinBatched), perSecond(spinBatched), ratio(spinLocal, spinBatched)]),
    row(['distributed, one call per input (64 in flight)', ms(spinPerCall), perSecond(spinPerCall), ratio(spinLocal, spinPerCall)]),
    '',
    `### map over ${MAP_INPUTS} trivial inputs (service: 2 workers)`,
    '',
    row(['contender', 'ms', 'inputs/s', 'vs one call per input']),
    '|---|---|---|---|',
    row(['one call per input (64 in flight)', ms(trivialPerCall), perSecond(trivialPerCall), '1.00×']),
    row(['map (batched)', ms(trivialBatched), perSecond(trivialBatched), ratio(trivialPerCall, trivialBatched)]),
    '',
  ].join('\n');
}

async function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const header =
    `Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores; loopback; best of ${ROUNDS}; ` +
    `1-minute load average at start ${loadavg()[0].toFixed(2)}.\n`;
  const sections = [header, await compressSection(), await mapSection()];
  console.log(sections.join('\n'));
  await closeConnections();
}

runBenchmark(main, children);
