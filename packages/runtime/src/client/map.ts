/**
 * Fan-out: `fn.map(inputs)` runs the function once per input, many inputs per request and several
 * requests at once, and gives the results back in input order (or as they finish). The driver here
 * knows nothing of HTTP: it pulls inputs, cuts them into batches and hands each to a `BatchRunner`
 * (the service's map route, or the implementation in this process), so both modes share one set of
 * ordering, error and cancellation rules. Free of Node imports: the browser build runs local maps with it.
 */

export interface MapOptions {
  /** Batches in flight at once. Default 16: enough to keep every worker of a few replicas busy. */
  concurrency?: number;
  /**
   * Inputs per request. Default: sized from how long inputs take, so that one batch is about 50 ms of
   * work (a 1 ms function travels 50 to a request; a 2 s one travels alone) and, when the number of
   * inputs is known, so that every batch in flight gets a share.
   */
  batchSize?: number;
  /** Results in input order (default), or in the order they finish. */
  ordered?: boolean;
  /**
   * A failing input gives its error in its place and every other result still arrives. Without it the
   * first error rejects the map and the batches still in flight are cancelled.
   */
  returnErrors?: boolean;
  /** Called as batches finish. */
  onProgress?: (progress: MapProgress) => void;
}

export interface MapProgress {
  /** Inputs finished, failed ones included. */
  done: number;
  failed: number;
  /** Known when the inputs are an array. */
  total: number | undefined;
}

/** Awaiting it gives every result as an array; iterating it (`for await`) gives them one by one, as they are ready. */
export interface MapRun<T> extends PromiseLike<T[]>, AsyncIterable<T> {}

export type MapInputs<T> = Iterable<T> | AsyncIterable<T>;

export type BatchOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Runs one batch of argument arrays; `timing.runMs`, when set, is the time the batch really computed. */
export type BatchRunner = (batch: unknown[][], signal: AbortSignal, timing: { runMs?: number }) => Promise<BatchOutcome[]>;

interface NormalizedMapOptions {
  concurrency: number;
  batchSize: number | undefined;
  ordered: boolean;
  returnErrors: boolean;
  onProgress: ((progress: MapProgress) => void) | undefined;
}

const DEFAULT_CONCURRENCY = 16;
/** About this much work per batch: the ~0.1–0.3 ms an HTTP exchange costs is then under 1 %. */
const TARGET_BATCH_MS = 50;
const MAX_AUTO_BATCH = 1000;
/** Weight of the newest measurement in the running estimate of one input's time. */
const SMOOTHING = 0.3;

