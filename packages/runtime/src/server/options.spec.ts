// Pool and connection settings: their defaults, and the refusals that name the setting.
import { describe, expect, it } from 'vitest';
import { cpusFor, quotaFromCfs, quotaFromCpuMax } from './cpus';
import { normalizeServeOptions } from './options';

const fn = (a: number) => a;

describe('CPUs a pool may use', () => {
  it('reads cgroup v2 cpu.max and v1 CFS quotas', () => {
    expect(quotaFromCpuMax('max 100000\n')).toBeUndefined();
    expect(quotaFromCpuMax('150000 100000\n')).toBe(1.5);
    expect(quotaFromCfs('-1\n', '100000\n')).toBeUndefined();
    expect(quotaFromCfs('200000\n', '100000\n')).toBe(2);
  });

  it('rounds a quota up, never past the cores, at least 1', () => {
    expect(cpusFor(undefined, 8)).toBe(8);
    expect(cpusFor(1, 8)).toBe(1);
    expect(cpusFor(1.5, 8)).toBe(2);
    expect(cpusFor(0.1, 8)).toBe(1);
    expect(cpusFor(16, 4)).toBe(4);
  });
});

describe('serve options for the pool', () => {
  it('runs inline when no entry module is known, in a pool when one is', () => {
    expect(normalizeServeOptions(fn, {}, {})).toMatchObject({ workers: 0, callTimeoutMs: 60_000, maxQueue: 128, maxQueueWaitMs: 10_000 });
    const pooled = normalizeServeOptions(fn, {}, {}, '/app/main.js');
    expect(pooled.workers).toBeGreaterThanOrEqual(1);
    expect(pooled.maxQueue).toBe(pooled.workers * 128);
  });

  it('takes TURBOLIFT_WORKERS, TURBOLIFT_CALL_TIMEOUT_MS, TURBOLIFT_MAX_QUEUE and TURBOLIFT_MAX_QUEUE_WAIT_MS, options first', () => {
    const env = { TURBOLIFT_WORKERS: '3', TURBOLIFT_CALL_TIMEOUT_MS: '0', TURBOLIFT_MAX_QUEUE: '5', TURBOLIFT_MAX_QUEUE_WAIT_MS: '250' };
    expect(normalizeServeOptions(fn, {}, env, '/app/main.js')).toMatchObject({ workers: 3, callTimeoutMs: 0, maxQueue: 5, maxQueueWaitMs: 250 });
    expect(normalizeServeOptions(fn, { workers: 1, maxQueue: 0 }, env, '/app/main.js')).toMatchObject({ workers: 1, maxQueue: 0 });
  });

  it('refuses bad settings by name', () => {
    expect(() => normalizeServeOptions(fn, {}, { TURBOLIFT_WORKERS: 'two' }, '/app/main.js')).toThrow(
      'TURBOLIFT_WORKERS="two" must be an integer from 0 to 1024',
    );
    expect(() => normalizeServeOptions(fn, { workers: 2 }, {})).toThrow(
      '2 workers need the module that calls serve (the entry option); use workers: 0 to run inline',
    );
    expect(() => normalizeServeOptions(fn, { callTimeoutMs: -1 }, {})).toThrow('serve option callTimeoutMs must be an integer from 0 to 2147483647, got -1');
  });
});

describe('serve options for connection timeouts', () => {
  it('defaults to 10 s for the head and a stalled body, 72 s keep-alive, and a request bound that scales with the body limit', () => {
    expect(normalizeServeOptions(fn, {}, {})).toMatchObject({
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 72_000,
    });
    // The largest body allowed still arrives at 1 MiB/s.
    expect(normalizeServeOptions(fn, { bodyLimit: 256 * 1024 * 1024 }, {}).requestTimeoutMs).toBe(256_000);
    expect(normalizeServeOptions(fn, {}, { TURBOLIFT_BODY_LIMIT: '100mb' }).requestTimeoutMs).toBe(100_000);
  });

  it('takes TURBOLIFT_HEADERS_TIMEOUT_MS, TURBOLIFT_BODY_TIMEOUT_MS, TURBOLIFT_REQUEST_TIMEOUT_MS and TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS, options first', () => {
    const env = {
      TURBOLIFT_HEADERS_TIMEOUT_MS: '2000',
      TURBOLIFT_BODY_TIMEOUT_MS: '0',
      TURBOLIFT_REQUEST_TIMEOUT_MS: '5000',
      TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS: '90000',
    };
    expect(normalizeServeOptions(fn, {}, env)).toMatchObject({ headersTimeoutMs: 2000, bodyTimeoutMs: 0, requestTimeoutMs: 5000, keepAliveTimeoutMs: 90_000 });
    expect(normalizeServeOptions(fn, { bodyTimeoutMs: 3000, requestTimeoutMs: 0 }, env)).toMatchObject({ bodyTimeoutMs: 3000, requestTimeoutMs: 0 });
  });

  it('refuses bad timeouts by name', () => {
    expect(() => normalizeServeOptions(fn, {}, { TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS: '500' })).toThrow(
      'TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS="500" must be an integer from 1000 to 2147482647',
    );
    expect(() => normalizeServeOptions(fn, {}, { TURBOLIFT_BODY_TIMEOUT_MS: '1.5s' })).toThrow(
      'TURBOLIFT_BODY_TIMEOUT_MS="1.5s" must be an integer from 0 to 2147483647',
    );
    expect(() => normalizeServeOptions(fn, { headersTimeoutMs: -1 }, {})).toThrow(
      'serve option headersTimeoutMs must be an integer from 0 to 2147483647, got -1',
    );
    expect(() => normalizeServeOptions(fn, { headersTimeoutMs: 20_000, requestTimeoutMs: 5000 }, {})).toThrow(
      'serve option headersTimeoutMs (TURBOLIFT_HEADERS_TIMEOUT_MS) must not exceed requestTimeoutMs (TURBOLIFT_REQUEST_TIMEOUT_MS): got 20000 > 5000',
    );
  });
});
