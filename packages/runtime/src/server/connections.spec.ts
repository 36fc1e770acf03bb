// Connection timeouts of a real service, driven over raw loopback sockets: a stalled body gets 408, a head
// trickled past the headers timeout and a body trickled past the request timeout are closed, a slow but
// steady body and a long call succeed, idle keep-alive sockets close after the keep-alive timeout, which is
// above the stub's, and the service keeps serving.
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STUB_KEEP_ALIVE } from '../client/pools';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_MS } from '../contract';
import { closeConnections, liftedStub, serve, type RunningService } from '../index';

const HEADERS_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 6000;
const KEEP_ALIVE_TIMEOUT_MS = 1500;
// Two busy cores: every upper bound leaves seconds of slack.
const SLACK_MS = 4000;

function length(text: string): number {
  return text.length;
}

async function wait(ms: number, text: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return text;
}

interface Connection {
  socket: Socket;
  /** Everything the service sent so far. */
  received(): string;
  /** Resolves when the service closed the connection (or rejects after `boundMs`), with when and what it sent. */
  closed(boundMs: number): Promise<{ afterMs: number; text: string }>;
  /** Resolves with the first complete response. */
  response(boundMs: number): Promise<{ status: number; headers: string; body: string }>;
}

const open: Socket[] = [];

async function openConnection(port: number): Promise<Connection> {
  const socket = connect({ host: '127.0.0.1', port });
  open.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  const changed = new Set<() => void>();
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    for (const listener of changed) listener();
  });
  // A reset after the 408 is the service closing too.
  socket.on('error', () => undefined);
  socket.once('close', () => {
    isClosed = true;
    for (const listener of changed) listener();
  });
  const until = <T>(boundMs: number, what: string, check: () => T | undefined) =>
    new Promise<T>((resolve, reject) => {
      const test = () => {
        const value = check();
        if (value === undefined) return;
        changed.delete(test);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        changed.delete(test);
        reject(new Error(`${what} within ${boundMs} ms; received: ${JSON.stringify(text)}`));
      }, boundMs);
      changed.add(test);
      test();
    });
  return {
    socket,
    received: () => text,
    closed: (boundMs) => {
      const started = performance.now();
      return until(boundMs, 'service did not close the connection', () => (isClosed ? { afterMs: performance.now() - started, text } : undefined));
    },
    response: (boundMs) =>
      until(boundMs, 'no complete response', () => {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return undefined;
        const headers = text.slice(0, end);
        const declared = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
        const body = text.slice(end + 4);
        if (body.length < declared) return undefined;
        return { status: Number(headers.slice(9, 12)), headers, body: body.slice(0, declared) };
      }),
  };
}

const head = (port: number, contentLength: number) =>
  `POST /v1/call HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${contentLength}\r\n\r\n`;

/** Writes `pieces` one every `everyMs` until they run out or the connection closes; resolves when done. */
function trickle(socket: Socket, pieces: string[], everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || sent === pieces.length) {
        clearInterval(timer);
        return resolve(sent);
      }
      socket.write(pieces[sent++]);
    }, everyMs);
  });
}

