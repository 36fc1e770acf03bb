import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eRoot, repoRoot } from './paths';
import { run } from './run';

/**
 * The real parts the suites need. `npm test` starts them once (scripts/test.mjs) and exports where they are;
 * a suite run on its own starts them here, and the global teardown stops only what this file started.
 */
const startedMarker = () => join(e2eRoot(), 'infra-started-by-e2e.json');

function markStarted(piece: string): void {
  const started: string[] = existsSync(startedMarker()) ? JSON.parse(readFileSync(startedMarker(), 'utf8')) : [];
  if (!started.includes(piece)) writeFileSync(startedMarker(), JSON.stringify([...started, piece]));
}

/** Runs tools/test-infra/up.sh (with its arguments) and exports what it prints (`export KEY=value` lines). */
function upTestInfra(args: string[]): void {
  const started = run('bash', [join(repoRoot, 'tools/test-infra/up.sh'), ...args], { cwd: repoRoot, timeoutMs: 10 * 60 * 1000 });
  for (const [, key, value] of started.stdout.matchAll(/^export (\w+)=(.*)$/gm)) process.env[key] = value.replace(/^(['"])(.*)\1$/, '$2');
}

/** Docker engine + image registry on 127.0.0.1:5000 + the local Node base image (and the npm registry). */
export function ensureDocker(): void {
  if (process.env.TURBOLIFT_TEST_INFRA === 'up' && process.env.TURBOLIFT_TEST_BASE_IMAGE) return;
  upTestInfra([]);
  process.env.TURBOLIFT_TEST_INFRA = 'up';
  markStarted('test-infra');
}

const infraStateDir = () => process.env.TURBOLIFT_TEST_INFRA_DIR ?? '/tmp/turbolift-test-infra';

/** The PID up.sh recorded for one of the things it started, if any. */
function startedPid(name: string): string | undefined {
  const file = join(infraStateDir(), 'started');
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find(([n]) => n === name)?.[1];
}

const npmRegistryAnswers = (url: string) => spawnSync('curl', ['-fsS', '-o', '/dev/null', '--max-time', '3', `${url}-/ping`], { stdio: 'ignore' }).status === 0;

export interface NpmRegistry {
  /** e.g. http://127.0.0.1:4873/ (with the trailing slash npm config keys need) */
  url: string;
  /** a token of the registry's test user, which may publish turbolift and @turbolift/* */
  token: string;
}

/**
 * The local npm registry (verdaccio, from tools/test-infra): reused when up.sh already started it (npm test
 * exports where), else started alone (`up.sh npm-registry`: no engine, no image registries) and, when this
 * run is the one that started it, stopped by the global teardown.
 */
export function ensureNpmRegistry(): NpmRegistry {
  const exported = process.env.TURBOLIFT_TEST_NPM_REGISTRY;
  const tokenFile = process.env.TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE;
  if (!(exported && tokenFile && existsSync(tokenFile) && npmRegistryAnswers(exported))) {
    const before = startedPid('npm-registry');
    upTestInfra(['npm-registry']);
    const after = startedPid('npm-registry');
    if (after && after !== before) markStarted('npm-registry');
  }
  return { url: infraSetting('TURBOLIFT_TEST_NPM_REGISTRY'), token: readFileSync(infraSetting('TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE'), 'utf8').trim() };
}

function infraSetting(key: string): string {
  const value = process.env[key];
  if (!value) throw new Error(`${key} is not set: call ensureDocker() first (it runs tools/test-infra/up.sh and exports it)`);
  return value;
}

/** The loopback image registry (e.g. 127.0.0.1:5000) and the local Node base image, as up.sh reported them. */
export const testRegistry = () => infraSetting('TURBOLIFT_TEST_REGISTRY');
export const testBaseImage = () => infraSetting('TURBOLIFT_TEST_BASE_IMAGE');

/** A real single-node cluster; returns its kubeconfig path. */
export function ensureCluster(): string {
  ensureDocker();
  const existing = process.env.TURBOLIFT_TEST_KUBECONFIG;
  if (existing && existsSync(existing)) return existing;
  const result = run('bash', [join(repoRoot, 'tools/test-cluster/up.sh')], { cwd: repoRoot, timeoutMs: 20 * 60 * 1000 });
  const kubeconfig = result.stdout.trim().split('\n').pop()!.trim();
  if (!existsSync(kubeconfig)) throw new Error(`tools/test-cluster/up.sh did not print a kubeconfig path; it printed:\n${result.output}`);
  process.env.TURBOLIFT_TEST_KUBECONFIG = kubeconfig;
  markStarted('test-cluster');
  return kubeconfig;
}

export function stopInfrastructure(): void {
  if (!existsSync(startedMarker())) return;
  const started: string[] = JSON.parse(readFileSync(startedMarker(), 'utf8'));
  // 'npm-registry' is the part of test-infra that `up.sh npm-registry` starts alone; its down.sh stops it alone.
  const downCommand = (piece: string) => (piece === 'npm-registry' ? ['tools/test-infra/down.sh', 'npm-registry'] : [`tools/${piece}/down.sh`]);
  for (const piece of [...started].reverse()) {
    const [script, ...args] = downCommand(piece);
    run('bash', [join(repoRoot, script), ...args], { cwd: repoRoot, expectFailure: false, timeoutMs: 5 * 60 * 1000 });
  }
  rmSync(startedMarker(), { force: true });
}
