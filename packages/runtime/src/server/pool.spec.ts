// The worker pool of a real service process: CPU-heavy calls run in worker threads, in parallel, while
// the main thread keeps answering probes and signals; an over-long call is stopped; a full queue
// answers 503 at once and the stub's retry gets through; map over thousands of inputs equals local.
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startChildService, type ChildService } from '../../test/child-service';
import { digest } from '../../test/fixtures/digest';
import { closeConnections, liftedStub, RemoteError, TurboliftCallError } from '../index';

const BUSY = join(__dirname, '../../test/fixtures/busy-service.ts');
const DIGEST = join(__dirname, '../../test/fixtures/digest-service.ts');

type Spun = { tag: string; thread: number };
// The stubs' implementations only type the calls: every test here calls the service.
const spin = liftedStub('spin', (_ms: number, _tag: string): Spun => ({ tag: '', thread: 0 }), { service: 'spin-service', retries: 0 });

const post = (url: string, body: unknown[]) =>
  request(`${url}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('worker pool (real service process)', () => {
  let service: ChildService | undefined;
  const start = async (fixture: string, env: Record<string, string>) => {
    service = await startChildService(fixture, env);
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_SPIN_URL', service.url);
    vi.stubEnv('TURBOLIFT_DIGEST_URL', service.url);
    return service;
  };
  afterEach(async () => {
    service?.dispose();
    service = undefined;
    vi.unstubAllEnvs();
    await closeConnections();
  });

  it('runs calls on worker threads side by side, and answers probes while every worker is busy', async () => {
    const { url } = await start(BUSY, { TURBOLIFT_WORKERS: '2' });
    let settled = 0;
    // Four calls of 1.5 s on two workers: busy for about 3 s.
    const calls = Array.from({ length: 4 }, (_, i) => spin(1500, `c${i}`).finally(() => settled++));
    await service!.waitForOutput('started c0');
    await service!.waitForOutput('started c1');
    for (const path of ['/healthz', '/readyz']) {
      const probe = await request(`${url}${path}`, { headersTimeout: 1000 });
      expect(probe.statusCode).toBe(200);
      await probe.body.dump();
    }
    // The probes were answered while the calls still ran.
    expect(settled).toBe(0);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.tag)).toEqual(['c0', 'c1', 'c2', 'c3']);
    const threads = new Set(results.map((r) => r.thread));
    expect(threads.has(0)).toBe(false); // never the main thread
    expect(threads.size).toBe(2);
  });

  it('stops a call at the time limit with 504 TL_CALL_TIMEOUT, replaces its worker, and serves the others', async () => {
    await start(BUSY, { TURBOLIFT_WORKERS: '2', TURBOLIFT_CALL_TIMEOUT_MS: '1500' });
    const tooLong = spin(60_000, 'too-long');
    const others = Array.from({ length: 3 }, (_, i) => spin(100, `ok${i}`));
    const failure = await tooLong.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TurboliftCallError);
    expect(failure).toMatchObject({ code: 'TL_CALL_TIMEOUT', statusCode: 504 });
    expect((failure as Error).message).toMatch(/spin gave no result within 1500 ms.*worker running it was stopped and replaced/);
    expect((await Promise.all(others)).map((r) => r.tag)).toEqual(['ok0', 'ok1', 'ok2']);
    // Both workers serve again: the stopped one was replaced (its successor may take a moment to start).
    let threads = 0;
    for (let round = 0; round < 20 && threads < 2; round++) {
      const pair = await Promise.all([spin(300, `a${round}`), spin(300, `b${round}`)]);
      threads = new Set(pair.map((r) => r.thread)).size;
    }
    expect(threads).toBe(2);
  });

  it('answers 503 TL_OVERLOADED with retry-after past the queue bound, keeps serving, and the stub retry gets through', async () => {
    const child = await start(BUSY, { TURBOLIFT_WORKERS: '1', TURBOLIFT_MAX_QUEUE: '1' });
    const { url } = child;
    const running = post(url, [2000, 'running']);
    await child.waitForOutput('started running');
    // One worker busy and room for one more: of these two, one waits for the worker and the other is
    // refused at once, so the first answer is the refusal.
    const pair = [post(url, [0, 'one']), post(url, [0, 'two'])];
    const refused = await Promise.race(pair);
    expect(refused.statusCode).toBe(503);
    // No call has finished yet to tell how long one takes: come back at once (the stub still backs off).
    expect(refused.headers['retry-after']).toBe('0');
    const { error } = (await refused.body.json()) as { error: { code: string; message: string } };
    expect(error).toMatchObject({ code: 'TL_OVERLOADED', message: expect.stringMatching(/spin is busy: every worker is running and 1 calls are queued/) });
    // The stub is refused too, waits as told, and its retry lands once the queue has room.
    // Refusals are not failures: even a call that may not be repeated waits its turn within its time budget.
    const retried = liftedStub('spin', (_ms: number, _tag: string): Spun => ({ tag: '', thread: 0 }), { service: 'spin-service', idempotent: false });
    const viaStub = await retried(0, 'retried');
    expect(viaStub.tag).toBe('retried');
    expect((await (await running).body.json()) as Spun).toMatchObject({ tag: 'running' });
    const answers = await Promise.all(pair);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 503]);
    await Promise.all(answers.map((answer) => answer.body.dump()));
  });

  it('gives a worker to waiting calls in arrival order under a steady load (none is overtaken by later calls)', async () => {
    const child = await start(BUSY, { TURBOLIFT_WORKERS: '1' });
    // Four callers, each calling again as soon as its call returns: one runs, three wait, and each answer brings a
    // new call. In arrival order every first call starts before any second one; a queue that sends a call it could
    // not place to the back lets the later calls overtake it for as long as the load lasts.
    await Promise.all(
      Array.from({ length: 4 }, async (_, caller) => {
        for (let round = 0; round < 2; round++) await spin(300, `c${caller}-${round}`);
      }),
    );
    const starts = [...child.output().matchAll(/started (c\d-\d)/g)].map((match) => match[1]);
    expect(starts).toHaveLength(8);
    expect(starts.slice(0, 4).sort()).toEqual(['c0-0', 'c1-0', 'c2-0', 'c3-0']);
  });

  it('refuses a call that the calls ahead would keep waiting past the queue time bound, saying how long to wait', async () => {
    const { url } = await start(BUSY, { TURBOLIFT_WORKERS: '1', TURBOLIFT_MAX_QUEUE_WAIT_MS: '1000' });
    // One finished call tells the service how long calls run: about 600 ms.
    await spin(600, 'measure');
    const running = post(url, [3000, 'running']);
    await service!.waitForOutput('started running');
    // Of three more: the first has about 600 ms ahead of it and waits; the others would wait about 1200 ms
    // and are refused at once, so the first answer is a refusal.
    const three = [post(url, [600, 'a']), post(url, [600, 'b']), post(url, [600, 'c'])];
    const refused = await Promise.race(three);
    expect(refused.statusCode).toBe(503);
    const { error } = (await refused.body.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('TL_OVERLOADED');
    expect(error.message).toMatch(/about \d+ ms of waiting, over TURBOLIFT_MAX_QUEUE_WAIT_MS 1000/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const answers = await Promise.all(three);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 503, 503]);
    await Promise.all(answers.map((answer) => answer.body.dump()));
    expect(((await (await running).body.json()) as Spun).tag).toBe('running');
  });

  it('estimates the wait from what is in flight: light map batches after heavy calls are not refused', async () => {
    const { url } = await start(BUSY, { TURBOLIFT_WORKERS: '1', TURBOLIFT_MAX_QUEUE_WAIT_MS: '1000' });
    // Heavy calls ran last: 1.5 s each.
    await spin(1500, 'heavy');
    const batch = (tag: string) =>
      request(`${url}/v1/map`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([[0, tag]]) });
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map(batch));
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200]);
    await Promise.all(answers.map((answer) => answer.body.dump()));
  });

  it('turns unready and drains on SIGTERM while a call is still running', async () => {
    const child = await start(BUSY, { TURBOLIFT_WORKERS: '1', TURBOLIFT_DRAIN_MS: '500', TURBOLIFT_DRAIN_QUIET_MS: '500' });
    const call = spin(2500, 'long');
    await child.waitForOutput('started long');
    child.child.kill('SIGTERM');
    await child.waitForOutput('draining');
    let callDone = false;
    void call.finally(() => (callDone = true));
    // The main thread heard the signal while the worker computed.
    expect(callDone).toBe(false);
    expect((await call).tag).toBe('long');
    expect(await child.exited).toBe(0);
  });

  it('map over thousands of inputs equals local mode, in order, with one failing input in place', async () => {
    await start(DIGEST, { TURBOLIFT_WORKERS: '2' });
    const stub = liftedStub('digest', digest, { service: 'digest-service' });
    const inputs = Array.from({ length: 5000 }, (_, i) => (i === 1234 ? 'bad' : `text ${i}`));
    const progress: number[] = [];
    const distributed = await stub.map(inputs, { returnErrors: true, onProgress: (p) => progress.push(p.done) });
    vi.stubEnv('TURBOLIFT_MODE', 'local');
    const local = await stub.map(inputs, { returnErrors: true });

    expect(distributed).toHaveLength(inputs.length);
    expect(distributed.filter((_, i) => i !== 1234)).toEqual(local.filter((_, i) => i !== 1234));
    expect(distributed[1234]).toBeInstanceOf(RemoteError);
    expect(distributed[1234]).toMatchObject({ remoteName: 'RangeError', message: 'cannot digest "bad"' });
    expect(local[1234]).toBeInstanceOf(RangeError);
    expect(progress[progress.length - 1]).toBe(inputs.length);
    // Batched: far fewer progress reports (one per batch) than inputs.
    expect(progress.length).toBeLessThan(inputs.length / 10);
  });

  it('map without returnErrors rejects with the first error, as local mode does', async () => {
    await start(DIGEST, { TURBOLIFT_WORKERS: '2' });
    const stub = liftedStub('digest', digest, { service: 'digest-service' });
    const inputs = ['a', 'b', 'bad', 'c'];
    await expect(stub.map(inputs)).rejects.toBeInstanceOf(RemoteError);
    vi.stubEnv('TURBOLIFT_MODE', 'local');
    await expect(stub.map(inputs)).rejects.toThrow('cannot digest "bad"');
  });
});
