// The fan-out driver's rules, with batch runners that stand in for the service: how inputs are pulled,
// batched and ordered, how errors travel, and what stopping early cancels. (The service itself is
// exercised over real HTTP in server/pool.spec.ts and client/parity.spec.ts.)
import { describe, expect, it } from 'vitest';
import { asArgumentLists, localBatchRunner, mapRun, normalizeMapOptions, type BatchRunner } from './map';

const options = (overrides: Parameters<typeof normalizeMapOptions>[1] = {}) => normalizeMapOptions('fn.map', overrides);
const double = localBatchRunner((n: unknown) => (n as number) * 2);
const numbers = (count: number) => Array.from({ length: count }, (_, i) => i);

describe('map driver', () => {
  it('gives results in input order from an array, a generator and an async generator', async () => {
    const expected = numbers(50).map((n) => n * 2);
    expect(await mapRun(asArgumentLists(numbers(50)), options({ concurrency: 3 }), double)).toEqual(expected);
    expect(
      await mapRun(
        asArgumentLists(
          (function* () {
            yield* numbers(50);
          })(),
        ),
        options(),
        double,
      ),
    ).toEqual(expected);
    const slowSource = async function* () {
      for (const n of numbers(50)) {
        await new Promise((resolve) => setImmediate(resolve));
        yield n;
      }
    };
    expect(await mapRun(asArgumentLists(slowSource()), options({ batchSize: 7 }), double)).toEqual(expected);
  });

  it('keeps at most `concurrency` batches in flight and pulls a stream only as batches go out', async () => {
    let pulled = 0;
    let finished = 0;
    let inFlight = 0;
    let peak = 0;
    const source = (function* () {
      for (const n of numbers(40)) {
        pulled++;
        yield n;
      }
    })();
    const runner: BatchRunner = async (batch) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Nothing beyond the batches in flight has been read from the stream.
      expect(pulled - finished).toBeLessThanOrEqual(4 * 2);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      finished += batch.length;
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    expect(await mapRun(asArgumentLists(source), options({ concurrency: 4, batchSize: 2 }), runner)).toEqual(numbers(40));
    expect(peak).toBe(4);
  });

  it('with ordered: false gives results as batches finish', async () => {
    // Input 0 finishes last.
    const runner: BatchRunner = async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, batch[0][0] === 0 ? 30 : 1));
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    const results: unknown[] = [];
    for await (const result of mapRun(asArgumentLists(numbers(4)), options({ ordered: false, batchSize: 1 }), runner)) results.push(result);
    expect(results).toHaveLength(4);
    expect(results[3]).toBe(0);
  });

  it('puts a failed input in its place with returnErrors, and rejects on the first one without, cancelling the rest', async () => {
    const failing = localBatchRunner((n: unknown) => {
      if (n === 3) throw new RangeError('three');
      return n;
    });
    const placed = await mapRun(asArgumentLists(numbers(6)), options({ returnErrors: true, batchSize: 2 }), failing);
    expect(placed.filter((_, i) => i !== 3)).toEqual([0, 1, 2, 4, 5]);
    expect(placed[3]).toBeInstanceOf(RangeError);

    const signals: AbortSignal[] = [];
    const slowAfterFailure: BatchRunner = async (batch, signal) => {
      signals.push(signal);
      if (batch[0][0] === 0) throw new RangeError('first batch failed');
      await new Promise((resolve) => setTimeout(resolve, 20));
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    await expect(mapRun(asArgumentLists(numbers(8)), options({ batchSize: 2 }), slowAfterFailure)).rejects.toThrow('first batch failed');
    // Every batch shares one signal, and it was aborted when the map failed.
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('stopping the iteration early cancels what is in flight and closes the source', async () => {
    let closed = false;
    const source = (function* () {
      try {
        yield* numbers(1000);
      } finally {
        closed = true;
      }
    })();
    let signal: AbortSignal | undefined;
    const runner: BatchRunner = async (batch, s) => {
      signal = s;
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    for await (const result of mapRun(asArgumentLists(source), options({ batchSize: 10 }), runner)) if (result === 5) break;
    expect(closed).toBe(true);
    expect(signal?.aborted).toBe(true);
  });

  it('sizes batches from the measured time per input, and shares what is left among the batches in flight', async () => {
    const sizes: number[] = [];
    // The service reports 0.1 ms per input: batches grow to about 50 ms of work, capped by the fair share.
    const runner: BatchRunner = async (batch, _signal, timing) => {
      sizes.push(batch.length);
      timing.runMs = batch.length * 0.1;
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    const progress: number[] = [];
    await mapRun(asArgumentLists(numbers(10_000)), options({ concurrency: 4, onProgress: (p) => progress.push(p.done) }), runner);
    expect(sizes[0]).toBe(1); // the first batch measures
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(400);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(progress[progress.length - 1]).toBe(10_000);

    // A slow function (2 s per input) travels one input per request.
    const slowSizes: number[] = [];
    const slow: BatchRunner = async (batch, _signal, timing) => {
      slowSizes.push(batch.length);
      timing.runMs = batch.length * 2000;
      return batch.map(([n]) => ({ ok: true, value: n }));
    };
    await mapRun(asArgumentLists(numbers(40)), options({ concurrency: 4 }), slow);
    expect(new Set(slowSizes)).toEqual(new Set([1]));
  });

  it('refuses bad options and inputs by name', async () => {
    expect(() => options({ concurrency: 0 })).toThrow('fn.map: concurrency must be a whole number ≥ 1, got 0');
    expect(() => options({ batchSize: 1.5 })).toThrow('fn.map: batchSize must be a whole number ≥ 1, got 1.5');
    await expect(mapRun(asArgumentLists(42 as never), options(), double)).rejects.toThrow('map: inputs must be an array or an (async) iterable, got number');
  });
});
