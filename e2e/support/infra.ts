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

/** Docker engine + image registry on 127.0.0.1:5000 + the local Node base image. */
export function ensureDocker(): void {
  if (process.env.TURBOLIFT_TEST_INFRA === 'up' && process.env.TURBOLIFT_TEST_BASE_IMAGE) return;
  const started = run('bash', [join(repoRoot, 'tools/test-infra/up.sh')], { cwd: repoRoot, timeoutMs: 10 * 60 * 1000 });
  // up.sh prints `export KEY=value` lines: where the engine, the registry and the base image are.
  for (const [, key, value] of started.stdout.matchAll(/^export (\w+)=(.*)$/gm)) process.env[key] = value.replace(/^(['"])(.*)\1$/, '$2');
  process.env.TURBOLIFT_TEST_INFRA = 'up';
  markStarted('test-infra');
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
  for (const piece of [...started].reverse()) {
    run('bash', [join(repoRoot, `tools/${piece}/down.sh`)], { cwd: repoRoot, expectFailure: false, timeoutMs: 5 * 60 * 1000 });
  }
  rmSync(startedMarker(), { force: true });
}
