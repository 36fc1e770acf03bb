import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TurboliftError } from '../errors';
import { startLocalService, type LocalService, type LocalServiceSpec } from './serve-session';
import { freePort } from '../../../../tools/test-support/free-port';
import { isAlive } from '../../../../tools/test-support/processes';

/** A stand-in service bundle: real HTTP and the runtime's probe and env contract. */
const fakeService = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(Number(process.env.FAKE_READY_STATUS || 200)); return res.end('ok'); }
  if (req.url === '/exit') return res.end('', () => process.exit(7));
  res.end('hello');
});
server.listen(Number(process.env.PORT), process.env.HOST);
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

  async function serviceSpec(env: Record<string, string> = {}): Promise<LocalServiceSpec> {
    root = mkdtempSync(join(tmpdir(), 'turbolift-session-'));
    const port = await freePort();
    mkdirSync(join(root, 'dist/apps/svc/bundle'), { recursive: true });
    writeFileSync(join(root, 'dist/apps/svc/bundle/main.js'), fakeService);
    return {
      projectName: 'svc',
      functionName: 'compressAll',
      host: '127.0.0.1',
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      mainJs: join(root, 'dist/apps/svc/bundle/main.js'),
      workspaceRoot: root,
      markerFile: 'apps/svc/turbolift.json',
      readyTimeoutMs: 20_000,
      drainMs: 0,
      env: { HOST: '127.0.0.1', PORT: String(port), ...env },
    };
  }

  const endpointsOf = (ws: string) => JSON.parse(readFileSync(join(ws, '.turbolift/endpoints.json'), 'utf8')).endpoints;

  it('registers the service once it is ready; stop ends the process, removes the entry and its signal handlers', async () => {
    const spec = await serviceSpec();
    const before = listenerCounts();
    const lines: string[] = [];
    service = startLocalService(spec, (line) => lines.push(line));
    const registration = await service.ready;
    expect(registration).toEqual({ file: join(spec.workspaceRoot, '.turbolift/endpoints.json'), fn: 'compressAll', url: spec.baseUrl });
    expect(lines).toEqual([`svc (compressAll) ready at ${spec.baseUrl}, registered in .turbolift/endpoints.json`]);
    expect(endpointsOf(spec.workspaceRoot)).toEqual({ compressAll: spec.baseUrl });
    const pid = service.pid as number;
    expect(isAlive(pid)).toBe(true);
    expect(listenerCounts()).not.toEqual(before);

    expect(await service.stop()).toEqual({ code: 0, signal: null, description: 'exit code 0' });
    expect(isAlive(pid)).toBe(false);
    expect(endpointsOf(spec.workspaceRoot)).toEqual({});
    expect(listenerCounts()).toEqual(before);
    await expect(fetch(`${spec.baseUrl}/readyz`)).rejects.toThrow();
  });

  it('ends when the service exits by itself, and removes its entry', async () => {
    const spec = await serviceSpec();
    const before = listenerCounts();
    service = startLocalService(spec, () => undefined);
    await service.ready;
    await fetch(`${spec.baseUrl}/exit`);
    expect(await service.stopped).toEqual({ code: 7, signal: null, description: 'exit code 7' });
    expect(endpointsOf(spec.workspaceRoot)).toEqual({});
    expect(listenerCounts()).toEqual(before);
  });

  it('refuses a port in use before starting anything, naming the port and the marker file', async () => {
    const spec = await serviceSpec();
    const holder = createServer().listen(spec.port, '127.0.0.1');
    blocker = holder;
    await new Promise((resolve) => holder.once('listening', resolve));
    const before = listenerCounts();
    service = startLocalService(spec, () => undefined);
    const error = await failureOf(service);
    expect(error.code).toBe('TL_PORT_IN_USE');
    expect(error.message).toBe(
      `port ${spec.port} on 127.0.0.1 is already in use, so svc cannot listen there; stop what holds it or change "port" in apps/svc/turbolift.json`,
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
    expect(error).toMatchObject({ code: 'TL_SERVICE_EXITED', message: `svc on ${spec.baseUrl} exited before it was ready (exit code 3)` });
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
