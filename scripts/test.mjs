// `npm test`: checks lint and format, starts the real parts once (Docker engine, image registry, Kubernetes
// test cluster), runs the unit suite (vitest) and the e2e suite (jest), stops what it started, and ends with
// one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = join(tmpdir(), 'turbolift-test-reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

/** Runs one step with its output shown as it comes; `capture` keeps stdout instead (the kubeconfig path). */
function step(title, command, args, env = {}, capture = false) {
  console.log(`\n▶ ${title}`);
  const stdio = ['ignore', capture ? 'pipe' : 'inherit', 'inherit'];
  const result = spawnSync(command, args, { cwd: root, stdio, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

function counts(file, passedKey, failedKey) {
  if (!existsSync(file)) return { passed: 0, failed: 1 };
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return { passed: report[passedKey] ?? 0, failed: report[failedKey] ?? 0 };
}

const succeeds = (command, args) => spawnSync(command, args, { stdio: 'ignore', timeout: 15_000 }).status === 0;
const clusterKubeconfig = join(process.env.TURBOLIFT_CLUSTER_STATE ?? '/tmp/turbolift-test-cluster', 'kubeconfig');
// What was already running before the tests (a developer's own setup) is left running afterwards.
const alreadyUp = {
  infra: succeeds('docker', ['info']) && succeeds('curl', ['-sf', 'http://127.0.0.1:5000/v2/']),
  cluster: existsSync(clusterKubeconfig) && succeeds('kubectl', ['--kubeconfig', clusterKubeconfig, 'get', '--raw', '/readyz']),
};
const keepInfra = process.env.TURBOLIFT_KEEP_INFRA === '1';
const env = { TURBOLIFT_TEST_INFRA: 'up', TURBOLIFT_REQUIRE_CLUSTER: '1' };
let exitCode = 1;
// First and fast: a lint or format failure is reported with the tests, not instead of them.
const lint = step('lint and format (eslint, prettier)', 'npm', ['run', '--silent', 'lint']);
try {
  const infra = step('start Docker engine, registry and base image', 'bash', ['tools/test-infra/up.sh'], {}, true);
  if (!infra.ok) throw new Error('tools/test-infra/up.sh failed');
  // up.sh prints `export KEY=value` lines: where the engine, the registry and the base image are.
  for (const [, key, value] of infra.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[key] = value.replace(/^(['"])(.*)\1$/, '$2');
  const cluster = step('start the Kubernetes test cluster', 'bash', ['tools/test-cluster/up.sh'], {}, true);
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
  console.log(`\ntests: ${passed} passed, ${failed} failed${lint.ok ? '' : '; lint or format failed (npm run lint)'}`);
  exitCode = unit.ok && e2e.ok && lint.ok ? 0 : 1;
} catch (error) {
  console.error(`\n${error.message}`);
  console.log('\ntests: 0 passed, 1 failed');
} finally {
  if (!keepInfra && !alreadyUp.cluster) step('stop the Kubernetes test cluster', 'bash', ['tools/test-cluster/down.sh']);
  if (!keepInfra && !alreadyUp.infra) step('stop Docker engine and registry', 'bash', ['tools/test-infra/down.sh']);
}
process.exit(exitCode);