describe('connection timeouts (raw sockets on loopback)', () => {
  let service: RunningService;
  let slowService: RunningService;

  beforeAll(async () => {
    const timeouts = {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: BODY_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    };
    service = await serve(length, { port: 0, manageProcess: false, ...timeouts });
    // Computes for longer than any of the connection timeouts.
    slowService = await serve(wait, { port: 0, manageProcess: false, ...timeouts, requestTimeoutMs: 2000 });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    for (const socket of open.splice(0)) socket.destroy();
  });
  afterAll(async () => {
    await closeConnections();
    await Promise.all([service.shutdown(), slowService.shutdown()]);
  });

  it('answers 408 when a body stops: headers and 10 of 1,000 declared bytes, then nothing', async () => {
    const connection = await openConnection(service.port);
    connection.socket.write(head(service.port, 1000) + '["' + 'x'.repeat(8));
    const { afterMs, text } = await connection.closed(BODY_TIMEOUT_MS + SLACK_MS);
    expect(afterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toContain('connection: close');
    expect(text).toContain('"code":"TL_REQUEST_TIMEOUT"');
    expect(text).toContain('TURBOLIFT_BODY_TIMEOUT_MS');
  });

  it('closes a connection whose head arrives one byte at a time past the headers timeout', async () => {
    const connection = await openConnection(service.port);
    const request = head(service.port, 2) + '[]';
    // 100 ms a byte: the whole head would take ~10 s, far past the 1 s bound.
    const writing = trickle(connection.socket, [...request], 100);
    const { afterMs, text } = await connection.closed(HEADERS_TIMEOUT_MS + SLACK_MS);
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(await writing).toBeLessThan(request.length);
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toContain('TURBOLIFT_HEADERS_TIMEOUT_MS');
  });

  it('answers a request refused before its body is in once, then closes: never a 408 after it', async () => {
    const connection = await openConnection(service.port);
    connection.socket.write(head(service.port, 1000).replace('application/json', 'text/plain') + 'x'.repeat(10));
    const { text } = await connection.closed(BODY_TIMEOUT_MS + SLACK_MS);
    expect(text).toMatch(/^HTTP\/1\.1 415 Unsupported Media Type\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).not.toContain('408');
  });

  it('serves a request without a Host header, and refuses one in its own error shape: no bare 400 from Node', async () => {
    const served = await openConnection(service.port);
    served.socket.write(head(service.port, 7).replace(/host: [^\r]*\r\n/, '') + '["abc"]');
    expect(await served.response(SLACK_MS)).toMatchObject({ status: 200 });
    const refused = await openConnection(service.port);
    refused.socket.write(head(service.port, 4).replace(/host: [^\r]*\r\n/, '') + '"ab"');
    const response = await refused.response(SLACK_MS);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: expect.stringMatching(/^TL_/) } });
  });

  it('serves a body that arrives slowly but steadily, for longer than the body timeout', async () => {
    const connection = await openConnection(service.port);
    const body = JSON.stringify(['y'.repeat(996)]);
    connection.socket.write(head(service.port, body.length));
    // 20 pieces, 150 ms apart: ~3 s in all, each gap well under the 1 s body timeout.
    const pieces = Array.from({ length: 20 }, (_, i) => body.slice(i * 50, (i + 1) * 50));
    const started = performance.now();
    expect(await trickle(connection.socket, pieces, 150)).toBe(20);
    const response = await connection.response(SLACK_MS);
    expect(performance.now() - started).toBeGreaterThan(2 * BODY_TIMEOUT_MS);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toBe(996);
  });

  it('closes a body trickled past the request timeout, steady as it is', async () => {
    const connection = await openConnection(slowService.port);
    connection.socket.write(head(slowService.port, 1000));
    // A byte every 200 ms never trips the body timeout, but 1,000 of them would take 200 s.
    const writing = trickle(
      connection.socket,
      Array.from({ length: 100 }, () => ' '),
      200,
    );
    const { afterMs, text } = await connection.closed(2000 + SLACK_MS);
    expect(afterMs).toBeGreaterThanOrEqual(2000 - 100);
    expect(await writing).toBeLessThan(100);
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('does not cut a call that computes for longer than every connection timeout', async () => {
    const connection = await openConnection(slowService.port);
    const body = JSON.stringify([3500, 'computed']);
    const started = performance.now();
    connection.socket.write(head(slowService.port, body.length) + body);
    const response = await connection.response(3500 + SLACK_MS);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3400);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toBe('computed');
  });

  it('closes an idle keep-alive connection only after the keep-alive timeout', async () => {
    const connection = await openConnection(service.port);
    const body = '["abc"]';
    connection.socket.write(head(service.port, body.length) + body);
    const response = await connection.response(SLACK_MS);
    expect(response.status).toBe(200);
    expect(response.headers).toMatch(/\r\nkeep-alive: timeout=1$/im);
    const { afterMs } = await connection.closed(KEEP_ALIVE_TIMEOUT_MS + 1000 + SLACK_MS);
    expect(afterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
  });

  it('closes a new connection that sends nothing after the headers timeout', async () => {
    const connection = await openConnection(service.port);
    const { afterMs, text } = await connection.closed(HEADERS_TIMEOUT_MS + SLACK_MS);
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it("keeps idle sockets longer than the stub's pool does", async () => {
    // The defaults: the stub keeps an idle socket at most 60 s, the service 72 s (and Node a second more).
    expect(STUB_KEEP_ALIVE.maxMs).toBeLessThan(DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
    // Against a service that advertises 5 s, the stub's pool closes its idle socket first (at 5 s - 2 s).
    const advertising = await serve(length, { port: 0, manageProcess: false, keepAliveTimeoutMs: 5000 });
    try {
      const closedAt: number[] = [];
      advertising.app.server.on('connection', (socket: Socket) => socket.once('close', () => closedAt.push(performance.now())));
      vi.stubEnv('TURBOLIFT_MODE', 'distributed');
      vi.stubEnv('TURBOLIFT_LENGTH_URL', advertising.url);
      const stub = liftedStub('length', length, { service: 'length-service', retries: 0 });
      expect(await stub('abcd')).toBe(4);
      const answeredAt = performance.now();
      await expect.poll(() => closedAt.length, { timeout: 5000 + SLACK_MS, interval: 50 }).toBe(1);
      const idleMs = closedAt[0] - answeredAt;
      expect(idleMs).toBeGreaterThanOrEqual(5000 - STUB_KEEP_ALIVE.thresholdMs - 700);
      expect(idleMs).toBeLessThan(5000);
      // The next call opens a new connection and succeeds the first time.
      expect(await stub('abcdef')).toBe(6);
    } finally {
      await closeConnections();
      await advertising.shutdown();
    }
  });

  it('still answers a valid call through the stub after all of that', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_LENGTH_URL', service.url);
    const stub = liftedStub('length', length, { service: 'length-service', retries: 0 });
    expect(await stub('after')).toBe(5);
    expect(await Promise.all(['a', 'bb', 'ccc'].map((s) => stub(s)))).toEqual([1, 2, 3]);
  });
});
