// Retries, timeouts and failure reports of distributed calls, against real servers on loopback.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeConnections, liftedStub, serve, TurboliftCallError, type RunningService } from '../index';
import { backoffDelay } from './retry';
import { freePort } from '../../../../tools/test-support/free-port';

function add(a: number, b: number): number {
  return a + b;
}

/** A port that nothing listens on (taken from the OS, then released). */

/** A plain HTTP server that answers 503 `unavailable` times, then 200 with the JSON result 42. */
async function flakyServer(unavailable: number): Promise<{ server: Server; url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      if (requests <= unavailable) {
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"draining"}');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' }).end('42');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests: () => requests };
}

describe('distributed calls', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    vi.unstubAllEnvs();
    await closeConnections();
    for (const step of cleanup.splice(0)) await step();
  });

  function distributed(fnName: string, url: string) {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv(`TURBOLIFT_${fnName.toUpperCase()}_URL`, url);
  }

  it('retries a refused connection until the service comes up', async () => {
    const port = await freePort();
    distributed('add', `http://127.0.0.1:${port}`);
    const stub = liftedStub('add', add, { service: 'add-service', retries: 10, timeoutMs: 20_000 });
    const call = stub(2, 3);
    // Nothing listens yet: the first attempt is refused. Start the service while the stub backs off.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const service: RunningService = await serve(add, { port, manageProcess: false });
    cleanup.push(() => service.shutdown());
    expect(await call).toBe(5);
  });

  it('gives up after the allowed retries and says how often it tried', async () => {
    const port = await freePort();
    distributed('add', `http://127.0.0.1:${port}`);
    const error = await liftedStub('add', add, { service: 'add-service', retries: 2 })(1, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurboliftCallError);
    expect(error).toMatchObject({ code: 'TL_CONNECTION_FAILED', attempts: 3, fnName: 'add', url: `http://127.0.0.1:${port}` });
    expect((error as Error).message).toMatch(
      /^add \(http:\/\/127\.0\.0\.1:\d+\): cannot reach the service: connect ECONNREFUSED 127\.0\.0\.1:\d+ after 3 attempts$/,
    );
  });

  it('does not retry a call marked idempotent: false', async () => {
    const port = await freePort();
    distributed('add', `http://127.0.0.1:${port}`);
    const error = await liftedStub('add', add, { service: 'add-service', idempotent: false, retries: 5 })(1, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TL_CONNECTION_FAILED', attempts: 1 });

    const flaky = await flakyServer(1);
    cleanup.push(() => new Promise((resolve) => flaky.server.close(resolve)));
    distributed('add', flaky.url);
    const unavailable = await liftedStub('add', add, { service: 'add-service', idempotent: false })(1, 1).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ code: 'TL_SERVICE_UNAVAILABLE', statusCode: 503, attempts: 1 });
    expect(flaky.requests()).toBe(1);
  });

  it('retries 503 answers', async () => {
    const flaky = await flakyServer(2);
    cleanup.push(() => new Promise((resolve) => flaky.server.close(resolve)));
    distributed('add', flaky.url);
    expect(await liftedStub('add', add, { service: 'add-service' })(1, 1)).toBe(42);
    expect(flaky.requests()).toBe(3);
  });

  it('names the function and the URL when a call times out', async () => {
    const sleepy = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('late'), ms));
    const service = await serve(sleepy, { name: 'sleepy', port: 0, manageProcess: false });
    cleanup.push(() => service.shutdown());
    distributed('sleepy', service.url);
    const error = await liftedStub('sleepy', sleepy, { service: 'sleepy-service', timeoutMs: 200 })(1500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurboliftCallError);
    expect(error).toMatchObject({ code: 'TL_TIMEOUT', fnName: 'sleepy' });
    expect((error as Error).message).toBe(`sleepy (${service.url}): no response within 200 ms (timeoutMs)`);
  });

  it('reports an unusable URL with where it came from', async () => {
    distributed('add', 'ftp://example.invalid');
    const error = await liftedStub('add', add, { service: 'add-service' })(1, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TL_NO_ENDPOINT' });
    expect((error as Error).message).toMatch(/not an http\(s\) URL \(from TURBOLIFT_ADD_URL\)/);
  });

  it('runs in process in local mode, still asynchronously', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'local');
    const result = liftedStub('add', add, { service: 'add-service' })(2, 2);
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(4);
  });

  it('refuses an unknown mode by name', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'remote');
    await expect(liftedStub('add', add, { service: 'add-service' })(2, 2)).rejects.toThrow(/TURBOLIFT_MODE="remote" is not a mode/);
  });
});

describe('backoffDelay', () => {
  it('doubles from 50 ms up to 1 s, with jitter between half and all of it', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((retry) => backoffDelay(retry, () => 1))).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, () => 0)).toBe(100);
  });
});
