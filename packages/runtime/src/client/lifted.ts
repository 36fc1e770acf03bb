/**
 * The stub itself, the same in every build: the options, local mode (the implementation in this
 * process, `map` and `starmap` through the fan-out driver) and the mode switch. What distributed mode
 * does is handed in: HTTP calls in the Node build (`stub.ts`), a refusal in the browser build
 * (`browser-stub.ts`). Free of Node imports, so a browser bundle can carry it.
 */
import { currentMode } from '../mode';
import { asArgumentLists, localBatchRunner, mapRun, normalizeMapOptions, type BatchRunner, type MapInputs, type MapOptions, type MapRun } from './map';

export interface EndpointTarget {
  /** Kubernetes Service name of the lifted service. */
  service: string;
  /** Kubernetes namespace; default `$TURBOLIFT_NAMESPACE`, the pod's own namespace, else `default`. */
  namespace?: string;
}

export interface LiftedStubOptions extends EndpointTarget {
  /** Safe to send twice? Only idempotent calls are retried. Default true. */
  idempotent?: boolean;
  /** Time budget of one call, retries included, in ms. Default 30000. */
  timeoutMs?: number;
  /** Extra attempts after a connection failure or a 503. Default 3. */
  retries?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => any;

type Result<F extends AnyFunction> = Awaited<ReturnType<F>>;

/** The stub: the function's own signature, async, plus fan-out over many inputs. */
export interface LiftedFunction<F extends AnyFunction> {
  (...args: Parameters<F>): Promise<Result<F>>;
  /** One call per input, each input being the function's first argument; results in input order. */
  map(inputs: MapInputs<Parameters<F>[0]>, options?: MapOptions & { returnErrors?: false }): MapRun<Result<F>>;
  /** With `returnErrors`, a failed input gives its error (RemoteError, TurboliftCallError...) in its place. */
  map(inputs: MapInputs<Parameters<F>[0]>, options: MapOptions & { returnErrors: true }): MapRun<Result<F> | Error>;
  /** As `map`, each input being the whole argument list. */
  starmap(inputs: MapInputs<Parameters<F>>, options?: MapOptions & { returnErrors?: false }): MapRun<Result<F>>;
  starmap(inputs: MapInputs<Parameters<F>>, options: MapOptions & { returnErrors: true }): MapRun<Result<F> | Error>;
}

/** The stub's options, checked. */
export interface CallPolicy {
  fnName: string;
  idempotent: boolean;
  timeoutMs: number;
  retries: number;
}

/** What distributed mode does. Both are used when a call is made or a map starts, never before. */
export interface DistributedCalls {
  /** One call. May throw (no endpoint...): the stub turns that into a rejection. */
  call(args: unknown[]): Promise<unknown>;
  /** The batch runner of a map starting now. May throw: the map then rejects with that error. */
  batchRunner(): BatchRunner;
}

export function createLiftedStub<F extends AnyFunction>(
  fnName: string,
  impl: F,
  options: LiftedStubOptions,
  distributed: (policy: CallPolicy) => DistributedCalls,
): LiftedFunction<F> {
  const policy = normalizePolicy(fnName, impl, options);
  const remote = distributed(policy);

  // Not async itself: one promise less per call on the hot path.
  function lifted(...args: Parameters<F>): Promise<Result<F>> {
    try {
      if (currentMode() === 'local') return Promise.resolve(impl(...args));
      return remote.call(args) as Promise<Result<F>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }
  // The mode and the endpoint are read when the map starts, as a call reads them when it is made.
  const batchRunner = (): BatchRunner => (currentMode() === 'local' ? localBatchRunner(impl) : remote.batchRunner());
  const fanOut = (where: string, inputs: MapInputs<unknown[]>, options: MapOptions | undefined) => {
    const normalized = normalizeMapOptions(`${fnName}.${where}`, options);
    let runner: BatchRunner | undefined;
    return mapRun(inputs, normalized, (batch, signal, timing) => (runner ??= batchRunner())(batch, signal, timing));
  };
  const stub = lifted as LiftedFunction<F>;
  Object.defineProperty(stub, 'name', { value: fnName });
  stub.map = ((inputs: MapInputs<unknown>, options?: MapOptions) => fanOut('map', asArgumentLists(inputs), options)) as LiftedFunction<F>['map'];
  stub.starmap = ((inputs: MapInputs<unknown[]>, options?: MapOptions) => fanOut('starmap', inputs, options)) as LiftedFunction<F>['starmap'];
  return stub;
}

function normalizePolicy(fnName: string, impl: AnyFunction, options: LiftedStubOptions): CallPolicy {
  const where = `liftedStub(${JSON.stringify(fnName)})`;
  if (!fnName) throw new TypeError("liftedStub: fnName must be the lifted function's name");
  if (typeof impl !== 'function') throw new TypeError(`${where}: impl must be the function itself, got ${typeof impl}`);
  if (!options || !options.service) throw new TypeError(`${where}: options.service (the service name) is required`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError(`${where}: timeoutMs must be a positive number of ms, got ${timeoutMs}`);
  if (!(Number.isInteger(retries) && retries >= 0)) throw new TypeError(`${where}: retries must be a whole number ≥ 0, got ${retries}`);
  return { fnName, idempotent: options.idempotent ?? true, timeoutMs, retries };
}
