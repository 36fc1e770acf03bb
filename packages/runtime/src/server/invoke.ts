/**
 * One request to a lifted function, from its bytes to the bytes of the answer: decode, check, call,
 * encode. The same code runs on the main thread (inline) and in a pool worker, so both give the same
 * answers, codes and reasons; only the thread differs.
 */
import { parse as parseJsonSafely } from 'secure-json-parse';
import { JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE, encode, encodePooled, mediaType } from '../codec';
import { unpackMsgpack, type PackedLease } from '../codec/msgpack';
import type { ArityRange } from './arity';
import { ServiceError, argumentCount, malformedBody, thrownBody, type ErrorBody } from './errors';
import type { ParameterCheck } from './parameters';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServedFunction = (...args: any[]) => unknown;

export type Route = 'call' | 'map';

export interface Invocation {
  route: Route;
  contentType: string | undefined;
  /** The request body as received: an encoded array of arguments (call) or of argument arrays (map). */
  body: Uint8Array;
}

export interface Answer {
  status: number;
  contentType: string;
  body: string | Uint8Array;
  /** A line for the service's own log (a thrown error), written by the main thread. */
  log?: string;
  /** Pooled bytes to hand back once the answer is sent (inline answers only). */
  lease?: PackedLease;
  /** How long a map batch computed, in ms: callers size their next batches by it (Server-Timing `run`). */
  runMs?: number;
  /** Overloaded: when to come back, in whole seconds (`retry-after`; 0 means at once). */
  retryAfterSeconds?: number;
}

export interface InvokeSettings {
  name: string;
  arity: ArityRange;
  /** Each argument's schema; none: the arguments are not checked. */
  parameters?: ParameterCheck;
  remoteStack: boolean;
}

/** What one input of a map gives back: its value, or what it threw. */
export type MapOutcome = { v: unknown } | { e: ErrorBody['error'] };

/**
 * How the answer's bytes are made. Inline answers borrow pooled memory (returned after sending); a
 * worker's answer crosses to the main thread, so it gets a buffer of exactly its own bytes (a clone of
 * a view copies the view's whole backing store).
 */
export type ResultEncoder = (value: unknown) => { contentType: string; body: string | Uint8Array; lease?: PackedLease };

export const pooledEncoder: ResultEncoder = encodePooled;
export const ownedEncoder: ResultEncoder = (value) => {
  const encoded = encode(value);
  // msgpackr hands out views of a larger buffer it may write into again: copy into memory that is ours alone.
  return typeof encoded.body === 'string' ? encoded : { contentType: encoded.contentType, body: new Uint8Array(encoded.body) };
};

/** Synchronous when the function is: the common case answers without a promise. */
export function invoke(fn: ServedFunction, settings: InvokeSettings, invocation: Invocation, encoder: ResultEncoder): Answer | Promise<Answer> {
  let decoded: unknown;
  try {
    decoded = decodeBody(invocation);
    if (invocation.route === 'map') return invokeMap(fn, settings, checkBatch(settings, decoded), encoder);
    checkArguments(settings, decoded);
  } catch (error) {
    return errorAnswer(error);
  }
  const args = decoded as unknown[];
  let result: unknown;
  try {
    result = fn(...args);
  } catch (thrown) {
    return thrownAnswer(settings, thrown);
  }
  if (!isThenable(result)) return resultAnswer(settings, result, encoder);
  return Promise.resolve(result).then(
    (value) => resultAnswer(settings, value, encoder),
    (thrown) => thrownAnswer(settings, thrown),
  );
}

