/**
 * `liftedStub`: the typed async stand-in for a lifted function. The mode is read on every call:
 * `local` runs the implementation in this process, `distributed` calls its service over HTTP.
 * Nothing of the HTTP side is loaded before the first distributed call (see `pools.ts`).
 */
import { TurboliftCallError } from '../errors';
import { EndpointNotFoundError, endpointEnvVar, findEndpoint } from './endpoints';
import {
  createLiftedStub,
  type AnyFunction,
  type CallPolicy,
  type DistributedCalls,
  type EndpointTarget,
  type LiftedFunction,
  type LiftedStubOptions,
} from './lifted';
import type { BatchRunner } from './map';
import { callTarget, type CallTarget } from './pools';
import { callRemote, exchange, prepareSignal, remoteError, type WireError } from './remote-call';

export type { LiftedFunction, LiftedStubOptions } from './lifted';

export function liftedStub<F extends AnyFunction>(fnName: string, impl: F, options: LiftedStubOptions): LiftedFunction<F> {
  return createLiftedStub(fnName, impl, options, (policy) => overHttp(policy, options));
}

function overHttp(policy: CallPolicy, options: LiftedStubOptions): DistributedCalls {
  const { fnName } = policy;
  const lookup: EndpointLookup = { fnName, envVar: endpointEnvVar(fnName), service: options.service, namespace: options.namespace };
  return {
    call: (args) => callRemote(resolveTarget(lookup), policy, args),
    batchRunner: () => remoteBatchRunner(resolveTarget(lookup), policy),
  };
}

/** A batch on the service's map route; each input's outcome comes back in its place. */
function remoteBatchRunner(target: CallTarget, policy: CallPolicy): BatchRunner {
  return async (batch, signal, timing) => {
    prepareSignal(signal);
    const answer = await exchange(target, target.mapPath, policy, batch, signal, timing);
    if (!Array.isArray(answer) || answer.length !== batch.length) {
      throw new TurboliftCallError({
        code: 'TL_BAD_RESPONSE',
        fnName: policy.fnName,
        url: target.url,
        reason: Array.isArray(answer)
          ? `the map route answered ${answer.length} outcomes for ${batch.length} inputs`
          : 'the map route answered something that is not a list of outcomes',
      });
    }
    return (answer as Array<{ v?: unknown; e?: WireError }>).map((outcome) => {
      if (!outcome.e) return { ok: true, value: outcome.v };
      const error =
        outcome.e.code === 'TL_FUNCTION_THREW'
          ? remoteError(policy.fnName, target.url, outcome.e)
          : new TurboliftCallError({
              code: 'TL_SERVICE_ERROR',
              fnName: policy.fnName,
              url: target.url,
              reason: `${outcome.e.code}: ${outcome.e.message ?? ''}`,
              remoteCode: outcome.e.code,
            });
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
    const target = callTarget(endpoint.url);
    target.tokenFile = endpoint.tokenFile;
    return target;
  } catch (error) {
    throw new TurboliftCallError({ code: 'TL_NO_ENDPOINT', fnName, reason: `${(error as Error).message} (from ${endpoint.from})`, cause: error });
  }
}
