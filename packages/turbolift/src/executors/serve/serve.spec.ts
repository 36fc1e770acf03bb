import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { registerServiceEndpoint, unregisterServiceEndpoint } from '../../service/endpoints';
import serveExecutor, { type ServeResult } from './executor';
import { STOPPED_TASK_EXIT_CODE, failedServeExitCode } from './task-exit';
import { freePort } from '../../../../../tools/test-support/free-port';
import { isAlive } from '../../../../../tools/test-support/processes';

/** A stand-in service bundle: real HTTP, the runtime's probe and env contract, nothing else. */
const fakeService = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(Number(process.env.FAKE_READY_STATUS || 200)); return res.end('ok'); }
  if (req.url === '/pid') return res.end(String(process.pid));
  if (req.url === '/exit') return res.end('', () => process.exit(7));
  res.writeHead(200, { 'content-type': 'application/json' });
  const { TURBOLIFT_MODE: mode, HOST: host, TURBOLIFT_WORKERS: workers, TURBOLIFT_CALL_TIMEOUT_MS: callTimeoutMs } = process.env;
  const { TURBOLIFT_MAX_QUEUE: maxQueue, TURBOLIFT_TOKEN_DIR: tokenDir, TURBOLIFT_AUTH: auth } = process.env;
  res.end(JSON.stringify({ mode, host, workers, callTimeoutMs, maxQueue, tokenDir, auth }));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

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
  let root: string | undefined;
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    if (root) rmSync(root, { recursive: true, force: true });
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  async function serviceWorkspace(): Promise<{ ws: string; port: number; context: ExecutorContext }> {
    root = mkdtempSync(join(tmpdir(), 'turbolift-serve-'));
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

  const endpointsOf = (ws: string) => JSON.parse(readFileSync(join(ws, '.turbolift/endpoints.json'), 'utf8')).endpoints;

  it('is ready only once the service answers, registers it, and on stop ends it and unregisters it', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    const first = await run.next();
    expect(first.value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
    expect(endpointsOf(ws)).toEqual({ compressAll: `http://127.0.0.1:${port}` });
    const answer = await fetch(`http://127.0.0.1:${port}/v1/call`, { method: 'POST', body: '[]' }).then((res) => res.json());
    expect(answer).toEqual({ mode: 'local', host: '127.0.0.1', tokenDir: join(ws, '.turbolift') });
    expect(readFileSync(join(ws, '.turbolift/.gitignore'), 'utf8')).toBe('*\n');
    // The workspace's caller token: made before the service started, for this user's eyes only.
    const token = join(ws, '.turbolift/token');
    expect(statSync(token).mode & 0o777).toBe(0o600);
    expect(readFileSync(token, 'utf8')).toMatch(/^[A-Za-z0-9_-]{43}\n$/);

    await run.return(undefined);
    expect(endpointsOf(ws)).toEqual({});
    await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
  });

  it('starts the service with the worker pool options as its env', async () => {
    const { port, context } = await serviceWorkspace();
    const run = serveExecutor({ workers: 2, callTimeoutMs: 5000, maxQueue: 4 }, context);
    expect((await run.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
    const answer = await fetch(`http://127.0.0.1:${port}/v1/call`, { method: 'POST', body: '[]' }).then((res) => res.json());
    expect(answer).toMatchObject({ workers: '2', callTimeoutMs: '5000', maxQueue: '4' });
    await run.return(undefined);
  });

  it('keeps the workspace token across serves, and with auth false tells the service to accept every caller', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const first = serveExecutor({}, context);
    await first.next();
    const token = readFileSync(join(ws, '.turbolift/token'), 'utf8');
    await first.return(undefined);
    const again = serveExecutor({}, context);
    await again.next();
    expect(readFileSync(join(ws, '.turbolift/token'), 'utf8')).toBe(token);
    await again.return(undefined);

    const open = serveExecutor({ auth: false }, context);
    expect((await open.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
    const answer = await fetch(`http://127.0.0.1:${port}/v1/call`, { method: 'POST', body: '[]' }).then((res) => res.json());
    expect(answer).toMatchObject({ auth: 'off' });
    expect(answer.tokenDir).toBeUndefined();
    await open.return(undefined);
  });

  it('refuses a port in use with one line naming the port and the project', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const holder = createServer().listen(port, '127.0.0.1');
    blocker = holder;
    await new Promise((resolve) => holder.once('listening', resolve));
    expect(await failureLine(serveExecutor({}, context))).toBe(
      `serve: port ${port} on 127.0.0.1 is already in use, so svc cannot listen there; stop what holds it or change "port" in apps/svc/turbolift.json`,
    );
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
  });

  it('says which bundle is missing', async () => {
    const { ws, context } = await serviceWorkspace();
    rmSync(join(ws, 'dist'), { recursive: true });
    expect(await failureLine(serveExecutor({}, context))).toBe('serve: dist/apps/svc/bundle/main.js is missing: run "nx run svc:build" first');
  });

  it('says so when the service exits before it is ready, with its exit code', async () => {
    const { ws, port, context } = await serviceWorkspace();
    writeFileSync(join(ws, 'dist/apps/svc/bundle/main.js'), 'process.exit(3);\n');
    expect(await failureLine(serveExecutor({}, context))).toBe(`serve: svc on http://127.0.0.1:${port} exited before it was ready (exit code 3)`);
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
  });

  it('gives up on a service that does not get ready in time, and stops it', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const run = serveExecutor({ readyTimeoutSeconds: 1, env: { FAKE_READY_STATUS: '503' } }, context);
    // On a busy machine the deadline may pass before the service listens: then it never answered at all.
    expect(await failureLine(run)).toMatch(
      new RegExp(`^serve: svc on http://127.0.0.1:${port} /readyz did not answer 200 within 1s \\(last: (503|no answer)\\)$`),
    );
    await expect(fetch(`http://127.0.0.1:${port}/pid`)).rejects.toThrow();
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
    const { ws, port, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    expect((await run.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
    const pid = Number(await fetch(`http://127.0.0.1:${port}/pid`).then((res) => res.text()));
    expect(isAlive(pid)).toBe(true);
    await run.return(undefined);
    expect(isAlive(pid)).toBe(false);
    expect(endpointsOf(ws)).toEqual({});
  });

  it('reports a service that exits after it was ready, and removes its entry', async () => {
    const { ws, port, context } = await serviceWorkspace();
    const run = serveExecutor({}, context);
    expect((await run.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await fetch(`http://127.0.0.1:${port}/exit`);
    expect((await run.next()).value).toEqual({ success: false });
    expect(errors).toHaveBeenCalledWith('serve: svc stopped (exit code 7)');
    expect(endpointsOf(ws)).toEqual({});
    expect((await run.next()).done).toBe(true);
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
      const run = serveExecutor({}, context);
      expect((await run.next()).value).toMatchObject({ success: false, reason: expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`) });
      expect(exit).not.toHaveBeenCalled();
      expect((await run.next()).done).toBe(true);
      expect(exit).toHaveBeenCalledExactlyOnceWith(STOPPED_TASK_EXIT_CODE);
    });

    it('under Nx 22 leaves the exit to Nx, which reports the failed result as a failure', async () => {
      const { port, context, exit } = await taskProcess('22.7.8');
      await holdPort(port);
      expect(await failureLine(serveExecutor({}, context))).toMatch(/^serve: port \d+ on 127\.0\.0\.1 is already in use/);
      expect(exit).not.toHaveBeenCalled();
    });

    it('exits as a stopped task when the service exits after it was ready', async () => {
      const { port, context, exit } = await taskProcess('23.3.2');
      const run = serveExecutor({}, context);
      expect((await run.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      await fetch(`http://127.0.0.1:${port}/exit`);
      expect((await run.next()).value).toEqual({ success: false });
      expect((await run.next()).done).toBe(true);
      expect(exit).toHaveBeenCalledExactlyOnceWith(STOPPED_TASK_EXIT_CODE);
    });

    it('does not end the process on a stop, nor when another target runs serve in its own process', async () => {
      const { port, context, exit } = await taskProcess('23.3.2');
      const run = serveExecutor({}, context);
      expect((await run.next()).value).toEqual({ success: true, baseUrl: `http://127.0.0.1:${port}` });
      await run.return(undefined);
      vi.stubEnv('NX_TASK_TARGET_TARGET', 'e2e');
      await holdPort(port);
      expect(await failureLine(serveExecutor({}, context))).toMatch(/already in use/);
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