function decodeBody({ contentType, body }: Invocation): unknown {
  const type = mediaType(contentType);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (type === MSGPACK_CONTENT_TYPE) {
    try {
      return unpackMsgpack(bytes);
    } catch (error) {
      throw malformedBody(`body is not valid msgpack: ${(error as Error).message}`);
    }
  }
  if (type === JSON_CONTENT_TYPE) {
    if (bytes.length === 0) throw malformedBody('empty body; expected a JSON array of arguments');
    try {
      // As fastify's own parser: `__proto__` and `constructor.prototype` keys are refused, not merged.
      return parseJsonSafely(bytes.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (error) {
      throw malformedBody(`body is not valid JSON: ${(error as Error).message}`);
    }
  }
  throw new ServiceError('TL_UNSUPPORTED_MEDIA_TYPE', 415, `content type must be ${JSON_CONTENT_TYPE} or ${MSGPACK_CONTENT_TYPE}`);
}

function checkArguments({ name, arity, parameters }: InvokeSettings, args: unknown, where = ''): asserts args is unknown[] {
  if (!Array.isArray(args)) throw malformedBody(`${where}body must be an encoded array of arguments, got ${describe(args)}`);
  if (args.length < arity.min || args.length > arity.max) {
    const error = argumentCount(name, args.length, arity.min, arity.max);
    throw where ? new ServiceError(error.code, error.statusCode, `${where}${error.message}`) : error;
  }
  // The values as decoded, JSON or msgpack alike (400 TL_BAD_ARGUMENTS).
  if (parameters) parameters.check(args, where);
}

function checkBatch(settings: InvokeSettings, batch: unknown): unknown[][] {
  if (!Array.isArray(batch)) throw malformedBody(`body must be an encoded array of argument arrays, got ${describe(batch)}`);
  batch.forEach((args, index) => checkArguments(settings, args, `input ${index}: `));
  return batch as unknown[][];
}

/** The inputs of one batch run one after the other: the batch is one unit of work for one thread. */
function invokeMap(fn: ServedFunction, settings: InvokeSettings, batch: unknown[][], encoder: ResultEncoder): Answer | Promise<Answer> {
  const started = performance.now();
  const outcomes: MapOutcome[] = new Array(batch.length);
  let failures = 0;
  let firstFailure: ErrorBody['error'] | undefined;
  const fail = (index: number, thrown: unknown) => {
    const { error } = thrownBody(thrown, settings.remoteStack);
    outcomes[index] = { e: error };
    failures++;
    firstFailure ??= error;
  };
  const finish = (): Answer => {
    const answer = encodeOutcomes(settings, outcomes, encoder);
    answer.runMs = performance.now() - started;
    if (firstFailure)
      answer.log = `${settings.name} threw for ${failures} of ${batch.length} inputs; first: ${firstFailure.name}: ${firstLine(firstFailure.message)}`;
    return answer;
  };
  const step = (index: number): Answer | Promise<Answer> => {
    for (let i = index; i < batch.length; i++) {
      let result: unknown;
      try {
        result = fn(...batch[i]);
      } catch (thrown) {
        fail(i, thrown);
        continue;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          (value) => {
            outcomes[i] = { v: value };
            return step(i + 1);
          },
          (thrown) => {
            fail(i, thrown);
            return step(i + 1);
          },
        );
      }
      outcomes[i] = { v: result };
    }
    return finish();
  };
  return step(0);
}

/** One input whose result cannot be encoded fails alone; the others still arrive. */
function encodeOutcomes(settings: InvokeSettings, outcomes: MapOutcome[], encoder: ResultEncoder): Answer {
  try {
    return { status: 200, ...encoder(outcomes) };
  } catch {
    const checked = outcomes.map((outcome): MapOutcome => {
      if (!('v' in outcome)) return outcome;
      try {
        encode(outcome.v);
        return outcome;
      } catch (error) {
        return { e: notEncodable(settings.name, error).toBody().error };
      }
    });
    return { status: 200, ...encoder(checked) };
  }
}

function resultAnswer(settings: InvokeSettings, value: unknown, encoder: ResultEncoder): Answer {
  try {
    return { status: 200, ...encoder(value) };
  } catch (error) {
    return errorAnswer(notEncodable(settings.name, error));
  }
}

function notEncodable(name: string, error: unknown): ServiceError {
  return new ServiceError('TL_RESULT_NOT_ENCODABLE', 500, `${name} returned a value that cannot be encoded: ${(error as Error).message}`);
}

function thrownAnswer(settings: InvokeSettings, thrown: unknown): Answer {
  const body = thrownBody(thrown, settings.remoteStack);
  return {
    status: 500,
    contentType: JSON_CONTENT_TYPE,
    body: JSON.stringify(body),
    log: `${settings.name} threw ${body.error.name}: ${firstLine(body.error.message)}`,
  };
}

/** A ServiceError as an answer; anything else is a bug of ours, answered as 500 TL_INTERNAL. */
export function errorAnswer(error: unknown): Answer {
  const failure = error instanceof ServiceError ? error : new ServiceError('TL_INTERNAL', 500, (error as Error)?.message ?? String(error));
  return { status: failure.statusCode, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(failure.toBody()) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'no body';
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}

function firstLine(text: string): string {
  const newline = text.indexOf('\n');
  return newline === -1 ? text : `${text.slice(0, newline)} …`;
}
