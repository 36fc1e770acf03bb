import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { registerEndpoint, unregisterEndpoint } from './endpoints-file';
import serveExecutor from './executor';
import { freePort } from '../../../../../tools/test-support/free-port';

/** A stand-in service bundle: real HTTP, the runtime's probe and env contract, nothing else. */
const fakeService = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(200); return res.end('ok'); }
  res.writeHead(200, { 'content-type': 'application/json' });
  const { TURBOLIFT_MODE: mode, HOST: host, TURBOLIFT_WORKERS: workers, TURBOLIFT_CALL_TIMEOUT_MS: callTimeoutMs, TURBOLIFT_MAX_QUEUE: maxQueue } = process.env;
  res.end(JSON.stringify({ mode, host, workers, callTimeoutMs, maxQueue }));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;


describe('serve', () => {
  let root: string | undefined;
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    if (root) rmSync(root, { recursive: true, force: true });
    vi.restoreAllMocks();
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
    expect(answer).toEqual({ mode: 'local', host: '127.0.0.1' });
    expect(readFileSync(join(ws, '.turbolift/.gitignore'), 'utf8')).toBe('*\n');

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

  it('refuses a port in use with one line naming the port and the project', async () => {
    const { ws, port, context } = await serviceWorkspace();
    blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker!.once('listening', resolve));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const run = serveExecutor({}, context);
    expect((await run.next()).value).toEqual({ success: false });
    expect(errors).toHaveBeenCalledWith(
      `serve: port ${port} on 127.0.0.1 is already in use, so svc cannot listen there; stop what holds it or change "port" in apps/svc/turbolift.json`,
    );
    expect(existsSync(join(ws, '.turbolift/endpoints.json'))).toBe(false);
  });

  it('says which bundle is missing', async () => {
    const { ws, context } = await serviceWorkspace();
    rmSync(join(ws, 'dist'), { recursive: true });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect((await serveExecutor({}, context).next()).value).toEqual({ success: false });
    expect(errors).toHaveBeenCalledWith('serve: dist/apps/svc/bundle/main.js is missing: run "nx run svc:build" first');
  });
});

describe('endpoints file under concurrent serves', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('keeps every registration when many processes register at once', async () => {
    root = mkdtempSync(join(tmpdir(), 'turbolift-endpoints-'));
    const script = join(root, 'register.cjs');
    // The module as compiled code, run by separate processes as separate serve tasks would.
    buildSync({ entryPoints: [join(__dirname, 'endpoints-file.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(root, 'endpoints-file.cjs'), logLevel: 'error' });
    writeFileSync(script, "const { registerEndpoint } = require('./endpoints-file.cjs');\nregisterEndpoint(process.argv[2], process.argv[3], process.argv[4]);\n");
    const file = join(root, '.turbolift/endpoints.json');
    const names = Array.from({ length: 12 }, (_, i) => `fn${i}`);
    await Promise.all(
      names.map(
        (name, i) =>
          new Promise<void>((resolve, reject) =>
            spawn(process.execPath, [script, file, name, `http://127.0.0.1:${5000 + i}`], { stdio: 'inherit' }).once('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`register ${name} exited ${code}`)),
            ),
          ),
      ),
    );
    const endpoints = JSON.parse(readFileSync(file, 'utf8')).endpoints;
    expect(Object.keys(endpoints).sort()).toEqual([...names].sort());
    unregisterEndpoint(file, 'fn0', 'http://127.0.0.1:5000');
    registerEndpoint(file, 'extra', 'http://127.0.0.1:6000');
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).endpoints)).toHaveLength(12);
    expect(execFileSync('ls', ['-A', join(root, '.turbolift')], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(['.gitignore', 'endpoints.json']);
  });
});
