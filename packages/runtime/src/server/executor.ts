/**
 * Where a lifted function runs: inline on the main thread, or in a piscina pool of worker threads.
 * The service's routes only ever see `Executor.run`, so HTTP, probes, the drain and the signals stay the
 * same in both; with a pool the main thread never runs the function and answers the probes in
 * milliseconds whatever the function is doing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import type * as PiscinaPackage from 'piscina';
import { SERVICE_ENV } from '../contract';
import { ServiceError, callTimedOut, overloaded } from './errors';
import { errorAnswer, invoke, ownedEncoder, pooledEncoder, type Answer, type Invocation, type InvokeSettings, type Route, type ServedFunction } from './invoke';
import type { NormalizedServeOptions } from './options';
import { POOL_HANDLER_SYMBOL, POOL_TASK_FILE, POOL_WORKER_DATA_KEY, type PoolWorkerData } from './pool-protocol';

export interface Executor {
  /** `inline` or `N workers`, for the service's start line. */
  readonly description: string;
  run(invocation: Invocation): Answer | Promise<Answer>;
  /** Resolves once the function can be called (the workers have loaded it); rejects with the reason when they cannot. */
  ready(): Promise<void>;
  /** After the last call: stops the workers. */
  close(): Promise<void>;
}

export function createExecutor(fn: ServedFunction, options: NormalizedServeOptions): Executor {
  return options.workers === 0 ? new InlineExecutor(fn, options) : new PoolExecutor(options);
}

/** The function on the main thread: no thread hop, but a long synchronous call blocks everything else. */
class InlineExecutor implements Executor {
  readonly description = 'inline';
  constructor(
    private readonly fn: ServedFunction,
    private readonly options: NormalizedServeOptions,
  ) {}

  run(invocation: Invocation): Answer | Promise<Answer> {
    const answer = invoke(this.fn, this.options, invocation, pooledEncoder);
    const { callTimeoutMs, name } = this.options;
    if (!(answer instanceof Promise) || callTimeoutMs === 0) return answer;
    // The caller is answered at the limit; an asynchronous function cannot be stopped, so it runs on.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve(errorAnswer(callTimedOut(name, callTimeoutMs, false))), callTimeoutMs);
    });
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Beside this module: dist/server in the package, the bundle's own folder in a bundle. */
const POOL_TASK_PATH = join(__dirname, POOL_TASK_FILE);

/** Asks a worker to answer without calling the function: proves it loaded the service's entry. */
const PING: Invocation = { route: 'call', contentType: 'ping', body: new Uint8Array(0) };

class PoolExecutor implements Executor {
  readonly description: string;
  private readonly pool: PiscinaPackage.Piscina;
  /** Calls handed to piscina: never more than the workers, so piscina's own queue never holds a backlog. */
  private handedOver = 0;
  /**
   * Calls waiting for a worker, in arrival order. The queue is ours, not piscina's: piscina moves a call it
   * cannot place right away to the back of its queue, so under a steady load a waiting call can be overtaken
   * by every later one until the load stops (it then fails at its time limit, or the caller's).
   */
  private readonly waiting: Array<() => void> = [];
  /**
   * How long calls ran in their worker (running averages; undefined until one has finished), and how many of
   * each route are in flight: a map batch and a call may take very different times on the same service, so the
   * wait ahead of a new call is estimated from what is in flight now, not from whatever ran last.
   */
  private readonly averageRunMs: Record<Route, number | undefined> = { call: undefined, map: undefined };
  /** Calls accepted and not settled, running and waiting, by route. */
  private readonly inFlightByRoute: Record<Route, number> = { call: 0, map: 0 };

  private get inFlight(): number {
    return this.inFlightByRoute.call + this.inFlightByRoute.map;
  }

  constructor(private readonly options: NormalizedServeOptions) {
    // normalizeServeOptions refuses workers without an entry; this keeps a caller that skipped it honest.
    if (!options.entry) throw new TypeError(`serve(${options.name}): a worker pool needs the module that calls serve (the entry option)`);
    const data: PoolWorkerData = { entry: options.entry };
    this.description = `${options.workers} worker${options.workers === 1 ? '' : 's'}`;
    // Loaded with the first pool, not at import: a process that imports the runtime for a stub never loads it.
    const { Piscina } = require('piscina') as typeof PiscinaPackage;
    this.pool = new Piscina({
      filename: POOL_TASK_PATH,
      minThreads: options.workers,
      maxThreads: options.workers,
      // Threads stay up: starting one costs the load of the whole service module.
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // The bound on waiting calls is ours (503 at once, below); piscina's own queue never refuses.
      maxQueue: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      workerData: { [POOL_WORKER_DATA_KEY]: data },
      // The entry runs again in each worker: it sees the command line it was started with.
      argv: process.argv.slice(2),
    });
    // A worker that dies (the function exits the process, runs out of memory) is replaced by piscina;
    // the call it ran fails with TL_WORKER_FAILED below. This only keeps the event from being unhandled.
    this.pool.on('error', (error: Error) => process.stderr.write(`${options.name}: a worker thread failed: ${error.message}\n`));
  }

