// A corpus of bad requests against a real service process (caller tokens, a parameter schema, a worker pool):
// more than 10,000 requests over real sockets, bounded in count and time. Every one gets a 4xx with a TL_ code,
// the service keeps its process and its memory bounded, and it answers a valid call afterwards.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildService, type ChildService } from '../../test/child-service';
import { AUTH, CALL_PATH, MAP_PATH } from '../contract';

const TOKEN = 'corpus-token-0123456789abcdef';
const ROUNDS = 420; // × the cases below: over 10,000 requests
const IN_FLIGHT = 32;
const PER_REQUEST_MS = 20_000;

const JSON_TYPE = 'application/json';
const MSGPACK_TYPE = 'application/vnd.turbolift.msgpack';

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const json = (extra: Record<string, string> = {}): Record<string, string> => ({ 'content-type': JSON_TYPE, ...bearer, ...extra });
const msgpack = { 'content-type': MSGPACK_TYPE, ...bearer };

const CASES: Case[] = [
  { name: 'empty JSON', headers: json(), body: '' },
  { name: 'truncated JSON', headers: json(), body: '["a", "b' },
  { name: 'invalid JSON', headers: json(), body: '{{]]' },
  { name: 'not an array', headers: json(), body: '{"a":"x","b":"y"}' },
  { name: 'too few arguments', headers: json(), body: '["a"]' },
  { name: 'too many arguments', headers: json(), body: '["a","b","c"]' },
  { name: 'wrong types', headers: json(), body: '[1,2]' },
  { name: 'null for a string', headers: json(), body: '[null,"b"]' },
  { name: 'nested wrong type', headers: json(), body: '[["a"],"b"]' },
  { name: '__proto__ key', headers: json(), body: '[{"__proto__":{"polluted":true}},"b"]' },
  { name: 'constructor.prototype', headers: json(), body: '[{"constructor":{"prototype":{"polluted":true}}},"b"]' },
  { name: 'deep JSON nesting', headers: json(), body: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { name: 'map of non-arrays', path: MAP_PATH, headers: json(), body: '[1,2,3]' },
  { name: 'map with a wrong input', path: MAP_PATH, headers: json(), body: '[["a","b"],[1,"b"]]' },
  { name: 'garbage msgpack', headers: msgpack, body: Buffer.from([0xc1, 0xc1, 0xc1]) },
  { name: 'array32 claiming 4G elements', headers: msgpack, body: Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]) },
  { name: 'map32 claiming 4G entries', headers: msgpack, body: Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]) },
  { name: 'str32 claiming 4 GiB', headers: msgpack, body: Buffer.from([0x92, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]) },
  { name: 'bin32 claiming 4 GiB', headers: msgpack, body: Buffer.from([0x92, 0xc6, 0xff, 0xff, 0xff, 0xff]) },
  { name: 'deep msgpack nesting', headers: msgpack, body: Buffer.alloc(60_000, 0x91) },
  { name: 'msgpack wrong types', headers: msgpack, body: Buffer.from([0x92, 0x01, 0x02]) },
  { name: 'over the body limit', headers: json(), body: `["${'x'.repeat(80 * 1024)}","b"]` },
  { name: 'text/plain', headers: { 'content-type': 'text/plain', ...bearer }, body: '["a","b"]' },
  { name: 'no content type', headers: { ...bearer }, body: '["a","b"]' },
  { name: 'multipart', headers: { 'content-type': 'multipart/form-data; boundary=x', ...bearer }, body: '--x\r\n\r\n--x--' },
  { name: 'GET call', method: 'GET', headers: { ...bearer } },
  { name: 'PUT call', method: 'PUT', headers: json(), body: '["a","b"]' },
  { name: 'DELETE call', method: 'DELETE', headers: { ...bearer } },
  { name: 'dot segments', path: '/v1/call/../call', headers: json(), body: '[1,2]' },
  { name: 'double slash', path: '//v1/call', headers: json(), body: '[1,2]' },
  { name: 'encoded letters', path: '/v1/%63all', headers: json(), body: '[1,2]' },
  { name: 'encoded null', path: '/v1/call%00', headers: json(), body: '[1,2]' },
  { name: 'long path', path: `/v1/${'a'.repeat(6000)}`, headers: json(), body: '[1,2]' },
  { name: 'unknown route', path: '/v2/call', headers: json(), body: '["a","b"]' },
  { name: 'no token', headers: { 'content-type': JSON_TYPE }, body: '["a","b"]' },
  { name: 'wrong token', headers: json({ authorization: 'Bearer corpus-token-0123456789abcdeX' }), body: '["a","b"]' },
  { name: 'token of another length', headers: json({ authorization: 'Bearer x' }), body: '["a","b"]' },
  { name: 'wrong scheme', headers: json({ authorization: `Basic ${TOKEN}` }), body: '["a","b"]' },
  { name: 'empty bearer', headers: json({ authorization: 'Bearer ' }), body: '["a","b"]' },
  { name: 'no token on map', path: MAP_PATH, headers: { 'content-type': JSON_TYPE }, body: '[["a","b"]]' },
];

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

