/**
 * `liftedStub`: the typed async stand-in for a lifted function. The mode is read on every call:
 * `local` runs the implementation in this process, `distributed` calls its service.
 */
import { TurboliftCallError } from '../errors';
import { currentMode } from '../mode';
import { EndpointNotFoundError, endpointEnvVar, findEndpoint, type EndpointTarget } from './endpoints';
import { asArgumentLists, localBatchRunner, mapRun, normalizeMapOptions, type BatchRunner, type MapInputs, type MapOptions, type MapRun } from './map';
import { callTarget, type CallTarget } from './pools';
import { callRemote, exchange, remoteError, type CallPolicy, type WireError } from './remote-call';

export interface LiftedStubOptions extends EndpointTarget {
  /** Safe to send twice? Only idempotent calls are retried. Default true. */
  idempotent?: boolean;
  /** Time budget of one call, retries included, in ms. Default 30000. */
  timeoutMs?: number;
  /** Extra attempts after a connection failure or a 503. Default 3. */
  retries?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

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

export function liftedStub<F extends AnyFunction>(fnName: string, impl: F, options: LiftedStubOptions): LiftedFunction<F> {
  const policy = normalizePolicy(fnName, impl, options);
  const target: EndpointLookup = { fnName, envVar: endpointEnvVar(fnName), service: options.service, namespace: options.namespace };

  // Not async itself: one promise less per call on the hot path.
  function lifted(...args: Parameters<F>): Promise<Result<F>> {
    try {
      if (currentMode() === 'local') return Promise.resolve(impl(...args));
      return callRemote(resolveTarget(target), policy, args) as Promise<Result<F>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }
  // The mode and the endpoint are read when the map starts, as a call reads them when it is made.
  const batchRunner = (): BatchRunner => (currentMode() === 'local' ? localBatchRunner(impl) : remoteBatchRunner(resolveTarget(target), policy));
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

/** A batch on the service's map route; each input's outcome comes back in its place. */
function remoteBatchRunner(target: CallTarget, policy: CallPolicy): BatchRunner {
  return async (batch, signal, timing) => {
    const answer = await exchange(target, target.mapPath, policy, batch, signal, timing);
    if (!Array.isArray(answer) || answer.length !== batch.length) {
      throw new TurboliftCallError({ code: 'TL_BAD_RESPONSE', fnName: policy.fnName, url: target.url, reason: `the map route answered ${Array.isArray(answer) ? `${answer.length} outcomes for ${batch.length} inputs` : 'something that is not a list of outcomes'}` });
    }
    return (answer as Array<{ v?: unknown; e?: WireError }>).map((outcome) => {
      if (!outcome.e) return { ok: true, value: outcome.v };
      const error =
        outcome.e.code === 'TL_FUNCTION_THREW'
          ? remoteError(policy.fnName, target.url, outcome.e)
          : new TurboliftCallError({ code: 'TL_SERVICE_ERROR', fnName: policy.fnName, url: target.url, reason: `${outcome.e.code}: ${outcome.e.message ?? ''}`, remoteCode: outcome.e.code });
      return { ok: false, error };
    });
  };
}

interface EndpointLookup extends EndpointTarget {
  fnName: string;
  envVar: string;
}

function resolveTarget(lookup: EndpointLookup): CallTarget {
  const { fnName } = lookup;
  // The env var is checked first on every call: a plain read, before anything else.
  const fromEnv = process.env[lookup.envVar];
  if (fromEnv) {
    try {
      return callTarget(fromEnv);
    } catch (error) {
      throw new TurboliftCallError({ code: 'TL_NO_ENDPOINT', fnName, reason: `${(error as Error).message} (from ${lookup.envVar})`, cause: error });
    }
  }
  let endpoint;
  try {
    endpoint = findEndpoint(fnName, lookup);
  } catch (error) {
    const reason = error instanceof EndpointNotFoundError ? error.message.replace(`no endpoint for ${fnName} `, 'no endpoint ') : (error as Error).message;
    throw new TurboliftCallError({ code: 'TL_NO_ENDPOINT', fnName, reason, cause: error });
  }
  try {
    return callTarget(endpoint.url);
  } catch (error) {
    throw new TurboliftCallError({ code: 'TL_NO_ENDPOINT', fnName, reason: `${(error as Error).message} (from ${endpoint.from})`, cause: error });
  }
}

function normalizePolicy(fnName: string, impl: AnyFunction, options: LiftedStubOptions): CallPolicy {
  const where = `liftedStub(${JSON.stringify(fnName)})`;
  if (!fnName) throw new TypeError('liftedStub: fnName must be the lifted function\'s name');
  if (typeof impl !== 'function') throw new TypeError(`${where}: impl must be the function itself, got ${typeof impl}`);
  if (!options || !options.service) throw new TypeError(`${where}: options.service (the service name) is required`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError(`${where}: timeoutMs must be a positive number of ms, got ${timeoutMs}`);
  if (!(Number.isInteger(retries) && retries >= 0)) throw new TypeError(`${where}: retries must be a whole number ≥ 0, got ${retries}`);
  return { fnName, idempotent: options.idempotent ?? true, timeoutMs, retries };
}
