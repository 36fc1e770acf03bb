// Caller authentication against real services on loopback: only callers with an accepted token are answered,
// the probes stay open, two tokens are accepted during a rotation and a dropped one is refused, and the stub
// finds its token (env, token folder, .turbolift/token upward) and follows a rotation by itself.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearTokenCache, callerToken, ensureTokenFile, writeTokenFile } from '../client/token';
import { registerEndpoint } from '../client/endpoints-file';
import { clearEndpointsCache } from '../client/endpoints';
import { AUTH, CALL_PATH, HEALTH_PATH, MAP_PATH, READY_PATH } from '../contract';
import { closeConnections, liftedStub, serve, TurboliftCallError, type RunningService } from '../index';

function add(a: number, b: number): number {
  return a + b;
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  clearTokenCache();
  await closeConnections();
  for (const step of cleanup.splice(0).reverse()) await step();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'turbolift-auth-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tokenDir(tokens: { token?: string; previous?: string }): string {
  const dir = tempDir();
  writeTokens(dir, tokens);
  return dir;
}

function writeTokens(dir: string, tokens: { token?: string; previous?: string }): void {
  for (const key of [AUTH.currentKey, AUTH.previousKey] as const) {
    const value = key === AUTH.currentKey ? tokens.token : tokens.previous;
    if (value === undefined) rmSync(join(dir, key), { force: true });
    else writeFileSync(join(dir, key), `${value}\n`);
  }
}

async function started(options: Parameters<typeof serve>[1]): Promise<RunningService> {
  const service = await serve(add, { port: 0, workers: 0, manageProcess: false, ...options });
  cleanup.push(() => service.shutdown());
  return service;
}

async function post(url: string, token?: string, body = '[2,3]') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await request(`${url}${CALL_PATH}`, { method: 'POST', headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, code: text.startsWith('{') ? JSON.parse(text).error?.code : undefined };
}

