import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE_ENV } from '@turbolift/runtime/contract';
import { TurboliftError } from '../errors';
import { registerServiceEndpoint } from '../service/endpoints';
import { startLocalService, type LocalService, type LocalServiceSpec } from './serve-session';
import { freePort } from '../../../../tools/test-support/free-port';
import { isAlive } from '../../../../tools/test-support/processes';

/**
 * A stand-in service bundle: real HTTP and the runtime's probe and env contract, the listen file included
 * (as the runtime writes it: a temporary file renamed into place once it listens).
 */
const fakeService = `
const fs = require('node:fs');
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(Number(process.env.FAKE_READY_STATUS || 200)); return res.end('ok'); }
  if (req.url === '/exit') return res.end('', () => process.exit(7));
  if (req.url === '/env') return res.end(JSON.stringify({ port: process.env.PORT, listenFile: process.env.${SERVICE_ENV.listenFile} }));
  res.end('hello');
});
server.listen(Number(process.env.PORT), process.env.HOST, () => {
  const file = process.env.${SERVICE_ENV.listenFile};
  if (!file || process.env.FAKE_NO_LISTEN_FILE) return;
  const { port } = server.address();
  fs.writeFileSync(file + '.tmp', JSON.stringify({ url: 'http://' + process.env.HOST + ':' + port, port, pid: process.pid }));
  fs.renameSync(file + '.tmp', file);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'exit'] as const;
const listenerCounts = () => SIGNALS.map((name) => process.listenerCount(name));

/** Waits for a condition with a generous bound (the machine may be busy). */
async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failureOf(service: LocalService): Promise<TurboliftError> {
  const error = await service.ready.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(TurboliftError);
  return error as TurboliftError;
}

describe('a local service session', () => {
  let root: string | undefined;
  let blocker: Server | undefined;
  let service: LocalService | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A workspace with the fake bundle; `port` serves it on that fixed port, else on one the OS picks. */
  async function serviceSpec(env: Record<string, string> = {}, port?: number): Promise<LocalServiceSpec> {
    root = mkdtempSync(join(tmpdir(), 'turbolift-session-'));
    mkdirSync(join(root, 'dist/apps/svc/bundle'), { recursive: true });
    writeFileSync(join(root, 'dist/apps/svc/bundle/main.js'), fakeService);
    return {
      projectName: 'svc',
      functionName: 'compressAll',
      host: '127.0.0.1',
      port,
      mainJs: join(root, 'dist/apps/svc/bundle/main.js'),
      workspaceRoot: root,
      portSetting: '"port" in apps/svc/turbolift.json',
      readyTimeoutMs: 20_000,
      drainMs: 0,
      env: { HOST: '127.0.0.1', ...env },
    };
  }

  const documentOf = (ws: string) => JSON.parse(readFileSync(join(ws, '.turbolift/endpoints.json'), 'utf8'));
  const endpointsOf = (ws: string) => documentOf(ws).endpoints;

  it('registers the service on the port it got once it is ready; stop ends the process, removes the entry and its signal handlers', async () => {
    const spec = await serviceSpec();
    const before = listenerCounts();
    const lines: string[] = [];
    service = startLocalService(spec, (line) => lines.push(line));
    const registration = await service.ready;
    const pid = service.pid as number;
    const url = service.baseUrl as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registration).toEqual({ file: join(spec.workspaceRoot, '.turbolift/endpoints.json'), fn: 'compressAll', url, pid });
    expect(lines).toEqual([`svc (compressAll) ready at ${url}, registered in .turbolift/endpoints.json`]);
    // The entry names the service's process: once that is gone, stubs know the entry is stale.
    expect(documentOf(spec.workspaceRoot)).toEqual({ endpoints: { compressAll: url }, pids: { compressAll: pid } });
    // The service was told to bind port 0, and where to say which port it got (the file is gone once read).
    const { port, listenFile } = await fetch(`${url}/env`).then((res) => res.json());
    expect(port).toBe('0');
    expect(listenFile).toMatch(/listening\.json$/);
    expect(existsSync(listenFile)).toBe(false);
    expect(isAlive(pid)).toBe(true);
    expect(listenerCounts()).not.toEqual(before);

    expect(await service.stop()).toEqual({ code: 0, signal: null, description: 'exit code 0' });
    expect(isAlive(pid)).toBe(false);
    expect(documentOf(spec.workspaceRoot)).toEqual({ endpoints: {} });
    expect(listenerCounts()).toEqual(before);
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  });

  it('serves on a fixed port when given one, without a listen file', async () => {
    const port = await freePort();
    const spec = await serviceSpec({ [SERVICE_ENV.listenFile]: '/nowhere/listening.json' }, port);
    service = startLocalService(spec, () => undefined);
    expect(service.baseUrl).toBe(`http://127.0.0.1:${port}`);
    expect(await service.ready).toMatchObject({ url: `http://127.0.0.1:${port}` });
    expect(await fetch(`http://127.0.0.1:${port}/env`).then((res) => res.json())).toEqual({ port: String(port) });
  });

  it("drops its function's entry left by a process that is gone when it starts, and no other entry", async () => {
    const spec = await serviceSpec({ FAKE_READY_STATUS: '503' });
    const { pid: deadPid } = spawnSync(process.execPath, ['-e', '']);
    expect(isAlive(deadPid)).toBe(false);
    registerServiceEndpoint(spec.workspaceRoot, 'compressAll', 'http://127.0.0.1:1', undefined, deadPid);
    registerServiceEndpoint(spec.workspaceRoot, 'other', 'http://127.0.0.1:2', undefined, deadPid);
    registerServiceEndpoint(spec.workspaceRoot, 'deployed', 'http://10.0.0.7:80');
    const lines: string[] = [];
    const starting = startLocalService(spec, (line) => lines.push(line));
    service = starting;
    // Gone before the service is ready (it answers 503 here).
    await until('the stale entry to go', () => !('compressAll' in endpointsOf(spec.workspaceRoot)));
    expect(lines).toEqual([`removed compressAll's stale entry http://127.0.0.1:1 from .turbolift/endpoints.json: its process ${deadPid} is no longer running`]);
    expect(documentOf(spec.workspaceRoot)).toEqual({
      endpoints: { other: 'http://127.0.0.1:2', deployed: 'http://10.0.0.7:80' },
      pids: { other: deadPid },
    });
  });

  it('keeps an entry of its function whose process runs, until its own registration replaces it', async () => {
    const spec = await serviceSpec();
    registerServiceEndpoint(spec.workspaceRoot, 'compressAll', 'http://127.0.0.1:1', undefined, process.pid);
    service = startLocalService(spec, () => undefined);
    const { url, pid } = await service.ready;
    expect(documentOf(spec.workspaceRoot)).toEqual({ endpoints: { compressAll: url }, pids: { compressAll: pid } });
  });

  it('gives up on a service that never says which port it got, naming fixedPort', async () => {
    const spec = { ...(await serviceSpec({ FAKE_NO_LISTEN_FILE: '1' })), readyTimeoutMs: 1000 };
    service = startLocalService(spec, () => undefined);
    const error = await failureOf(service);
    expect(error.code).toBe('TL_NOT_READY');
    expect(error.message).toBe(
      'svc did not say which port it listens on within 1s (TURBOLIFT_LISTEN_FILE; a bundle built with an older @turbolift/runtime does not: ' +
        'build it again, or serve it on a fixed port with "fixedPort": true)',
    );
    // Stopped: by its SIGTERM handler, or by the signal itself when the machine was too busy to get there.
    await service.stopped;
    expect(isAlive(service.pid as number)).toBe(false);
  });

  it('ends when the service exits by itself, and removes its entry', async () => {
    const spec = await serviceSpec();
    const before = listenerCounts();
    service = startLocalService(spec, () => undefined);
    const { url } = await service.ready;
    await fetch(`${url}/exit`);
    expect(await service.stopped).toEqual({ code: 7, signal: null, description: 'exit code 7' });
    expect(endpointsOf(spec.workspaceRoot)).toEqual({});
    expect(listenerCounts()).toEqual(before);
  });

  it('refuses a fixed port in use before starting anything, naming the port and the marker file', async () => {
    const spec = await serviceSpec({}, await freePort());
    const holder = createServer().listen(spec.port, '127.0.0.1');
    blocker = holder;
    await new Promise((resolve) => holder.once('listening', resolve));
    const before = listenerCounts();
    service = startLocalService(spec, () => undefined);
    const error = await failureOf(service);
    expect(error.code).toBe('TL_PORT_IN_USE');
    expect(error.message).toBe(
      `port ${spec.port} on 127.0.0.1 is already in use, so svc cannot listen there; ` +
        'stop what holds it, change "port" in apps/svc/turbolift.json, or serve it without "fixedPort" on a free port',
    );
    expect(service.pid).toBeUndefined();
    expect(await service.stopped).toEqual({ code: null, signal: null, description: 'not started' });
    expect(existsSync(join(spec.workspaceRoot, '.turbolift/endpoints.json'))).toBe(false);
    expect(listenerCounts()).toEqual(before);
  });

  it('names the missing bundle and the build to run', async () => {
    const spec = await serviceSpec();
    rmSync(join(spec.workspaceRoot, 'dist'), { recursive: true });
    service = startLocalService(spec, () => undefined);
    const error = await failureOf(service);
    expect(error).toMatchObject({ code: 'TL_BUNDLE_MISSING', message: 'dist/apps/svc/bundle/main.js is missing: run "nx run svc:build" first' });
  });

  it('says when the service exits before it is ready, with its exit code, and cleans up', async () => {
    const spec = await serviceSpec();
    writeFileSync(spec.mainJs, 'process.exit(3);\n');
    const before = listenerCounts();
    service = startLocalService(spec, () => undefined);
    const error = await failureOf(service);
    expect(error).toMatchObject({ code: 'TL_SERVICE_EXITED', message: 'svc exited before it was ready (exit code 3)' });
    expect(await service.stopped).toMatchObject({ code: 3 });
    expect(existsSync(join(spec.workspaceRoot, '.turbolift/endpoints.json'))).toBe(false);
    expect(listenerCounts()).toEqual(before);
  });

  it('stops a service that is still getting ready', async () => {
    const spec = await serviceSpec({ FAKE_READY_STATUS: '503' });
    const starting = startLocalService(spec, () => undefined);
    service = starting;
    await until('the service process to start', () => starting.pid !== undefined);
    const pid = starting.pid as number;
    await service.stop();
    expect(isAlive(pid)).toBe(false);
    const error = await failureOf(service);
    expect(error.code).toBe('TL_SERVICE_EXITED');
    expect(existsSync(join(spec.workspaceRoot, '.turbolift/endpoints.json'))).toBe(false);
  });
});
