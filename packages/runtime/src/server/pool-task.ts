/**
 * The module piscina loads in every worker thread. It loads the service's own entry (the module that
 * calls `serve(fn)`); there `serve` sees it runs in a pool worker, registers the function's handler
 * instead of listening, and this module exports that handler as the pool's task function.
 */
import { workerData } from 'node:worker_threads';
import { POOL_HANDLER_SYMBOL, POOL_WORKER_DATA_KEY, type PoolWorkerData } from './pool-protocol';

const { entry } = (workerData as Record<string, PoolWorkerData>)[POOL_WORKER_DATA_KEY];

require(entry);
const handler = (globalThis as Record<symbol, unknown>)[POOL_HANDLER_SYMBOL];
if (typeof handler !== 'function') {
  throw new Error(`${entry} was loaded in a worker thread but did not call serve(fn) at its top level`);
}
module.exports = handler;
