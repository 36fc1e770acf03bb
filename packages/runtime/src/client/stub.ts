/**
 * `liftedStub`: the typed async stand-in for a lifted function. The mode is read on every call:
 * `local` runs the implementation in this process, `distributed` calls its service.
 */
import { TurboliftCallError } from '../errors';
import { currentMode } from '../mode';
import { EndpointNotFoundError, endpointEnvVar, findEndpoint, type EndpointTarget } from './endpoints';
import { callTarget, type CallTarget } from './pools';
import { callRemote, type CallPolicy } from './remote-call';

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

export type LiftedFunction<F extends AnyFunction> = (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;

export function liftedStub<F extends AnyFunction>(fnName: string, impl: F, options: LiftedStubOptions): LiftedFunction<F> {
  const policy = normalizePolicy(fnName, impl, options);
  const target: EndpointLookup = { fnName, envVar: endpointEnvVar(fnName), service: options.service, namespace: options.namespace };

  // Not async itself: one promise less per call on the hot path.
  function lifted(...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> {
    try {
      if (currentMode() === 'local') return Promise.resolve(impl(...args));
      return callRemote(resolveTarget(target), policy, args) as Promise<Awaited<ReturnType<F>>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }
  Object.defineProperty(lifted, 'name', { value: fnName });
  return lifted;
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