/** Polls `check` until it holds; the bound is generous for a busy machine. */
async function eventually(check: () => Promise<boolean>, boundMs = 15_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a service with caller tokens', () => {
  it('answers only callers that send an accepted token, 401 TL_UNAUTHORIZED otherwise, and keeps its probes open', async () => {
    const service = await started({ auth: { tokens: ['s3cret-token'] } });
    expect(await post(service.url, 's3cret-token')).toMatchObject({ status: 200, text: '5' });

    const none = await post(service.url);
    expect(none).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED' });
    expect(none.headers['www-authenticate']).toBe('Bearer realm="turbolift"');
    expect(JSON.parse(none.text).error.message).toMatch(/^no "authorization: Bearer <token>" header: callers send a token from the turbolift-callers Secret/);
    expect(await post(service.url, 's3cret-tokem')).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED' });
    expect(await post(service.url, '')).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED' });
    const wrongScheme = await request(`${service.url}${CALL_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic s3cret-token' },
      body: '[1,1]',
    });
    expect(wrongScheme.statusCode).toBe(401);
    await wrongScheme.body.dump();
    const map = await request(`${service.url}${MAP_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[[1,2]]' });
    expect(map.statusCode).toBe(401);
    await map.body.dump();

    for (const path of [HEALTH_PATH, READY_PATH]) {
      const probe = await request(`${service.url}${path}`);
      expect(probe.statusCode).toBe(200);
      await probe.body.dump();
    }
    // Refused callers cost the service nothing lasting: it still answers the right one.
    expect(await post(service.url, 's3cret-token')).toMatchObject({ status: 200, text: '5' });
  });

  it('refuses a caller before reading its body', async () => {
    const service = await started({ auth: { tokens: ['t'] }, bodyLimit: 64 * 1024 * 1024 });
    const huge = Buffer.alloc(32 * 1024 * 1024, 0x20);
    const refused = await post(service.url, undefined, huge.toString('latin1')).catch((error: Error) => ({ status: 0, code: error.message, headers: {} }));
    // Either the 401 arrives, or the service closed the connection while the client was still sending.
    if (refused.status !== 0) expect(refused).toMatchObject({ status: 401, code: 'TL_UNAUTHORIZED', headers: { connection: 'close' } });
    expect(await post(service.url, 't')).toMatchObject({ status: 200 });
  });

  it('accepts token and previous during a rotation, and refuses a dropped token within seconds of the files changing', async () => {
    const dir = tokenDir({ token: 'new-one', previous: 'old-one' });
    const service = await started({ auth: { tokenDir: dir } });
    expect(await post(service.url, 'new-one')).toMatchObject({ status: 200 });
    expect(await post(service.url, 'old-one')).toMatchObject({ status: 200 });

    writeTokens(dir, { token: 'new-one' });
    await eventually(async () => (await post(service.url, 'old-one')).status === 401);
    expect(await post(service.url, 'new-one')).toMatchObject({ status: 200 });

    writeTokens(dir, { token: 'newest', previous: 'new-one' });
    await eventually(async () => (await post(service.url, 'newest')).status === 200);
    expect(await post(service.url, 'new-one')).toMatchObject({ status: 200 });
  });

  it('takes its tokens from TURBOLIFT_TOKEN_DIR and TURBOLIFT_TOKEN, and is open only when told or when none is configured', async () => {
    const dir = tokenDir({ token: 'from-dir' });
    vi.stubEnv(AUTH.tokenDirEnv, dir);
    vi.stubEnv(AUTH.tokenEnv, 'from-env');
    const both = await started({});
    expect(await post(both.url, 'from-dir')).toMatchObject({ status: 200 });
    expect(await post(both.url, 'from-env')).toMatchObject({ status: 200 });
    expect(await post(both.url)).toMatchObject({ status: 401 });

    vi.stubEnv(AUTH.authEnv, 'off');
    expect(await post((await started({})).url)).toMatchObject({ status: 200 });

    vi.stubEnv(AUTH.authEnv, 'sometimes');
    await expect(started({})).rejects.toThrow('serve(add): TURBOLIFT_AUTH is "sometimes"; expected "on" or "off"');

    vi.unstubAllEnvs();
    vi.stubEnv(AUTH.tokenDirEnv, tempDir());
    await expect(started({})).rejects.toThrow(/^serve\(add\): no caller token in .*\/token \(TURBOLIFT_TOKEN_DIR\); mount the turbolift-callers Secret there/);
  });
});

describe('the stub', () => {
  function distributed(url: string) {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_ADD_URL', url);
  }

  it('finds its token in TURBOLIFT_TOKEN, then TURBOLIFT_TOKEN_DIR, then .turbolift/token upward from the cwd', () => {
    const workspace = tempDir();
    mkdirSync(join(workspace, '.turbolift'));
    writeFileSync(join(workspace, '.turbolift', 'token'), 'workspace-token\n');
    chmodSync(join(workspace, '.turbolift', 'token'), 0o600);
    const nested = join(workspace, 'apps', 'render');
    mkdirSync(nested, { recursive: true });
    expect(callerToken(undefined, {}, nested)).toEqual({ token: 'workspace-token', from: join(workspace, '.turbolift', 'token') });

    clearTokenCache();
    const dir = tokenDir({ token: 'dir-token' });
    expect(callerToken(undefined, { [AUTH.tokenDirEnv]: dir }, nested)).toEqual({ token: 'dir-token', from: join(dir, 'token') });
    expect(callerToken(undefined, { [AUTH.tokenDirEnv]: dir, [AUTH.tokenEnv]: 'env-token' }, nested)).toEqual({ token: 'env-token', from: AUTH.tokenEnv });
  });

  it('sends the token file the endpoints file names for the function (a deployed service reached from outside its cluster)', async () => {
    const service = await started({ auth: { tokens: ['namespace-token'] } });
    const workspace = tempDir();
    const copy = join(workspace, '.turbolift', 'tokens', 'ctx', 'compute');
    writeTokenFile(copy, 'namespace-token');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    const endpoints = join(workspace, '.turbolift', 'endpoints.json');
    registerEndpoint(endpoints, 'add', service.url, copy);
    // The workspace's own token is for its local services; the entry's token file wins for this function.
    ensureTokenFile(join(workspace, '.turbolift', 'token'));
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_ENDPOINTS', endpoints);
    expect(await liftedStub('add', add, { service: 'add-service' })(20, 22)).toBe(42);

    registerEndpoint(endpoints, 'add', service.url);
    expect(JSON.parse(readFileSync(endpoints, 'utf8')).tokenFiles).toBeUndefined();
    clearEndpointsCache();
    clearTokenCache();
    expect(await liftedStub('add', add, { service: 'add-service' })(1, 2).catch((e: unknown) => e)).toMatchObject({ code: 'TL_UNAUTHORIZED' });
  });

  it('sends the token, follows a rotation after a 401, and says where it looked when it has none', async () => {
    const serviceTokens = tokenDir({ token: 'first' });
    const service = await started({ auth: { tokenDir: serviceTokens } });
    distributed(service.url);
    const callerTokens = tokenDir({ token: 'first' });
    vi.stubEnv(AUTH.tokenDirEnv, callerTokens);
    const stub = liftedStub('add', add, { service: 'add-service' });
    expect(await stub(2, 3)).toBe(5);

    // The service moves on to a new token first; the caller's cached token is refused once, then read again.
    writeTokens(serviceTokens, { token: 'second' });
    writeTokens(callerTokens, { token: 'second' });
    await eventually(async () => (await post(service.url, 'first')).status === 401);
    expect(await stub(4, 5)).toBe(9);

    vi.stubEnv(AUTH.tokenDirEnv, tempDir());
    clearTokenCache();
    const error = await stub(1, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurboliftCallError);
    expect(error).toMatchObject({ code: 'TL_UNAUTHORIZED', statusCode: 401, remoteCode: 'TL_UNAUTHORIZED' });
    expect((error as Error).message).toMatch(
      /no caller token was found \(looked in TURBOLIFT_TOKEN, .*\/token, \.turbolift\/token upward from the cwd, \/var\/run\/secrets\/turbolift\/token\)/,
    );

    vi.stubEnv(AUTH.tokenEnv, 'wrong');
    expect(await stub(1, 1).catch((e: unknown) => e)).toMatchObject({
      code: 'TL_UNAUTHORIZED',
      message: expect.stringMatching(/the token from TURBOLIFT_TOKEN is not accepted/),
    });
  });
});
