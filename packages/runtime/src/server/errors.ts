/**
 * Typed errors the service answers with, fastify style: a stable `TL_…` code, an HTTP status and a
 * one-line human reason. The wire shape is `{"error":{"code","message","name"?,"stack"?}}`.
 */
import { SERVICE_ENV } from '../contract';

export type ServiceErrorCode =
  | 'TL_MALFORMED_BODY'
  | 'TL_UNSUPPORTED_MEDIA_TYPE'
  | 'TL_ARGUMENT_COUNT'
  | 'TL_BAD_ARGUMENTS'
  | 'TL_BODY_TOO_LARGE'
  | 'TL_BAD_REQUEST'
  | 'TL_REQUEST_TIMEOUT'
  | 'TL_NOT_FOUND'
  | 'TL_UNAUTHORIZED'
  | 'TL_FUNCTION_THREW'
  | 'TL_RESULT_NOT_ENCODABLE'
  | 'TL_CALL_TIMEOUT'
  | 'TL_OVERLOADED'
  | 'TL_WORKER_FAILED'
  | 'TL_INTERNAL';

export interface ErrorBody {
  error: { code: string; message: string; name?: string; stack?: string };
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const malformedBody = (reason: string) => new ServiceError('TL_MALFORMED_BODY', 400, reason);

export const callTimedOut = (fnName: string, ms: number, stopped: boolean) =>
  new ServiceError(
    'TL_CALL_TIMEOUT',
    504,
    `${fnName} gave no result within ${ms} ms of the call's arrival (${SERVICE_ENV.callTimeoutMs})` +
      (stopped ? '; the worker running it was stopped and replaced' : ''),
  );

/** The request did not arrive in time: its head or the whole of it (Node's bounds), or its body stalled. */
export const requestTimedOut = (reason: 'stalled' | 'late', ms: { headersTimeoutMs: number; bodyTimeoutMs: number; requestTimeoutMs: number }) =>
  new ServiceError(
    'TL_REQUEST_TIMEOUT',
    408,
    reason === 'stalled'
      ? `no byte of the request body arrived for ${ms.bodyTimeoutMs} ms (${SERVICE_ENV.bodyTimeoutMs})`
      : `the request did not arrive in time: its headers within ${ms.headersTimeoutMs} ms (${SERVICE_ENV.headersTimeoutMs}), ` +
          `all of it within ${ms.requestTimeoutMs} ms (${SERVICE_ENV.requestTimeoutMs})`,
  );

/** `bound`: which limit the queue reached, e.g. "TURBOLIFT_MAX_QUEUE 32". */
export const overloaded = (fnName: string, waiting: number, bound: string) =>
  new ServiceError('TL_OVERLOADED', 503, `${fnName} is busy: every worker is running and ${waiting} calls are queued (${bound}); retry later or elsewhere`);

export const argumentCount = (fnName: string, got: number, min: number, max: number) =>
  new ServiceError('TL_ARGUMENT_COUNT', 400, `${fnName} takes ${describeRange(min, max)}, got ${got}`);

/** An argument that does not match its parameter's schema (server/parameters.ts says what is checked). */
export const badArguments = (message: string) => new ServiceError('TL_BAD_ARGUMENTS', 400, message);

function describeRange(min: number, max: number): string {
  const unit = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  if (min === max) return unit(min);
  if (max === Infinity) return `at least ${unit(min)}`;
  if (min === 0) return `at most ${unit(max)}`;
  return `${min} to ${unit(max)}`;
}

/** What a function threw, as sent to the caller. Non-Error throws (`throw 'x'`) are reported by their string form. */
export function thrownBody(thrown: unknown, includeStack: boolean): ErrorBody {
  const isError = thrown instanceof Error;
  const name = isError ? thrown.name : 'Error';
  const message = isError ? thrown.message : String(thrown);
  const body: ErrorBody = { error: { code: 'TL_FUNCTION_THREW', name, message } };
  if (includeStack && isError && thrown.stack) body.error.stack = thrown.stack;
  return body;
}

/** Maps what fastify raises while reading a request (its FST_ERR_* codes) to our codes. */
export function fromFastifyError(error: { code?: string; statusCode?: number; message: string }, bodyLimit: number): ServiceError {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ServiceError(
        'TL_UNSUPPORTED_MEDIA_TYPE',
        415,
        'content type must be application/json or application/vnd.turbolift.msgpack (an encoded array of arguments)',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ServiceError(
        'TL_BODY_TOO_LARGE',
        413,
        `request body is larger than the service's limit of ${bodyLimit} bytes (raise it with ${SERVICE_ENV.bodyLimit})`,
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY': {
      // fastify keeps the parser's reason (syntax error, __proto__ / constructor poisoning) as the cause.
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      return malformedBody(`body is not valid JSON${cause ? `: ${cause}` : ''}`);
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return malformedBody('empty body; expected a JSON array of arguments');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return malformedBody('content-length does not match the body');
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ServiceError('TL_BAD_REQUEST', status, error.message);
  return new ServiceError('TL_INTERNAL', 500, error.message);
}
