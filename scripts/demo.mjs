// `npm run demo`: the whole story on the example, with no cluster.
//   1. copy examples/text-compress to a scratch folder and lift its marked compression step;
//   2. run the app in local mode (the stub calls the function in-process);
//   3. start the lifted service with `nx run-many -t serve` and run the app in distributed mode;
//   4. check both modes print the same result, and print the time of each and the speed-up.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repository so the scratch workspace resolves nx, turbolift and @turbolift/runtime from its node_modules.
const scratch = join(repo, 'tmp', 'demo', 'text-compress');
const nxBin = join(repo, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };

function nx(args, extraEnv = {}) {
  const result = spawnSync(process.execPath, [nxBin, ...args], { cwd: scratch, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}\n${result.stderr}`);
    throw new Error(`nx ${args.join(' ')} failed (exit ${result.status})`);
  }
  return result.stdout;
}

function runApp(mode) {
  const output = nx(['run', 'text-compress:start', '--output-style=stream'], { TURBOLIFT_MODE: mode });
  const valueAfter = (prefix) => {
    const line = output.split('\n').find((l) => l.includes(prefix));
    return line?.slice(line.indexOf(prefix) + prefix.length);
  };
  const result = valueAfter('RESULT ');
  if (!result) throw new Error(`the app printed no result in ${mode} mode:\n${output}`);
  return { result, time: valueAfter('time: '), bytes: valueAfter('bytes: ') };
}

async function waitForEndpoint(fn, services, timeoutMs = 120_000) {
  const file = join(scratch, '.turbolift', 'endpoints.json');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (services.exitCode !== null) throw new Error(`nx run-many -t serve exited (${services.exitCode}):\n${services.log}`);
    if (existsSync(file)) {
      const url = JSON.parse(readFileSync(file, 'utf8')).endpoints?.[fn];
      if (url) return url;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the ${fn} service did not register in ${file} within ${timeoutMs / 1000} s:\n${services.log}`);
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  const force = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 15_000);
  return exited.finally(() => clearTimeout(force));
}

async function main() {
  rmSync(scratch, { recursive: true, force: true });
  cpSync(join(repo, 'examples', 'text-compress'), scratch, { recursive: true });
  console.log(`1. lifting compressAll in a copy of examples/text-compress (${scratch})`);
  process.stdout.write(nx(['g', 'turbolift:lift', 'compressAll', '--no-interactive']).replace(/^/gm, '   '));

  console.log('2. running the app in local mode (in-process)');
  const local = runApp('local');
  console.log(`   ${local.bytes}; ${local.time}`);

  console.log('3. starting the lifted service: nx run-many -t serve');
  const services = spawn(process.execPath, [nxBin, 'run-many', '-t', 'serve', '--output-style=stream'], { cwd: scratch, env, detached: true });
  services.log = '';
  services.stdout.on('data', (d) => (services.log += d));
  services.stderr.on('data', (d) => (services.log += d));
  try {
    const url = await waitForEndpoint('compressAll', services);
    console.log(`   compressAll is served at ${url}`);
    console.log('4. running the app in distributed mode (calls go over HTTP to the service)');
    const distributed = runApp('distributed');
    console.log(`   ${distributed.bytes}; ${distributed.time}`);
    if (distributed.result !== local.result)
      throw new Error(`distributed result differs from local:\n  local:       ${local.result}\n  distributed: ${distributed.result}`);
    console.log(`\nsame result in both modes: ${local.result}`);
    // The service runs compressAll in a pool of worker threads, one per CPU: chunks compress side by side.
    const speedUp = Number.parseFloat(local.time) / Number.parseFloat(distributed.time);
    console.log(`time: local ${local.time}, distributed ${distributed.time} (${speedUp.toFixed(2)}× local)`);
  } finally {
    await stop(services);
  }
}

main().catch((error) => {
  console.error(`\ndemo failed: ${error.message}`);
  process.exit(1);
});
