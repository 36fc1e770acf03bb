// Images benchmark (part of `npm run bench`; alone: `npm run build && node scripts/bench-images.mjs`).
// In a fresh workspace (create-nx-workspace + the packed plugin) with 20 lifted functions and no npm
// dependencies, measures: the cold build of one function's image (no Nx cache, no such image in the engine),
// the warm run (Nx cache hit), what the image adds to its base image, and the no-change `nx affected -t
// build-image` for all 20, each next to a baseline measured in the same run and workspace. Prints Markdown.
// Needs the Docker engine, the loopback registry and the base image (tools/test-infra/up.sh, started here when
// missing and stopped again only if this script started it). Every repetition is bounded.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
const { ensureTestInfra, stopTestInfra } = require('../tools/test-infra/infra.cjs');

const FUNCTIONS = 20;
const ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 5);
const NX_VERSION = '22.7.8';
const keep = process.env.BENCH_KEEP === '1';

// No daemon, no TUI, no cloud: every measured command pays its own Nx start-up, as in CI.
const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', CI: 'true', FORCE_COLOR: '0' };
delete env.NX_SKIP_NX_CACHE;

function sh(command, args, cwd, timeoutMs = 10 * 60_000) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${cwd} failed (exit ${result.status ?? result.signal})\n` +
        `${(result.stdout ?? '').slice(-4000)}\n${(result.stderr ?? '').slice(-4000)}`,
    );
  }
  return result.stdout;
}

/** Wall time of one command, in ms. */
function timed(command, args, cwd) {
  const started = performance.now();
  const stdout = sh(command, args, cwd);
  return { ms: performance.now() - started, stdout };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
function medianOf(rounds, command, args, cwd) {
  const times = [];
  for (let i = 0; i < rounds; i++) times.push(timed(command, args, cwd).ms);
  return median(times);
}

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const log = (line) => process.stderr.write(`[bench-images] ${line}\n`);

function write(base, files) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), content);
  }
}

function commitAll(ws, message) {
  sh('git', ['add', '-A'], ws);
  sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-q', '--allow-empty', '-m', message], ws);
}

const fnName = (i) => `benchFn${String(i).padStart(2, '0')}`;
const serviceOf = (i) => ({ project: `@acme/${kebab(fnName(i))}-service`, root: `apps/lifted/${kebab(fnName(i))}-service` });

/** A fresh workspace as a user has it: create-nx-workspace, the packed plugin, 20 lifted functions. */
function makeWorkspace(scratch, infra) {
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  sh('npm', ['pack', '--pack-destination', tarballs, '-w', 'packages/runtime', '-w', 'packages/turbolift'], root);
  log('create-nx-workspace');
  sh(
    join(root, 'node_modules/.bin/create-nx-workspace'),
    ['acme', '--preset=ts', '--nxCloud=skip', '--no-interactive', '--packageManager=npm', '--skipGit=false'],
    scratch,
  );
  const ws = join(scratch, 'acme');
  const packed = readdirSync(tarballs).map((file) => join(tarballs, file));
  sh('npm', ['install', '--no-audit', '--no-fund', '-D', ...packed, `@nx/node@${NX_VERSION}`, 'esbuild@^0.25.9'], ws);

  const lib = ['--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive'];
  sh('npx', ['nx', 'g', '@nx/js:lib', 'packages/bench-app', ...lib], ws);
  const functions = Array.from({ length: FUNCTIONS }, (_, k) => {
    const i = k + 1;
    return `/** @lift */\nexport function ${fnName(i)}(xs: number[]): number {\n  return xs.reduce((acc, x) => acc + x * ${i}, 0);\n}\n`;
  }).join('\n');
  write(ws, { 'packages/bench-app/src/functions.ts': functions, 'packages/bench-app/src/index.ts': "export * from './functions.js';\n" });
  log(`lifting ${FUNCTIONS} functions`);
  sh('npx', ['nx', 'g', 'turbolift:lift', '--all', '--project=@acme/bench-app', '--no-interactive'], ws);
  sh('npm', ['install', '--no-audit', '--no-fund'], ws);
  const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
  nxJson.targetDefaults = { ...nxJson.targetDefaults, 'build-image': { options: { registry: infra.registry, push: true, baseImage: infra.baseImage } } };
  write(ws, { 'nx.json': JSON.stringify(nxJson, null, 2) + '\n' });
  commitAll(ws, 'bench: lifted functions');
  return ws;
}

function removeServiceImages(project) {
  const ids = spawnSync('docker', ['images', '-q', '--filter', `label=dev.turbolift.service=${project}`], { env, encoding: 'utf8' }).stdout ?? '';
  const unique = [...new Set(ids.split('\n').filter(Boolean))];
  if (unique.length) spawnSync('docker', ['rmi', '-f', ...unique], { env, stdio: 'ignore' });
}

const infraWasUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
const loadAtStart = loadavg()[0];
const scratch = mkdtempSync(join(tmpdir(), 'turbolift-bench-images-'));
let exitCode = 0;
try {
  const infra = ensureTestInfra();
  env.DOCKER_HOST = infra.dockerHost;
  const started = performance.now();
  const ws = makeWorkspace(scratch, infra);
  log(`workspace ready in ${seconds(performance.now() - started)}: ${ws}`);
  for (let i = 1; i <= FUNCTIONS; i++) removeServiceImages(serviceOf(i).project);

  const one = serviceOf(1);
  const nx = (...args) => ['nx', ...args];
  const nxShowProjects = medianOf(ROUNDS, 'npx', nx('show', 'projects'), ws);

  log('cold build of one image');
  const cold = timed('npx', nx('run', `${one.project}:build-image`), ws).ms;
  const record = JSON.parse(readFileSync(join(ws, 'dist', one.root, 'image.json'), 'utf8'));
  log('warm runs (Nx cache hit)');
  const warm = medianOf(ROUNDS, 'npx', nx('run', `${one.project}:build-image`), ws);
  const warmOutput = timed('npx', nx('run', `${one.project}:build-image`), ws).stdout;
  const warmWasHit = /local cache|existing outputs match the cache/.test(warmOutput);
  // What the same task costs when only the build (bundle) comes from the cache and the image is verified by
  // the executor itself instead of by Nx: the cost of not trusting Nx's cache at all.
  const verifyOnly = medianOf(ROUNDS, 'npx', nx('run', `${one.project}:build-image`, '--skip-nx-cache', '--excludeTaskDependencies'), ws);

  log(`building all ${FUNCTIONS} images`);
  const allCold = timed('npx', nx('run-many', '-t', 'build-image', '--parallel=2'), ws).ms;
  commitAll(ws, 'bench: built');
  const allWarm = medianOf(ROUNDS, 'npx', nx('run-many', '-t', 'build-image', '--parallel=2'), ws);
  const runManyNoop = medianOf(ROUNDS, 'npx', nx('run-many', '-t', 'noop-target-nobody-has'), ws);
  log('no-change affected');
  const affected = medianOf(ROUNDS, 'npx', nx('affected', '-t', 'build-image', '--base=HEAD'), ws);
  const affectedNoop = medianOf(ROUNDS, 'npx', nx('affected', '-t', 'noop-target-nobody-has', '--base=HEAD'), ws);

  const added = record.size - record.baseImageSize;
  const rows = [
    ['`nx show projects` (Nx start-up + project graph; baseline)', seconds(nxShowProjects), '1.00×'],
    [`cold \`nx run ${one.project}:build-image\` (bundle + image build + push; nothing cached)`, seconds(cold), `${(cold / nxShowProjects).toFixed(2)}×`],
    [
      `warm, same command (Nx cache hit${warmWasHit ? '' : ' — NOT observed'}, record consistency input checked)`,
      seconds(warm),
      `${(warm / nxShowProjects).toFixed(2)}×`,
    ],
    [
      'same, `--skip-nx-cache --excludeTaskDependencies` (executor verifies the image itself)',
      seconds(verifyOnly),
      `${(verifyOnly / nxShowProjects).toFixed(2)}×`,
    ],
    [`\`nx run-many -t build-image --parallel=2\`, ${FUNCTIONS} services, cold`, seconds(allCold), `${(allCold / nxShowProjects).toFixed(2)}×`],
    [`same, warm (all cache hits; ${FUNCTIONS} consistency checks)`, seconds(allWarm), `${(allWarm / nxShowProjects).toFixed(2)}×`],
    ['`nx run-many -t <target nobody has>` (baseline)', seconds(runManyNoop), `${(runManyNoop / nxShowProjects).toFixed(2)}×`],
    [
      `no-change \`nx affected -t build-image --base=HEAD\`, ${FUNCTIONS} services (goal < 3 s)`,
      seconds(affected),
      `${(affected / nxShowProjects).toFixed(2)}×`,
    ],
    ['no-change `nx affected -t <target nobody has> --base=HEAD` (baseline)', seconds(affectedNoop), `${(affectedNoop / nxShowProjects).toFixed(2)}×`],
  ];
  const lines = [
    '## Images (build-image)',
    '',
    `Command: \`npm run build && node scripts/bench-images.mjs\` (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ` +
      `Nx ${NX_VERSION}, ${cpus().length} cores, ` +
      `Docker engine ${spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8' }).stdout.trim()}, ` +
      `loopback registry ${infra.registry}, base image \`${infra.baseImage}\`). A fresh create-nx-workspace workspace with ${FUNCTIONS} lifted ` +
      `functions without npm dependencies; \`NX_DAEMON=false\`, so every command pays Nx's start-up; medians of ${ROUNDS} runs except the cold ones. ` +
      `1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end (the machine's other work shows here).`,
    '',
    '| what | time | vs `nx show projects` |',
    '|---|---:|---:|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    `Image size: \`${record.image}:${record.tag}\` is ${megabytes(record.size)}; its base \`${record.baseImage}\` is ${megabytes(record.baseImageSize)}; ` +
      `the function adds **${(added / 1e3).toFixed(1)} kB** (goal < 1 MB: ${added < 1e6 ? 'met' : 'NOT met'}).`,
    '',
    `No-change \`nx affected -t build-image\` for ${FUNCTIONS} services: ${seconds(affected)} (goal < 3 s: ${affected < 3000 ? 'met' : 'NOT met'}), ` +
      `${(affected / affectedNoop).toFixed(2)}× the same command with a target nobody has.`,
  ];
  console.log(lines.join('\n'));
  if (!keep) for (let i = 1; i <= FUNCTIONS; i++) removeServiceImages(serviceOf(i).project);
} catch (error) {
  console.error(`bench-images: ${error.message}`);
  exitCode = 1;
} finally {
  if (!keep) rmSync(scratch, { recursive: true, force: true });
  else log(`kept ${scratch}`);
  if (!infraWasUp && process.env.TURBOLIFT_KEEP_INFRA !== '1') stopTestInfra();
}
process.exit(exitCode);
