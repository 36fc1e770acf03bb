// `npm test`: starts the real parts once (Docker engine, image registry, Kubernetes test cluster), runs the
// unit suite (vitest) and the e2e suite (jest), stops what it started, and ends with one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = join(tmpdir(), 'turbolift-test-reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

function step(title, command, args, env = {}) {
  console.log(`\n▶ ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env }, encoding: 'utf8' });
  process.stdout.write(result.stdout ?? '');
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

function counts(file, passedKey, failedKey) {
  if (!existsSync(file)) return { passed: 0, failed: 1 };
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return { passed: report[passedKey] ?? 0, failed: report[failedKey] ?? 0 };
}

const keepInfra = process.env.TURBOLIFT_KEEP_INFRA === '1';
const env = { TURBOLIFT_TEST_INFRA: 'up', TURBOLIFT_REQUIRE_CLUSTER: '1' };
let exitCode = 1;
try {
  const infra = step('start Docker engine, registry and base image', 'bash', ['tools/test-infra/up.sh']);
  if (!infra.ok) throw new Error('tools/test-infra/up.sh failed');
  const cluster = step('start the Kubernetes test cluster', 'bash', ['tools/test-cluster/up.sh']);
  if (!cluster.ok) throw new Error('tools/test-cluster/up.sh failed');
  env.TURBOLIFT_TEST_KUBECONFIG = cluster.stdout.trim().split('\n').pop().trim();

  const unitReport = join(reports, 'unit.json');
  const unit = step('unit tests (vitest)', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${unitReport}`], env);
  const e2eReport = join(reports, 'e2e.json');
  const e2e = step('e2e tests (jest)', 'npx', ['jest', '--config', 'e2e/jest.config.cjs', '--runInBand', '--json', `--outputFile=${e2eReport}`], env);

  const u = counts(unitReport, 'numPassedTests', 'numFailedTests');
  const e = counts(e2eReport, 'numPassedTests', 'numFailedTests');
  const passed = u.passed + e.passed;
  const failed = u.failed + e.failed + (unit.ok ? 0 : u.failed ? 0 : 1) + (e2e.ok ? 0 : e.failed ? 0 : 1);
  console.log(`\ntests: ${passed} passed, ${failed} failed`);
  exitCode = unit.ok && e2e.ok ? 0 : 1;
} catch (error) {
  console.error(`\n${error.message}`);
  console.log('\ntests: 0 passed, 1 failed');
} finally {
  if (!keepInfra) {
    step('stop the Kubernetes test cluster', 'bash', ['tools/test-cluster/down.sh']);
    step('stop Docker engine and registry', 'bash', ['tools/test-infra/down.sh']);
  }
}
process.exit(exitCode);
