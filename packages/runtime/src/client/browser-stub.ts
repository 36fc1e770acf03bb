/**
 * `liftedStub` in the browser build: local mode as in Node (the implementation in this process, the
 * same `map` and `starmap`); distributed mode rejects with `TL_DISTRIBUTED_IN_BROWSER`. There is no
 * browser transport: a lifted service answers any caller that reaches it, with no CORS headers and no
 * caller authentication, so it is not to be called from pages.
 */
import { TurboliftCallError } from '../errors';
import { createLiftedStub, type AnyFunction, type DistributedCalls, type LiftedFunction, type LiftedStubOptions } from './lifted';

export type { LiftedFunction, LiftedStubOptions } from './lifted';

export function liftedStub<F extends AnyFunction>(fnName: string, impl: F, options: LiftedStubOptions): LiftedFunction<F> {
  return createLiftedStub(fnName, impl, options, (policy): DistributedCalls => {
    const refuse = (): never => {
      throw distributedInBrowser(policy.fnName);
    };
    return { call: refuse, batchRunner: refuse };
  });
}

function distributedInBrowser(fnName: string): TurboliftCallError {
  return new TurboliftCallError({
    code: 'TL_DISTRIBUTED_IN_BROWSER',
    fnName,
    reason:
      'TURBOLIFT_MODE is "distributed", but this is the browser build of @turbolift/runtime, which runs lifted functions in local mode only ' +
      '(lifted services send no CORS headers, and their caller token must not be shipped to a page, so they are not called from browsers). ' +
      'Call the function from server-side code, which uses the Node build, or leave TURBOLIFT_MODE unset (local) here.',
  });
}

/** Nothing to close: the browser build opens no connections. Here so that code written for Node runs unchanged. */
export function closeConnections(): Promise<void> {
  return Promise.resolve();
}