  run(invocation: Invocation): Promise<Answer> {
    const { callTimeoutMs, name } = this.options;
    const { route } = invocation;
    const refusal = this.refusal();
    if (refusal) return Promise.resolve(refusal);
    this.inFlightByRoute[route]++;
    const body = ownBytes(invocation.body);
    const task = { route, contentType: invocation.contentType, body };
    const controller = callTimeoutMs > 0 ? new AbortController() : undefined;
    const timer = controller && setTimeout(() => controller.abort(), callTimeoutMs);
    let started = false;
    const runOnWorker = (): Promise<Answer> => {
      started = true;
      // Moving the body hands its memory to the worker instead of copying it.
      return this.pool.run(task, { signal: controller?.signal, transferList: [body.buffer as ArrayBuffer] }).finally(() => this.passWorkerOn());
    };
    return this.workerFree(controller?.signal)
      .then(runOnWorker)
      .then(
        (answer: Answer) => {
          // How long calls run is what the queue's time bound is estimated from.
          const average = this.averageRunMs[route];
          if (answer.runMs !== undefined) this.averageRunMs[route] = average === undefined ? answer.runMs : average + 0.2 * (answer.runMs - average);
          return answer;
        },
        (error: Error) => errorAnswer(controller?.signal.aborted ? callTimedOut(name, callTimeoutMs, started) : workerFailed(name, error)),
      )
      .finally(() => {
        this.inFlightByRoute[route]--;
        clearTimeout(timer);
      });
  }

  /**
   * 503 when the queue is full: by count (the memory waiting calls hold), or by time (the calls ahead would
   * keep a new one waiting past maxQueueWaitMs). `retry-after` is the estimated wait, in whole seconds.
   */
  private refusal(): Answer | undefined {
    const { workers, maxQueue, maxQueueWaitMs, name } = this.options;
    const waiting = this.inFlight - workers;
    if (waiting < 0) return undefined;
    const estimatedWaitMs = ((waiting + 1) / workers) * this.meanRunMsInFlight();
    let bound: string | undefined;
    if (waiting >= maxQueue) bound = `${SERVICE_ENV.maxQueue} ${maxQueue}`;
    else if (maxQueueWaitMs > 0 && estimatedWaitMs > maxQueueWaitMs)
      bound = `about ${Math.round(estimatedWaitMs)} ms of waiting, over ${SERVICE_ENV.maxQueueWaitMs} ${maxQueueWaitMs}`;
    if (!bound) return undefined;
    return { ...errorAnswer(overloaded(name, waiting, bound)), retryAfterSeconds: Math.floor(estimatedWaitMs / 1000) };
  }

  /** The average run time of the calls in flight, by their routes; 0 while nothing has been measured. */
  private meanRunMsInFlight(): number {
    // A route not measured yet counts as quick: refusing on a guess would turn away what may be light work.
    const callMs = this.averageRunMs.call ?? 0;
    const mapMs = this.averageRunMs.map ?? 0;
    return this.inFlight === 0 ? 0 : (this.inFlightByRoute.call * callMs + this.inFlightByRoute.map * mapMs) / this.inFlight;
  }

  /** Resolves when this call may have a worker: at once if one is free, else in arrival order; rejects if `signal` aborts first. */
  private workerFree(signal: AbortSignal | undefined): Promise<void> {
    if (this.handedOver < this.options.workers && this.waiting.length === 0) {
      this.handedOver++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const position = this.waiting.indexOf(take);
        if (position >= 0) this.waiting.splice(position, 1);
        reject(signal?.reason);
      };
      const take = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  /** A call left its worker: the first waiting call takes it over. */
  private passWorkerOn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.handedOver--;
  }

  async ready(): Promise<void> {
    const taskFile = POOL_TASK_PATH;
    if (!existsSync(taskFile)) {
      // A bundle made without @turbolift/runtime/bundling's entries: say what is missing and the way out.
      throw new Error(
        `${taskFile} is missing: a bundle of this service must carry the worker pool's entries beside its main file ` +
          `(require('@turbolift/runtime/bundling').serviceBundleEntries()), or run the function inline with ${SERVICE_ENV.workers}=0`,
      );
    }
    try {
      await this.pool.run(PING);
    } catch (error) {
      throw new Error(`${this.options.name}: the worker threads cannot load ${this.options.entry}: ${(error as Error).message}`, { cause: error });
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

function workerFailed(name: string, error: Error): ServiceError {
  return new ServiceError('TL_WORKER_FAILED', 500, `${name}: the worker thread running the call stopped: ${error.message}`);
}

/**
 * Bytes that may be moved to another thread. A Buffer that spans its whole ArrayBuffer is ours alone
 * (Node's shared allocation pool only ever hands out part of one); anything else is copied once, to
 * exactly its length, rather than letting the structured clone copy the whole backing store.
 */
function ownBytes(body: Uint8Array): Uint8Array {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) return body;
  return new Uint8Array(body);
}

/** In a pool worker: the data the main thread passed, else undefined (the main thread, or someone else's worker). */
export function poolWorkerData(): PoolWorkerData | undefined {
  if (isMainThread) return undefined;
  return (workerData as Record<string, PoolWorkerData> | null | undefined)?.[POOL_WORKER_DATA_KEY];
}

/** Called by `serve(fn)` in a pool worker: the task handler `pool-task` exports. */
export function registerPoolHandler(fn: ServedFunction, settings: InvokeSettings): void {
  const handler = async (task: Invocation): Promise<Answer> => {
    if (task.contentType === PING.contentType) return { status: 200, contentType: 'ping', body: '' };
    const started = performance.now();
    const answer = await invoke(fn, settings, task, ownedEncoder);
    // How long calls run is what the main thread bounds its queue by.
    answer.runMs ??= performance.now() - started;
    // The answer is cloned to the main thread: ownedEncoder gave it a buffer of exactly its bytes, so
    // only those are copied. It cannot be moved instead: piscina marks movable values with a symbol of
    // its own module, and in a bundle the worker's copy of piscina is not the one this code imports.
    return answer;
  };
  (globalThis as Record<symbol, unknown>)[POOL_HANDLER_SYMBOL] = handler;
}
