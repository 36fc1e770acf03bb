/**
 * What the main thread and a pool worker agree on. Kept free of imports: `pool-task.ts` is bundled as a
 * file of its own and must not carry a second copy of the runtime.
 */

/** Key in the worker's `workerData` under which the main thread says which module to load. */
export const POOL_WORKER_DATA_KEY = 'turbolift.pool';

/** Where `serve(fn)` running in a pool worker leaves the task handler for `pool-task` to export. */
export const POOL_HANDLER_SYMBOL = Symbol.for('turbolift.pool.handler');

export interface PoolWorkerData {
  /** The module whose top level calls `serve(fn)`: loading it in the worker registers the function. */
  entry: string;
}

/** The file piscina loads in each worker, beside the module that starts the pool (and beside main.js in a bundle). */
export const POOL_TASK_FILE = 'pool-task.js';
