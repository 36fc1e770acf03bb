import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { SERVICE_ENV } from '@turbolift/runtime/contract';
import { bundleService } from '../../bundle/run-bundle';
import { registerServiceEndpoint, unregisterServiceEndpoint } from '../../service/endpoints';
import serveExecutor, { type ServeResult } from './executor';
import { STOPPED_TASK_EXIT_CODE, failedServeExitCode } from './task-exit';
import { clearEndpointsCache, findEndpoint } from '../../../../runtime/src/client/endpoints';
import { freePort } from '../../../../../tools/test-support/free-port';
import { isAlive } from '../../../../../tools/test-support/processes';

const RUNTIME_PACKAGE = join(__dirname, '../../../../runtime');

/**
 * A stand-in service bundle: real HTTP, the runtime's probe and env contract, nothing else. Like the
 * runtime, it binds $PORT (0 unless serve uses a fixed port) and then writes where it listens to
 * $TURBOLIFT_LISTEN_FILE, a temporary file renamed into place.
 */
const fakeService = `
const fs = require('node:fs');
const http = require('node:http');
if (process.env.FAKE_PID_FILE) fs.writeFileSync(process.env.FAKE_PID_FILE, String(process.pid));
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(Number(process.env.FAKE_READY_STATUS || 200)); return res.end('ok'); }
  if (req.url === '/pid') return res.end(String(process.pid));
  if (req.url === '/exit') return res.end('', () => process.exit(7));
  res.writeHead(200, { 'content-type': 'application/json' });
  const { TURBOLIFT_MODE: mode, HOST: host, TURBOLIFT_WORKERS: workers, TURBOLIFT_CALL_TIMEOUT_MS: callTimeoutMs } = process.env;
  const { TURBOLIFT_MAX_QUEUE: maxQueue, TURBOLIFT_TOKEN_DIR: tokenDir, TURBOLIFT_AUTH: auth } = process.env;
  res.end(JSON.stringify({ mode, host, workers, callTimeoutMs, maxQueue, tokenDir, auth, cwd: process.cwd() }));
});
server.listen(Number(process.env.PORT), process.env.HOST, () => {
  const file = process.env.${SERVICE_ENV.listenFile};
  if (!file) return;
  const { port } = server.address();
  fs.writeFileSync(file + '.tmp', JSON.stringify({ url: 'http://' + process.env.HOST + ':' + port, port, pid: process.pid }));
  fs.renameSync(file + '.tmp', file);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** The URL a serve that became ready reports. */
function readyUrl(result: IteratorResult<ServeResult>): string {
  expect(result.value).toEqual({ success: true, baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  return (result.value as ServeResult).baseUrl as string;
}

/** Waits for a condition with a generous bound (the machine may be busy). */
async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs serve to its end, which must be a failure after no success: returns the one line it printed. */
async function failureLine(run: AsyncGenerator<ServeResult>): Promise<string> {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const first = await run.next();
  expect(errors).toHaveBeenCalledTimes(1);
  const line = String(errors.mock.calls[0][0]);
  expect(first.value).toEqual({ success: false, reason: line.replace(/^serve: /, '') });
  expect((await run.next()).done).toBe(true);
  return line;
}

describe('serve', () => {
  let roots: string[] = [];
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    for (const root of roots) rmSync(root, { recursive: true, force: true });
    roots = [];
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** A workspace with the fake bundle; its turbolift.json names a free `port`, used by serves with fixedPort. */
  async function serviceWorkspace(): Promise<{ ws: string; port: number; context: ExecutorContext }> {
    const root = mkdtempSync(join(tmpdir(), 'turbolift-serve-'));
    roots.push(root);
    const port = await freePort();
    mkdirSync(join(root, 'apps/svc'), { recursive: true });
    mkdirSync(join(root, 'dist/apps/svc/bundle'), { recursive: true });
    writeFileSync(join(root, 'apps/svc/turbolift.json'), JSON.stringify({ function: 'compressAll', main: 'src/main.ts', port }));
    writeFileSync(join(root, 'dist/apps/svc/bundle/main.js'), fakeService);
    const context = {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'svc',
      projectsConfigurations: { version: 2, projects: { svc: { root: 'apps/svc' } } },
    } as unknown as ExecutorContext;
    return { ws: root, port, context };
  }

  const documentOf = (ws: string) => JSON.parse(readFileSync(join(ws, '.turbolift/endpoints.json'), 'utf8'));
  const endpointsOf = (ws: string) => documentOf(ws).endpoints;
  const call = (url: string) => fetch(`${url}/v1/call`, { method: 'POST', body: '[]' }).then((res) => res.json());

  it('is ready only once the service answers, registers it on the port it got, and on stop ends it and unregisters it', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    const url = readyUrl(await run.next());
    // A port the OS chose when the service bound it, not turbolift.json's.
    expect(url).not.toBe(`http://127.0.0.1:${port}`);
    const pid = Number(await fetch(`${url}/pid`).then((res) => res.text()));
    expect(documentOf(ws)).toEqual({ endpoints: { compressAll: url }, pids: { compressAll: pid } });
    const answer = await call(url);
    expect(answer).toEqual({ mode: 'local', host: '127.0.0.1', tokenDir: join(ws, '.turbolift'), cwd: ws });
    expect(readFileSync(join(ws, '.turbolift/.gitignore'), 'utf8')).toBe('*\n');
    // The workspace's caller token: made before the service started, for this user's eyes only.
    const token = join(ws, '.turbolift/token');
    expect(statSync(token).mode & 0o777).toBe(0o600);
    expect(readFileSync(token, 'utf8')).toMatch(/^[A-Za-z0-9_-]{43}\n$/);

    await run.return(undefined);
    expect(documentOf(ws)).toEqual({ endpoints: {} });
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  });

  it('serves the same function of two workspaces at once, each on its own port', async () => {
    const [one, two] = await Promise.all([serviceWorkspace(), serviceWorkspace()]);
    // Both turbolift.json files name the same port: a fixed port would collide.
    writeFileSync(join(two.ws, 'apps/svc/turbolift.json'), readFileSync(join(one.ws, 'apps/svc/turbolift.json')));
    const runs = [serveExecutor({}, one.context), serveExecutor({}, two.context)];
    const urls = await Promise.all(runs.map(async (run) => readyUrl(await run.next())));
    expect(urls[0]).not.toBe(urls[1]);
    expect(endpointsOf(one.ws)).toEqual({ compressAll: urls[0] });
    expect(endpointsOf(two.ws)).toEqual({ compressAll: urls[1] });
    expect(await Promise.all(urls.map(call))).toMatchObject([{ cwd: one.ws }, { cwd: two.ws }]);
    await Promise.all(runs.map((run) => run.return(undefined)));
  });

  it("serves on turbolift.json's port with fixedPort, or on the port option", async () => {
    const { port, context } = await serviceWorkspace();
    const run = serveExecutor({ fixedPort: true }, context);
    expect(readyUrl(await run.next())).toBe(`http://127.0.0.1:${port}`);
    await run.return(undefined);
    const other = await freePort();
    const optioned = serveExecutor({ fixedPort: true, port: other }, context);
    expect(readyUrl(await optioned.next())).toBe(`http://127.0.0.1:${other}`);
    expect(await call(`http://127.0.0.1:${other}`)).toMatchObject({ mode: 'local' });
    await optioned.return(undefined);
  });

  it('starts the service with the worker pool options as its env', async () => {
    const { context } = await serviceWorkspace();
    const run = serveExecutor({ workers: 2, callTimeoutMs: 5000, maxQueue: 4 }, context);
    const answer = await call(readyUrl(await run.next()));
    expect(answer).toMatchObject({ workers: '2', callTimeoutMs: '5000', maxQueue: '4' });
    await run.return(undefined);
  });

  it('keeps the workspace token across serves, and with auth false tells the service to accept every caller', async () => {
    const { ws, context } = await serviceWorkspace();
    const first = serveExecutor({}, context);
    await first.next();
    const token = readFileSync(join(ws, '.turbolift/token'), 'utf8');
    await first.return(undefined);
    const again = serveExecutor({}, context);
    await again.next();
    expect(readFileSync(join(ws, '.turbolift/token'), 'utf8')).toBe(token);
    await again.return(undefined);

    const open = serveExecutor({ auth: false }, context);
    const answer = await call(readyUrl(await open.next()));
    expect(answer).toMatchObject({ auth: 'off' });
    expect(answer.tokenDir).toBeUndefined();
    await open.return(undefined);
  });

  it('refuses a fixed port in use with one line naming the port and the project', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const holder = createServer().listen(port, '127.0.0.1');
    blocker = holder;
    await new Promise((resolve) => holder.once('listening', resolve));
    expect(await failureLine(serveExecutor({ fixedPort: true }, context))).toBe(
      `serve: port ${port} on 127.0.0.1 is already in use, so svc cannot listen there; ` +
        'stop what holds it, change "port" in apps/svc/turbolift.json, or serve it without "fixedPort" on a free port',
    );
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
    // Without fixedPort the port taken does not matter.
    const run = serveExecutor({}, context);
    readyUrl(await run.next());
    await run.return(undefined);
  });

  it('says which bundle is missing', async () => {
    const { ws, context } = await serviceWorkspace();
    rmSync(join(ws, 'dist'), { recursive: true });
    expect(await failureLine(serveExecutor({}, context))).toBe('serve: dist/apps/svc/bundle/main.js is missing: run "nx run svc:build" first');
  });

  it('says so when the service exits before it is ready, with its exit code', async () => {
    const { ws, port, context } = await serviceWorkspace();
    writeFileSync(join(ws, 'dist/apps/svc/bundle/main.js'), 'process.exit(3);\n');
    expect(await failureLine(serveExecutor({}, context))).toBe('serve: svc exited before it was ready (exit code 3)');
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
    vi.restoreAllMocks();
    expect(await failureLine(serveExecutor({ fixedPort: true }, context))).toBe(
      `serve: svc on http://127.0.0.1:${port} exited before it was ready (exit code 3)`,
    );
  });

  it('gives up on a service that does not get ready in time, and stops it', async () => {
    const { ws, context } = await serviceWorkspace();
    const pidFile = join(ws, 'service.pid');
    const run = serveExecutor({ readyTimeoutSeconds: 1, env: { FAKE_READY_STATUS: '503', FAKE_PID_FILE: pidFile } }, context);
    // On a busy machine the deadline may pass before the service listens: then it never said where, or never answered.
    expect(await failureLine(run)).toMatch(
      new RegExp(
        '^serve: svc (on http://127\\.0\\.0\\.1:\\d+ /readyz did not answer 200 within 1s \\(last: (503|no answer)\\)' +
          '|did not say which port it listens on within 1s .*)$',
      ),
    );
    if (existsSync(pidFile)) expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
  });

  it('refuses a project without turbolift.json', async () => {
    const { ws, context } = await serviceWorkspace();
    rmSync(join(ws, 'apps/svc/turbolift.json'));
    expect(await failureLine(serveExecutor({}, context))).toBe('serve: apps/svc/turbolift.json is missing: serve runs lifted services only');
  });

  it('refuses to run without a project, and options out of range', async () => {
    const { context } = await serviceWorkspace();
    expect(await failureLine(serveExecutor({}, { ...context, projectName: undefined }))).toBe('serve: serve must run as a target of a project');
    vi.restoreAllMocks();
    expect(await failureLine(serveExecutor({ port: 0 }, context))).toBe('serve: serve options of svc: port must be a whole number from 1 to 65535, got 0');
  });

  it('on stop ends the service process and removes its entry', async () => {
    const { ws, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    const url = readyUrl(await run.next());
    const pid = Number(await fetch(`${url}/pid`).then((res) => res.text()));
    expect(isAlive(pid)).toBe(true);
    await run.return(undefined);
    expect(isAlive(pid)).toBe(false);
    expect(endpointsOf(ws)).toEqual({});
  });

  it('reports a service that exits after it was ready, and removes its entry', async () => {
    const { ws, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    const url = readyUrl(await run.next());
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await fetch(`${url}/exit`);
    expect((await run.next()).value).toEqual({ success: false });
    expect(errors).toHaveBeenCalledWith('serve: svc stopped (exit code 7)');
    expect(endpointsOf(ws)).toEqual({});
    expect((await run.next()).done).toBe(true);
  });

  it('leaves an entry that stubs know for stale when it is killed, and the next serve replaces it', async () => {
    const { ws, context } = await serviceWorkspace();
    // serve as the Nx task process runs it: its own process, with the service as its child, killed together.
    const script = join(ws, 'serve-task.cjs');
    buildSync({
      entryPoints: [join(__dirname, 'executor.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      outfile: join(ws, 'executor.cjs'),
      logLevel: 'error',
    });
    writeFileSync(
      script,
      [
        "const serve = require('./executor.cjs').default;",
        'const context = JSON.parse(process.argv[2]);',
        '(async () => { for await (const result of serve({}, context)) console.log(`RESULT ${JSON.stringify(result)}`); })();',
        '',
      ].join('\n'),
    );
    const task = spawn(process.execPath, [script, JSON.stringify(context)], {
      cwd: ws,
      detached: true,
      env: { ...process.env, NODE_PATH: join(__dirname, '../../../../../node_modules') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => task.once('exit', resolve));
    let output = '';
    task.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await until(`the serve task to be ready\n${output}`, () => output.includes('RESULT {"success":true'));
      const { endpoints, pids } = documentOf(ws);
      const servicePid = pids.compressAll as number;
      expect(isAlive(servicePid)).toBe(true);
      process.kill(-(task.pid as number), 'SIGKILL');
      await exited;
      await until('the service to be gone', () => !isAlive(servicePid));
      // Nothing cleaned up: the entry is still there, and the stub skips it, saying why.
      expect(documentOf(ws)).toEqual({ endpoints, pids: { compressAll: servicePid } });
      clearEndpointsCache();
      expect(() => findEndpoint('compressAll', { service: 'svc' }, {}, ws)).toThrow(
        `compressAll's entry in ${join(ws, '.turbolift/endpoints.json')} belongs to process ${servicePid}, ` +
          'which is no longer running: start its service (nx serve svc)',
      );

      const logs = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      const run = serveExecutor({}, context);
      const url = readyUrl(await run.next());
      expect(logs.mock.calls[0][0]).toBe(
        `serve: removed compressAll's stale entry ${endpoints.compressAll} from .turbolift/endpoints.json: its process ${servicePid} is no longer running`,
      );
      clearEndpointsCache();
      expect(findEndpoint('compressAll', { service: 'svc' }, {}, ws)).toMatchObject({ url, source: 'file' });
      await run.return(undefined);
    } finally {
      if (task.exitCode === null && task.signalCode === null) process.kill(-(task.pid as number), 'SIGKILL');
      await exited;
    }
  });

  it('learns the port from a service built on the runtime', async () => {
    const { ws, context } = await serviceWorkspace();
    mkdirSync(join(ws, 'apps/svc/src'));
    writeFileSync(
      join(ws, 'apps/svc/src/main.ts'),
      [
        "import { serve } from '@turbolift/runtime';",
        'export function compressAll(text: string): string { return text.toUpperCase(); }',
        'void serve(compressAll);',
        '',
      ].join('\n'),
    );
    mkdirSync(join(ws, 'node_modules/@turbolift'), { recursive: true });
    symlinkSync(RUNTIME_PACKAGE, join(ws, 'node_modules/@turbolift/runtime'));
    await bundleService(
      { workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/apps/svc/bundle', external: [], sourcemap: false, minify: false },
      'svc',
    );
    const logs = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const run = serveExecutor({ workers: 0 }, context);
    const url = readyUrl(await run.next());
    expect(logs).toHaveBeenCalledWith(`serve: svc (compressAll) ready at ${url}, registered in .turbolift/endpoints.json`);
    const token = readFileSync(join(ws, '.turbolift/token'), 'utf8').trim();
    const response = await fetch(`${url}/v1/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '["lifted"]',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('LIFTED');
    await run.return(undefined);
    expect(endpointsOf(ws)).toEqual({});
  });

  describe('as the Nx task process of its target', () => {
    /** The workspace as Nx runs serve in it: its own nx at `nxVersion`, the task named in the environment. */
    async function taskProcess(nxVersion: string) {
      const workspace = await serviceWorkspace();
      mkdirSync(join(workspace.ws, 'node_modules/nx'), { recursive: true });
      writeFileSync(join(workspace.ws, 'node_modules/nx/package.json'), JSON.stringify({ name: 'nx', version: nxVersion }));
      vi.stubEnv('NX_TASK_TARGET_PROJECT', 'svc');
      vi.stubEnv('NX_TASK_TARGET_TARGET', 'serve');
      const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
      return { ...workspace, context: { ...workspace.context, targetName: 'serve' } as ExecutorContext, exit };
    }

    async function holdPort(port: number) {
      const holder = createServer().listen(port, '127.0.0.1');
      blocker = holder;
      await new Promise((resolve) => holder.once('listening', resolve));
    }

    it.each(['21.6.11', '23.3.2'])('under Nx %s a serve that cannot start exits as a stopped task, after its reason', async (nxVersion) => {
      const { port, context, exit } = await taskProcess(nxVersion);
      await holdPort(port);
      const run = serveExecutor({ fixedPort: true }, context);
      expect((await run.next()).value).toMatchObject({ success: false, reason: expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`) });
      expect(exit).not.toHaveBeenCalled();
      expect((await run.next()).done).toBe(true);
      expect(exit).toHaveBeenCalledExactlyOnceWith(STOPPED_TASK_EXIT_CODE);
    });

    it('under Nx 22 leaves the exit to Nx, which reports the failed result as a failure', async () => {
      const { port, context, exit } = await taskProcess('22.7.8');
      await holdPort(port);
      expect(await failureLine(serveExecutor({ fixedPort: true }, context))).toMatch(/^serve: port \d+ on 127\.0\.0\.1 is already in use/);
      expect(exit).not.toHaveBeenCalled();
    });

    it('exits as a stopped task when the service exits after it was ready', async () => {
      const { context, exit } = await taskProcess('23.3.2');
      const run = serveExecutor({}, context);
      const url = readyUrl(await run.next());
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      await fetch(`${url}/exit`);
      expect((await run.next()).value).toEqual({ success: false });
      expect((await run.next()).done).toBe(true);
      expect(exit).toHaveBeenCalledExactlyOnceWith(STOPPED_TASK_EXIT_CODE);
    });

    it('does not end the process on a stop, nor when another target runs serve in its own process', async () => {
      const { port, context, exit } = await taskProcess('23.3.2');
      const run = serveExecutor({}, context);
      readyUrl(await run.next());
      await run.return(undefined);
      vi.stubEnv('NX_TASK_TARGET_TARGET', 'e2e');
      await holdPort(port);
      expect(await failureLine(serveExecutor({ fixedPort: true }, context))).toMatch(/already in use/);
      expect(exit).not.toHaveBeenCalled();
    });
  });

  it('needs its own exit code on every Nx but 22, prereleases included', () => {
    expect(['21.0.0', '21.6.11', '23.0.0-rc.4', '23.3.2', '24.0.6', 'x', undefined].map(failedServeExitCode)).toEqual(Array(7).fill(STOPPED_TASK_EXIT_CODE));
    expect(['22.0.0', '22.7.8'].map(failedServeExitCode)).toEqual([undefined, undefined]);
  });
});

