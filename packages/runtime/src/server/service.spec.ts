// The service over real HTTP on loopback: the caller's mistakes get 4xx with a code and a reason and
// the service keeps serving; a throwing function reaches the caller as RemoteError; probes.
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeConnections, liftedStub, RemoteError, serve, TurboliftCallError, type RunningService } from '../index';
import { hasDefaultOrRestParameter } from './arity';

function add(a: number, b: number): number {
  return a + b;
}

class QuotaExceeded extends Error {
  override name = 'QuotaExceeded';
}

async function failing(kind: string): Promise<never> {
  if (kind === 'custom') throw new QuotaExceeded('quota of 5 calls exceeded');
  if (kind === 'string') throw 'plain string thrown';
  throw new TypeError(`bad kind ${kind}`);
}

const post = (url: string, body: string | Buffer, contentType?: string) =>
  request(`${url}/v1/call`, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

describe('service', () => {
  let addService: RunningService;
  let failingService: RunningService;

  beforeAll(async () => {
    addService = await serve(add, { port: 0, manageProcess: false, bodyLimit: 1024 });
    failingService = await serve(failing, { port: 0, manageProcess: false, remoteStack: true });
  });
  afterAll(async () => {
    await closeConnections();
    await Promise.all([addService.shutdown(), failingService.shutdown()]);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('answers liveness and readiness', async () => {
    expect((await request(`${addService.url}/healthz`)).statusCode).toBe(200);
    const ready = await request(`${addService.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toEqual({ status: 'ready' });
  });

  it.each([
    ['malformed JSON', '[1,', 'application/json', 400, 'TL_MALFORMED_BODY', /not valid JSON/],
    ['a body that is not an array', '{"a":1}', 'application/json', 400, 'TL_MALFORMED_BODY', /array of arguments, got Object/],
    [
      'malformed msgpack',
      Buffer.from([0x92, 0x01]) /* array of two, one element */,
      'application/vnd.turbolift.msgpack',
      400,
      'TL_MALFORMED_BODY',
      /not valid msgpack/,
    ],
    ['a wrong content type', '1 2', 'text/plain', 415, 'TL_UNSUPPORTED_MEDIA_TYPE', /application\/json or application\/vnd\.turbolift\.msgpack/],
    ['too many arguments', '[1,2,3]', 'application/json', 400, 'TL_ARGUMENT_COUNT', /add takes at most 2 arguments, got 3/],
    ['a body over the limit', `[${'1,'.repeat(1000)}1]`, 'application/json', 413, 'TL_BODY_TOO_LARGE', /limit of 1024 bytes/],
    ['__proto__ poisoning', '[{"__proto__":{"x":1}},1]', 'application/json', 400, 'TL_MALFORMED_BODY', /not valid JSON/],
  ] as const)('refuses %s with a code and a reason, then keeps serving', async (_label, body, type, status, code, reason) => {
    const response = await post(addService.url, body, type);
    expect(response.statusCode).toBe(status);
    const { error } = (await response.body.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe(code);
    expect(error.message).toMatch(reason);

    const next = await post(addService.url, '[2,3]', 'application/json');
    expect(next.statusCode).toBe(200);
    expect(await next.body.json()).toBe(5);
  });

  it('answers an unknown route with 404 and the right path', async () => {
    const response = await request(`${addService.url}/call`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(404);
    expect(await response.body.json()).toEqual({ error: { code: 'TL_NOT_FOUND', message: expect.stringMatching(/POST \/v1\/call/) } });
  });

  it('sends a thrown error as 500 TL_FUNCTION_THREW with its name and message', async () => {
    const response = await post(failingService.url, '["custom"]', 'application/json');
    expect(response.statusCode).toBe(500);
    const { error } = (await response.body.json()) as { error: Record<string, string> };
    expect(error).toMatchObject({ code: 'TL_FUNCTION_THREW', name: 'QuotaExceeded', message: 'quota of 5 calls exceeded' });
    expect(error.stack).toMatch(/at failing/);
  });

  it('keeps the stack on the service unless asked to send it', async () => {
    const quiet = await serve(failing, { port: 0, manageProcess: false });
    try {
      const { error } = (await (await post(quiet.url, '["x"]', 'application/json')).body.json()) as { error: Record<string, string> };
      expect(error).toEqual({ code: 'TL_FUNCTION_THREW', name: 'TypeError', message: 'bad kind x' });
    } finally {
      await quiet.shutdown();
    }
  });

  it('turns a thrown error into RemoteError at the caller', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_FAILING_URL', failingService.url);
    const stub = liftedStub('failing', failing, { service: 'failing-service' });

    const error = await stub('custom').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({
      name: 'RemoteError',
      code: 'TL_FUNCTION_THREW',
      remoteName: 'QuotaExceeded',
      message: 'quota of 5 calls exceeded',
      fnName: 'failing',
    });
    expect((error as RemoteError).remoteStack).toMatch(/QuotaExceeded: quota of 5 calls exceeded/);

    const thrownString = await stub('string').catch((e: unknown) => e);
    expect(thrownString).toMatchObject({ remoteName: 'Error', message: 'plain string thrown' });
  });

  it('reports a refused call as TurboliftCallError with the service code, without retrying', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_ADD_URL', addService.url);
    const stub = liftedStub('add', add, { service: 'add-service' });
    const tooMany = stub as unknown as (...args: number[]) => Promise<number>;
    const error = await tooMany(1, 2, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurboliftCallError);
    expect(error).toMatchObject({ code: 'TL_REJECTED', statusCode: 400, remoteCode: 'TL_ARGUMENT_COUNT', attempts: 1 });
    expect((error as Error).message).toContain(`add (${addService.url})`);
  });

  it('is unready while draining but still serves calls, asking clients to reconnect', async () => {
    // A window long enough for the checks below; the test then waits for it to end.
    const draining = await serve(add, { port: 0, manageProcess: false, drainMs: 3000, drainQuietMs: 3000 });
    const done = draining.shutdown();
    try {
      const readyz = await request(`${draining.url}/readyz`);
      expect(readyz.statusCode).toBe(503);
      expect(await readyz.body.json()).toEqual({ status: 'draining' });
      expect((await request(`${draining.url}/healthz`)).statusCode).toBe(200);

      const call = await post(draining.url, '[1,1]', 'application/json');
      expect(call.statusCode).toBe(200);
      expect(call.headers.connection).toBe('close');
      expect(await call.body.json()).toBe(2);
    } finally {
      await done;
    }
    await expect(request(`${draining.url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('default arity', () => {
  it('sees default and rest parameters, which fn.length hides', () => {
    expect(hasDefaultOrRestParameter((a: number, b = 1) => a + b)).toBe(true);
    expect(hasDefaultOrRestParameter((...xs: number[]) => xs.length)).toBe(true);
    expect(
      hasDefaultOrRestParameter(function f({ a = 1 }: { a?: number }, [b]: number[]) {
        return a + b;
      }),
    ).toBe(false);
    expect(hasDefaultOrRestParameter((a: string) => a)).toBe(false);
    expect(
      hasDefaultOrRestParameter(async function g(a: string, b = '(') {
        return a + b;
      }),
    ).toBe(true);
  });
});
