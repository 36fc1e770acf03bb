// The same call in local and distributed mode returns the same value, type and prototype included.
// Distributed calls go over real HTTP to a service on loopback: one running the function inline in this
// process, and one running it in a pool of worker threads in a process of its own, so that every value
// also crosses into a worker thread and back.
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChildService } from '../../test/child-service';
import { echo } from '../../test/fixtures/echo';
import { closeConnections, liftedStub, serve } from '../index';

const cases: Array<[string, unknown]> = [
  ['Buffer', Buffer.from('hello')],
  ['empty Buffer', Buffer.alloc(0)],
  ['Uint8Array', new Uint8Array([1, 2, 255])],
  ['Uint8ClampedArray', new Uint8ClampedArray([0, 255])],
  ['Int8Array', new Int8Array([-128, 127])],
  ['Uint16Array', new Uint16Array([65535])],
  ['Int16Array', new Int16Array([-32768])],
  ['Uint32Array', new Uint32Array([4294967295])],
  ['Int32Array', new Int32Array([-2147483648])],
  ['Float32Array', new Float32Array([1.5, -0.25])],
  ['Float64Array', new Float64Array([Math.PI, -1e300])],
  ['BigInt64Array', new BigInt64Array([-(2n ** 63n)])],
  ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n])],
  ['Date', new Date(1_700_000_000_123)],
  [
    'Map',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [3] }],
    ]),
  ],
  ['Set', new Set(['a', 1, null])],
  ['BigInt', 12345678901234567890n],
  ['negative BigInt beyond 64 bits', -(2n ** 80n)],
  ['undefined', undefined],
  ['undefined inside an array', [1, undefined, 3]],
  ['undefined property', { a: undefined, b: 1 }],
  ['NaN and Infinity', [NaN, Infinity, -Infinity]],
  ['large integer number', 2 ** 40],
  [
    'nested mix',
    {
      files: new Map([['a.txt', { bytes: Buffer.from('abc'), modified: new Date(0) }]]),
      tags: new Set([1n, 'x']),
      list: [undefined, new Float32Array([1]), { deep: [Buffer.alloc(3, 1)] }],
    },
  ],
  ['plain JSON', { name: 'x', n: 1.25, ok: true, none: null, list: ['a', { b: [] }] }],
  ['plain string array', Array.from({ length: 1000 }, (_, i) => `item ${i}`)],
];

const services = {
  async inline() {
    const running = await serve(echo, { name: 'echo', host: '127.0.0.1', port: 0, manageProcess: false, workers: 0 });
    return { url: running.url, stop: () => running.shutdown() };
  },
  async 'worker pool'() {
    const child = await startChildService(join(__dirname, '../../test/fixtures/echo-service.ts'), { TURBOLIFT_WORKERS: '2' });
    return { url: child.url, stop: async () => child.dispose() };
  },
};

describe.each(Object.keys(services) as Array<keyof typeof services>)('codec parity: local vs distributed (%s)', (kind) => {
  let service: { url: string; stop(): Promise<void> };
  const stub = liftedStub('echo', echo, { service: 'echo-service' });

  beforeAll(async () => {
    service = await services[kind]();
  });
  afterAll(async () => {
    await closeConnections();
    await service.stop();
  });
  afterEach(() => vi.unstubAllEnvs());

  const callIn = async (mode: 'local' | 'distributed', value: unknown) => {
    vi.stubEnv('TURBOLIFT_MODE', mode);
    vi.stubEnv('TURBOLIFT_ECHO_URL', service.url);
    return stub(value);
  };

  it.each(cases)('%s', async (_label, value) => {
    const local = await callIn('local', value);
    const distributed = await callIn('distributed', value);
    expect(distributed).toStrictEqual(local);
    // isDeepStrictEqual also compares prototypes at every level (Buffer vs Uint8Array, Map vs object).
    expect(isDeepStrictEqual(distributed, local)).toBe(true);
    expect(isDeepStrictEqual(distributed.value, value)).toBe(true);
  });

  it('keeps concurrent binary calls apart (request and response buffers are pooled)', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    vi.stubEnv('TURBOLIFT_ECHO_URL', service.url);
    const payloads = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 + i * 3000, i));
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(payloads.map((payload) => stub(payload)));
      results.forEach((result, i) => expect((result.value as Buffer).equals(payloads[i])).toBe(true));
    }
  });

  it('map gives every value back as a call does, in input order', async () => {
    const values = cases.map(([, value]) => value);
    vi.stubEnv('TURBOLIFT_ECHO_URL', service.url);
    vi.stubEnv('TURBOLIFT_MODE', 'local');
    const local = await stub.map(values, { batchSize: 7 });
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    const distributed = await stub.map(values, { batchSize: 7 });
    expect(distributed).toHaveLength(values.length);
    expect(isDeepStrictEqual(distributed, local)).toBe(true);
  });

  it('gives Buffers back as Buffer, not as a plain Uint8Array', async () => {
    const result = await callIn('distributed', Buffer.from('bytes'));
    expect(result.isBuffer).toBe(true);
    expect(Buffer.isBuffer(result.value)).toBe(true);
  });
});