/** One raw exchange over a socket: what the service sent before it closed (bounded by `boundMs`). */
function rawExchange(port: number, send: (write: (text: string) => void) => void, boundMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${boundMs} ms; received: ${received.slice(0, 200)}`));
    }, boundMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolvePromise(received);
    });
    socket.on('connect', () => send((text) => socket.write(text)));
  });
}

describe('a service under a corpus of bad requests', () => {
  let dir: string;
  let service: ChildService;
  let pool: Pool;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turbolift-corpus-'));
    const entry = join(dir, 'main.ts');
    writeFileSync(
      entry,
      `import { serve } from ${JSON.stringify(resolve(__dirname, '../index.ts'))};
function distance(a: string, b: string): number {
  let d = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) d++;
  return d;
}
void serve(distance, {
  name: 'distance',
  arity: 2,
  parameters: [
    { name: 'a', schema: { type: 'string' } },
    { name: 'b', schema: { type: 'string' } },
  ],
});
`,
    );
    service = await startChildService(entry, {
      TURBOLIFT_WORKERS: '2',
      TURBOLIFT_BODY_LIMIT: '64kb',
      TURBOLIFT_BODY_TIMEOUT_MS: '1000',
      [AUTH.tokenEnv]: TOKEN,
    });
    pool = new Pool(service.url, { connections: IN_FLIGHT });
  }, 60_000);

  afterAll(async () => {
    await pool?.close();
    service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every one with a 4xx and a TL_ code, keeps its process and memory, and serves a valid call after', async () => {
    const pid = service.child.pid!;
    const rssBefore = rssKiB(pid);
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

    const total = ROUNDS * CASES.length;
    let next = 0;
    const deadline = Date.now() + 150_000;
    const worker = async () => {
      while (next < total && Date.now() < deadline) {
        const item = CASES[next++ % CASES.length];
        const response = await pool.request({
          method: (item.method ?? 'POST') as 'POST',
          path: item.path ?? CALL_PATH,
          headers: item.headers,
          body: item.body,
          headersTimeout: PER_REQUEST_MS,
          bodyTimeout: PER_REQUEST_MS,
        });
        const text = await response.body.text();
        let code: string | undefined;
        try {
          code = JSON.parse(text)?.error?.code;
        } catch {
          code = undefined;
        }
        count(`${response.statusCode} ${code ?? '(no code)'}`);
        if (response.statusCode < 400 || response.statusCode >= 500 || !code?.startsWith('TL_')) {
          wrong.push(`${item.name}: ${response.statusCode} ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const sent = Math.min(next, total);

    // Declared but missing bodies, and requests that are not HTTP: a bounded handful, over raw sockets.
    const port = Number(new URL(service.url).port);
    const stalled = await Promise.all(
      Array.from({ length: 8 }, () =>
        rawExchange(
          port,
          (write) =>
            write(`POST ${CALL_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: ${JSON_TYPE}\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 1000\r\n\r\n["a",`),
          15_000,
        ),
      ),
    );
    for (const text of stalled) {
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toContain('TL_REQUEST_TIMEOUT');
    }
    const garbage = await Promise.all(
      ['GARBAGE\r\n\r\n', 'POST /v1/call HTTP/1.1\r\ncontent-length: -1\r\n\r\n', `GET /${'\u0000'} HTTP/1.1\r\n\r\n`].map((request) =>
        rawExchange(port, (write) => write(request), 15_000),
      ),
    );
    for (const text of garbage) {
      expect(text).toMatch(/^HTTP\/1\.1 400 /);
      expect(text).toContain('"code":"TL_BAD_REQUEST"');
    }

    const rssAfter = rssKiB(pid);
    console.log(
      [
        `bad-input corpus: ${sent} requests over undici + ${stalled.length} stalled bodies + ${garbage.length} non-HTTP requests`,
        ...[...seen].sort().map(([key, n]) => `  ${key}: ${n}`),
        `  service RSS: ${Math.round(rssBefore / 1024)} MiB before, ${Math.round(rssAfter / 1024)} MiB after`,
      ].join('\n'),
    );

    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    // The same process, still serving: a valid call with the token is answered.
    expect(service.child.exitCode).toBeNull();
    const valid = await pool.request({ method: 'POST', path: CALL_PATH, headers: json(), body: '["kitten","sitting"]' });
    expect(valid.statusCode).toBe(200);
    expect(await valid.body.text()).toBe('3');
    // Bounded memory: the corpus holds nothing once answered (a generous bound, not a speed or size target).
    expect(rssAfter).toBeLessThan(rssBefore + 300 * 1024);
  }, 240_000);
});
