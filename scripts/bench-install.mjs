// Install benchmark (`npm run bench:install`): for npm, yarn (berry, node-modules linker) and pnpm, on this
// machine's node and Nx 22.7.8, the time from a user's existing workspace (create-nx-workspace + a library with
// a function, not timed) to the first distributed call: add turbolift from the local npm registry → lift (and
// the install it asks for) → build → serve → first call. Each package manager runs twice on copies of the
// same workspace: "cold" with a cache of its own that holds the workspace's packages but none of turbolift's,
// "warm" with that cache after the cold run. The registry (verdaccio) serves what earlier runs fetched.
// Needs the local npm registry: tools/test-infra/up.sh (or `up.sh npm-registry`); says so when it is not up.
// Uses the e2e helpers (e2e/support/first-call.ts and what it uses), bundled here with esbuild. Prints Markdown.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSync } from 'esbuild';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
const NX_VERSION = '22.7.8';
const MANAGERS = (process.env.BENCH_INSTALL_MANAGERS ?? 'npm,yarn,pnpm').split(',');
const keep = process.env.BENCH_KEEP === '1';
const log = (line) => process.stderr.write(`[bench-install] ${line}\n`);

const registryUrl = process.env.TURBOLIFT_TEST_NPM_REGISTRY ?? 'http://127.0.0.1:4873/';
const stateDir = process.env.TURBOLIFT_TEST_INFRA_DIR ?? '/tmp/turbolift-test-infra';
process.env.TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE ??= join(stateDir, 'npm-registry/token');
const pings = spawnSync('curl', ['-fsS', '-o', '/dev/null', '--max-time', '3', `${registryUrl}-/ping`], { stdio: 'ignore' }).status === 0;
if (!pings || !existsSync(process.env.TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE)) {
  console.error(
    `bench-install needs the local npm registry at ${registryUrl} and its token (${process.env.TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE}).\n` +
      'Start it with `eval "$(tools/test-infra/up.sh npm-registry)"` (or the whole test infrastructure with tools/test-infra/up.sh), then run this again.',
  );
  process.exit(1);
}
process.env.TURBOLIFT_TEST_NPM_REGISTRY = registryUrl;

const scratch = mkdtempSync(join(tmpdir(), 'turbolift-bench-install-'));
process.env.TURBOLIFT_E2E_DIR = scratch;

// The e2e helpers are TypeScript; bundle them once (their __dirname is e2e/support) into node_modules/.cache,
// where the bundle still finds the repository's packages (esbuild, which the helpers use, stays external).
const supportBundle = join(root, 'node_modules/.cache/turbolift-bench-install', `support-${process.pid}.cjs`);
buildSync({
  stdin: {
    contents: ['first-call', 'node-versions', 'package-managers', 'registry'].map((module) => `export * from './${module}';`).join('\n'),
    resolveDir: join(root, 'e2e/support'),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['esbuild'],
  define: { __dirname: JSON.stringify(join(root, 'e2e/support')) },
  outfile: supportBundle,
  logLevel: 'error',
});
const support = require(supportBundle);

/** Settings that give a package manager a cache folder of its own (packages and metadata). */
function cacheEnv(pm, dir) {
  switch (pm) {
    case 'npm':
      return { npm_config_cache: dir };
    case 'yarn':
      return { YARN_ENABLE_GLOBAL_CACHE: 'false', YARN_CACHE_FOLDER: join(dir, 'cache'), YARN_GLOBAL_FOLDER: join(dir, 'global') };
    case 'pnpm':
      return { npm_config_store_dir: join(dir, 'store'), npm_config_cache_dir: join(dir, 'metadata') };
  }
  throw new Error(`unknown package manager ${pm}`);
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function firstCall(setup, ws) {
  const phases = {};
  let mark = performance.now();
  const phase = (name) => {
    phases[name] = performance.now() - mark;
    mark = performance.now();
  };
  const started = performance.now();
  support.addPlugin(setup, ws);
  phase('add');
  const service = support.liftFunction(setup, ws);
  phase('lift');
  support.buildService(setup, ws, service);
  phase('build');
  const served = await support.serveService(setup, ws, service);
  phase('serve');
  try {
    const result = support.callApp(setup, ws, 'distributed');
    phase('call');
    const expected = support.expectedResult(setup.node);
    if (JSON.stringify(result) !== JSON.stringify(expected))
      throw new Error(`the distributed call answered ${JSON.stringify(result)}, not ${JSON.stringify(expected)}`);
  } finally {
    await served.services.stop();
  }
  phases.total = performance.now() - started;
  return phases;
}

const rows = [];
try {
  const registry = support.publishPlugin();
  log(`published turbolift ${registry.version} to ${registry.url}`);
  const node = support.ensureNode('machine', registry.url);
  for (const name of MANAGERS) {
    try {
      await benchManager(name, registry, node);
    } catch (error) {
      // One package manager's failure is a row of the table (with its first line), not the end of the run.
      // The package manager's own error line says more than the command that failed.
      const lines = String(error.message ?? error).split('\n');
      const cause = lines.find((line) => /ERR_PNPM|YN0001|YN0016|npm error code|Error:/.test(line));
      const reason = (cause ?? lines[0]).trim().slice(0, 300);
      log(`${name} failed: ${String(error.message ?? error).slice(0, 4000)}`);
      rows.push({ name, cache: '-', failed: reason });
    }
  }
} finally {
  rmSync(supportBundle, { force: true });
  if (!keep) rmSync(scratch, { recursive: true, force: true });
}

async function benchManager(name, registry, node) {
  const pm = support.ensurePackageManager(name, registry.url);
  const setup = { nx: NX_VERSION, node, pm, registry, env: cacheEnv(name, join(scratch, `cache-${name}`)) };
  log(`${name} ${pm.version}: create-nx-workspace@${NX_VERSION} + library (not timed)`);
  const createdAt = performance.now();
  const ws = support.createUserWorkspace(setup, join(scratch, name));
  const created = performance.now() - createdAt;
  const warmWs = join(scratch, `${name}-warm`, 'acme');
  cpSync(ws, warmWs, { recursive: true, verbatimSymlinks: true });
  for (const [cache, dir] of [
    ['cold', ws],
    ['warm', warmWs],
  ]) {
    log(`${name}: add → lift → build → serve → first call (${cache} cache)`);
    const phases = await firstCall(setup, dir);
    rows.push({ name: `${name} ${pm.version}`, cache, created, ...phases });
    log(`${name} (${cache}): ${seconds(phases.total)}`);
  }
}

console.log(`\n### Install to first distributed call (Nx ${NX_VERSION}, node ${process.version}, ${cpus().length} cores, load ${loadavg()[0].toFixed(1)})\n`);
console.log(
  '| package manager | cache | add turbolift | lift + install | build | serve | first call | total | (create-nx-workspace + library, not in total) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.failed) {
    console.log(`| ${r.name} | - | failed: ${r.failed.replace(/\|/g, '\\|')} |||||||`);
    continue;
  }
  const cells = [r.name, r.cache, ...[r.add, r.lift, r.build, r.serve, r.call, r.total].map(seconds), r.cache === 'cold' ? seconds(r.created) : ''];
  console.log(`| ${cells.join(' | ')} |`);
}