export function normalizeMapOptions(where: string, options: MapOptions = {}): NormalizedMapOptions {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new TypeError(`${where}: concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const { batchSize } = options;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1))
    throw new TypeError(`${where}: batchSize must be a whole number ≥ 1, got ${batchSize}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError(`${where}: onProgress must be a function`);
  return { concurrency, batchSize, ordered: options.ordered ?? true, returnErrors: options.returnErrors ?? false, onProgress: options.onProgress };
}

/** Lazy: nothing runs until the result is awaited or iterated; each await or iteration runs the map once. */
export function mapRun<T>(inputs: MapInputs<unknown[]>, options: NormalizedMapOptions, runBatch: BatchRunner): MapRun<T> {
  let all: Promise<T[]> | undefined;
  return {
    then(onFulfilled, onRejected) {
      all ??= (async () => {
        const results: T[] = [];
        for await (const result of drive<T>(inputs, options, runBatch)) results.push(result);
        return results;
      })();
      return all.then(onFulfilled, onRejected);
    },
    [Symbol.asyncIterator]: () => drive<T>(inputs, options, runBatch),
  };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function* drive<T>(inputs: MapInputs<unknown[]>, options: NormalizedMapOptions, runBatch: BatchRunner): AsyncGenerator<T> {
  const { concurrency, ordered, returnErrors, onProgress } = options;
  const total = Array.isArray(inputs) ? inputs.length : undefined;
  const source = inputSource(inputs);
  // Cancels the batches in flight; a runner whose batches listen on it says how many may (see remote-call.ts).
  const controller = new AbortController();
  // Ordered: outcomes wait here until every earlier one is out. Unordered: in the order they finished.
  const finished = new Map<number, BatchOutcome>();
  const finishedInOrder: BatchOutcome[] = [];
  let nextIndex = 0;
  let nextToYield = 0;
  let inFlight = 0;
  let exhausted = false;
  let firstError: { error: unknown } | undefined;
  let done = 0;
  let failed = 0;
  let perInputMs: number | undefined;
  let notify = deferred();

  const nextBatchSize = (): number => {
    if (options.batchSize) return options.batchSize;
    // The first batches measure: one input each, so that even a very slow function is never bunched.
    let size = perInputMs === undefined ? 1 : Math.max(1, Math.min(MAX_AUTO_BATCH, Math.floor(TARGET_BATCH_MS / Math.max(perInputMs, 1e-3))));
    // Every batch in flight gets a share of what is left, so that no worker idles while one batch runs long.
    if (total !== undefined) size = Math.min(size, Math.max(1, Math.ceil((total - nextIndex) / concurrency)));
    return size;
  };

  const settle = (first: number, outcomes: BatchOutcome[]) => {
    outcomes.forEach((outcome, offset) => {
      if (!outcome.ok) {
        failed++;
        if (!returnErrors) firstError ??= { error: outcome.error };
      }
      if (ordered) finished.set(first + offset, outcome);
      else finishedInOrder.push(outcome);
    });
    done += outcomes.length;
    onProgress?.({ done, failed, total });
  };

  const start = async (): Promise<void> => {
    const size = nextBatchSize();
    const batch: unknown[][] = [];
    while (batch.length < size) {
      const next = await source.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      batch.push(next.value);
    }
    if (batch.length === 0) return;
    const first = nextIndex;
    nextIndex += batch.length;
    inFlight++;
    const timing: { runMs?: number } = {};
    const began = performance.now();
    runBatch(batch, controller.signal, timing)
      .then(
        (outcomes) => {
          const ms = timing.runMs ?? performance.now() - began;
          const sample = ms / batch.length;
          perInputMs = perInputMs === undefined ? sample : perInputMs + SMOOTHING * (sample - perInputMs);
          settle(first, outcomes);
        },
        // The whole batch failed (no answer after the allowed retries): each of its inputs has that error.
        (error: unknown) =>
          settle(
            first,
            batch.map(() => ({ ok: false, error })),
          ),
      )
      .finally(() => {
        inFlight--;
        notify.resolve();
      });
  };

  try {
    for (;;) {
      while (!exhausted && !firstError && inFlight < concurrency) await start();
      if (firstError) throw firstError.error;
      if (ordered) {
        for (let outcome = finished.get(nextToYield); outcome; outcome = finished.get(nextToYield)) {
          finished.delete(nextToYield++);
          yield (outcome.ok ? outcome.value : outcome.error) as T;
        }
      } else {
        for (let outcome = finishedInOrder.shift(); outcome; outcome = finishedInOrder.shift()) {
          yield (outcome.ok ? outcome.value : outcome.error) as T;
        }
      }
      if (exhausted && inFlight === 0 && finished.size === 0 && finishedInOrder.length === 0) return;
      await notify.promise;
      notify = deferred();
    }
  } finally {
    // An error, or a consumer that stopped iterating: cancel what is in flight and close the source.
    controller.abort(new Error('map stopped'));
    await source.return?.();
  }
}

interface InputSource {
  next(): IteratorResult<unknown[]> | Promise<IteratorResult<unknown[]>>;
  return?(): unknown;
}

function inputSource(inputs: MapInputs<unknown[]>): InputSource {
  if (inputs && typeof (inputs as AsyncIterable<unknown[]>)[Symbol.asyncIterator] === 'function') {
    const iterator = (inputs as AsyncIterable<unknown[]>)[Symbol.asyncIterator]();
    return { next: () => iterator.next(), return: () => iterator.return?.() };
  }
  if (inputs && typeof (inputs as Iterable<unknown[]>)[Symbol.iterator] === 'function') {
    const iterator = (inputs as Iterable<unknown[]>)[Symbol.iterator]();
    return { next: () => iterator.next(), return: () => iterator.return?.() };
  }
  throw new TypeError(`map: inputs must be an array or an (async) iterable, got ${inputs === null ? 'null' : typeof inputs}`);
}

/** Arguments for `map`: each input is the function's single argument. An array stays an array, so its length is known. */
export function asArgumentLists<T>(inputs: MapInputs<T>): MapInputs<unknown[]> {
  if (Array.isArray(inputs)) return inputs.map((input) => [input]);
  if (inputs && typeof (inputs as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    return (async function* () {
      for await (const input of inputs as AsyncIterable<T>) yield [input];
    })();
  }
  if (inputs && typeof (inputs as Iterable<T>)[Symbol.iterator] === 'function') {
    return (function* () {
      for (const input of inputs as Iterable<T>) yield [input];
    })();
  }
  return inputs as never; // refused with a clear message by the driver
}

/** The batch runner of local mode: the implementation, in this process, one input after the other. */
export function localBatchRunner(impl: (...args: unknown[]) => unknown): BatchRunner {
  return async (batch, signal) => {
    const outcomes: BatchOutcome[] = [];
    for (const args of batch) {
      if (signal.aborted) throw signal.reason;
      try {
        outcomes.push({ ok: true, value: await impl(...args) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  };
}