describe('endpoints file under concurrent serves', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('keeps every registration when many processes register at once', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'turbolift-endpoints-'));
    root = ws;
    const script = join(ws, 'register.cjs');
    // The module as compiled code, run by separate processes as separate serve tasks would.
    buildSync({
      entryPoints: [join(__dirname, '../../service/endpoints.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: join(ws, 'endpoints.cjs'),
      logLevel: 'error',
    });
    writeFileSync(
      script,
      "const { registerServiceEndpoint } = require('./endpoints.cjs');\nregisterServiceEndpoint(process.argv[2], process.argv[3], process.argv[4]);\n",
    );
    const file = join(ws, '.turbolift/endpoints.json');
    const names = Array.from({ length: 12 }, (_, i) => `fn${i}`);
    await Promise.all(
      names.map(
        (name, i) =>
          new Promise<void>((resolve, reject) =>
            spawn(process.execPath, [script, ws, name, `http://127.0.0.1:${5000 + i}`], { stdio: 'inherit' }).once('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`register ${name} exited ${code}`)),
            ),
          ),
      ),
    );
    const endpoints = JSON.parse(readFileSync(file, 'utf8')).endpoints;
    expect(Object.keys(endpoints).sort()).toEqual([...names].sort());
    unregisterServiceEndpoint({ file, fn: 'fn0', url: 'http://127.0.0.1:5000' });
    registerServiceEndpoint(ws, 'extra', 'http://127.0.0.1:6000');
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).endpoints)).toHaveLength(12);
    expect(
      execFileSync('ls', ['-A', join(ws, '.turbolift')], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual(['.gitignore', 'endpoints.json']);
  });
});
