/**
 * One lifted call over HTTP: encode the arguments, POST them, decode the answer; retry connection
 * failures and 503 (idempotent calls only) within the call's time budget. A map batch is the same
 * exchange on the map route, with an array of argument arrays.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE, encodePooled, mediaType, type Encoded } from '../codec';
import { releasePacked, unpackMsgpack, type PackedLease } from '../codec/msgpack';
import { AUTH } from '../contract';
import { RemoteError, TurboliftCallError } from '../errors';
import type { CallPolicy } from './lifted';
import type { CallTarget } from './pools';
import { callerToken, clearTokenCache, tokenSearchDescription, type CallerToken } from './token';
import { backoffDelay, errorCode, isConnectionFailure, isTimeout } from './retry';

export type { CallPolicy } from './lifted';

// Shared, never mutated: no per-call header objects, one pair per token (there is one, two in a rotation).
type CallHeaders = Record<string, string>;
const ANONYMOUS = { json: { 'content-type': JSON_CONTENT_TYPE }, msgpack: { 'content-type': MSGPACK_CONTENT_TYPE } };
let signed: { token: string; json: CallHeaders; msgpack: CallHeaders } | undefined;

function headersFor(contentType: string, token: CallerToken | undefined): CallHeaders {
  let set: { json: CallHeaders; msgpack: CallHeaders } = ANONYMOUS;
  if (token) {
    if (signed?.token !== token.token) {
      const authorization = `${AUTH.scheme} ${token.token}`;
      signed = {
        token: token.token,
        json: { ...ANONYMOUS.json, [AUTH.header]: authorization },
        msgpack: { ...ANONYMOUS.msgpack, [AUTH.header]: authorization },
      };
    }
    set = signed;
  }
  return contentType === JSON_CONTENT_TYPE ? set.json : set.msgpack;
}

export function callRemote(target: CallTarget, policy: CallPolicy, args: unknown[]): Promise<unknown> {
  return exchange(target, target.path, policy, args, undefined);
}

/**
 * Every batch of a map in flight listens on the map's one signal (a request listens for its abort): that
 * many listeners is by design, not a leak, so Node is told not to warn about it.
 */
export function prepareSignal(signal: AbortSignal): void {
  setMaxListeners(Infinity, signal);
}

/** What the service said about the batch besides its result: how long it computed (Server-Timing `run`). */
export interface ExchangeTiming {
  runMs?: number;
}

/**
 * POSTs `payload` (an argument array, or a batch of them) to `path` and decodes the answer. `signal`
 * cancels it (a map that already failed); `timing`, when given, receives the service's run time.
 */
export async function exchange(
  target: CallTarget,
  path: string,
  policy: CallPolicy,
  payload: unknown[],
  signal: AbortSignal | undefined,
  timing?: ExchangeTiming,
): Promise<unknown> {
  const { fnName } = policy;
  let encoded: Encoded & { lease?: PackedLease };
  try {
    encoded = encodePooled(payload);
  } catch (error) {
    throw new TurboliftCallError({ code: 'TL_ENCODE_FAILED', fnName, reason: `cannot encode the arguments: ${(error as Error).message}`, cause: error });
  }
  const { body, lease } = encoded;
  let token = callerToken(target.tokenFile);
  let headers = headersFor(encoded.contentType, token);
  // A 401 is tried once more when the token found now differs from the one sent (it was rotated meanwhile).
  let retriedUnauthorized = false;

  const deadline = Date.now() + policy.timeoutMs;
  const maxAttempts = policy.idempotent ? policy.retries + 1 : 1;
  // Refusals by an overloaded service: retried within the time budget, not counted against `retries`.
  let overloadedAttempts = 0;
  for (let attempt = 1; ; attempt++) {
    // The first attempt passes timeoutMs itself: undici then refreshes the connection's timer instead of
    // replacing it, which it does whenever the value changes. Retries get what is left of the budget.
    const remaining = attempt === 1 ? policy.timeoutMs : deadline - Date.now();
    let response: Dispatcher.ResponseData;
    try {
      if (remaining <= 0) throw Object.assign(new Error('time budget used up'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
      response = await target.pool.request({
        method: 'POST',
        path,
        headers,
        body,
        headersTimeout: remaining,
        bodyTimeout: remaining,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (isTimeout(error)) throw timedOut(target, policy, attempt, error);
      const retryable = isConnectionFailure(error);
      if (retryable && attempt - overloadedAttempts < maxAttempts && (await waitBeforeRetry(attempt - overloadedAttempts, deadline))) continue;
      throw new TurboliftCallError({
        code: 'TL_CONNECTION_FAILED',
        fnName,
        url: target.url,
        reason: `${retryable ? 'cannot reach the service' : 'request failed'}: ${describeError(error)}`,
        attempts: attempt,
        cause: error,
      });
    }

    const { statusCode } = response;
    if (statusCode === 200) {
      // The service read the whole body before answering 200: the request buffer is free again.
      if (lease) releasePacked(lease);
      if (timing) timing.runMs = runTime(response.headers['server-timing']);
      try {
        // Inline rather than a helper: one promise less per call.
        const type = mediaType(response.headers['content-type'] as string | undefined);
        if (type === JSON_CONTENT_TYPE) return JSON.parse(await response.body.text());
        if (type === MSGPACK_CONTENT_TYPE) return unpackMsgpack(Buffer.from(await response.body.arrayBuffer()));
        await response.body.dump();
        throw new TurboliftCallError({
          code: 'TL_BAD_RESPONSE',
          fnName,
          url: target.url,
          reason: `answered 200 with content type "${type || '(none)'}", not a turbolift result`,
          statusCode,
          attempts: attempt,
        });
      } catch (error) {
        if (error instanceof TurboliftCallError) throw error;
        if (isTimeout(error)) throw timedOut(target, policy, attempt, error);
        const code = isConnectionFailure(error) ? 'TL_CONNECTION_FAILED' : 'TL_BAD_RESPONSE';
        throw new TurboliftCallError({
          code,
          fnName,
          url: target.url,
          reason: `cannot read the result: ${describeError(error)}`,
          attempts: attempt,
          cause: error,
        });
      }
    }
    if (statusCode === 503) {
      const wire = await readWireError(response);
      if (wire?.code === 'TL_OVERLOADED') {
        // The call was refused before it ran, so trying again is safe even when it is not idempotent, and it
        // is not a failure: come back when the service says (a new connection may reach another replica),
        // for as long as the time budget lasts. Only the budget bounds these attempts.
        overloadedAttempts++;
        if (await waitBeforeRetry(overloadedAttempts, deadline, retryAfter(response.headers['retry-after']))) continue;
        throw new TurboliftCallError({
          code: 'TL_SERVICE_UNAVAILABLE',
          fnName,
          url: target.url,
          reason: `service overloaded until the time budget (timeoutMs ${policy.timeoutMs}) ran out (503 TL_OVERLOADED: ${wire.message ?? ''})`,
          statusCode,
          remoteCode: wire.code,
          attempts: attempt,
        });
      }
      if (attempt - overloadedAttempts < maxAttempts && (await waitBeforeRetry(attempt - overloadedAttempts, deadline))) continue;
      throw new TurboliftCallError({
        code: 'TL_SERVICE_UNAVAILABLE',
        fnName,
        url: target.url,
        reason: 'service unavailable (503: starting or shutting down)',
        statusCode,
        remoteCode: wire?.code,
        attempts: attempt,
      });
    }
    if (statusCode === 401 && !retriedUnauthorized) {
      retriedUnauthorized = true;
      clearTokenCache();
      const fresh = callerToken(target.tokenFile);
      if (fresh?.token !== token?.token) {
        await response.body.dump();
        token = fresh;
        headers = headersFor(encoded.contentType, token);
        attempt--;
        continue;
      }
    }
    if (statusCode === 401) throw await unauthorized(target, fnName, response, token, attempt);
    throw await failureFromResponse(target, fnName, response, attempt);
  }

  function timedOut(target: CallTarget, policy: CallPolicy, attempt: number, cause: unknown): TurboliftCallError {
    return new TurboliftCallError({
      code: 'TL_TIMEOUT',
      fnName: policy.fnName,
      url: target.url,
      reason: `no response within ${policy.timeoutMs} ms (timeoutMs)`,
      attempts: attempt,
      cause,
    });
  }
}

/** Sleeps before the next attempt; false when the time budget would not allow another attempt. */
async function waitBeforeRetry(attempt: number, deadline: number, atLeastMs = 0): Promise<boolean> {
  const delay = Math.max(backoffDelay(attempt - 1), atLeastMs);
  if (Date.now() + delay >= deadline) return false;
  await sleep(delay);
  return true;
}

/** `retry-after` in seconds (the only form our services send), as ms; a date or garbage counts as none. */
function retryAfter(header: string | string[] | undefined): number | undefined {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) * 1000 : undefined;
}

/** `server-timing: run;dur=12.5` -> 12.5 */
function runTime(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = text && /(?:^|,)\s*run;dur=([\d.]+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function readWireError(response: Dispatcher.ResponseData): Promise<WireError | undefined> {
  try {
    return (JSON.parse(await response.body.text()) as { error?: WireError }).error;
  } catch {
    return undefined; // not one of our error bodies (a proxy, another server on that port...)
  }
}

export interface WireError {
  code?: string;
  message?: string;
  name?: string;
  stack?: string;
}

export function remoteError(fnName: string, url: string, wire: WireError): RemoteError {
  return new RemoteError({ fnName, url, remoteName: wire.name ?? 'Error', message: wire.message ?? '', remoteStack: wire.stack });
}

/** The service refused the caller: say which token was sent, from where, or where none was found. */
async function unauthorized(target: CallTarget, fnName: string, response: Dispatcher.ResponseData, token: CallerToken | undefined, attempts: number) {
  const wire = await readWireError(response);
  const sent = token ? `the token from ${token.from} is not accepted` : `no caller token was found (looked in ${tokenSearchDescription(target.tokenFile)})`;
  return new TurboliftCallError({
    code: 'TL_UNAUTHORIZED',
    fnName,
    url: target.url,
    reason: `${sent} (401 ${wire?.code ?? ''}: ${wire?.message ?? ''})`,
    statusCode: 401,
    remoteCode: wire?.code,
    attempts,
  });
}

async function failureFromResponse(target: CallTarget, fnName: string, response: Dispatcher.ResponseData, attempts: number): Promise<Error> {
  const { statusCode } = response;
  let text = '';
  try {
    text = await response.body.text();
  } catch {
    // the reason stays the status alone
  }
  let wire: WireError | undefined;
  try {
    wire = (JSON.parse(text) as { error?: WireError }).error;
  } catch {
    // not one of our error bodies (a proxy, another server on that port...)
  }
  if (statusCode === 500 && wire?.code === 'TL_FUNCTION_THREW') return remoteError(fnName, target.url, wire);
  if (statusCode === 504 && wire?.code === 'TL_CALL_TIMEOUT') {
    return new TurboliftCallError({
      code: 'TL_CALL_TIMEOUT',
      fnName,
      url: target.url,
      reason: wire.message ?? 'the service stopped the call at its time limit',
      statusCode,
      remoteCode: wire.code,
      attempts,
    });
  }
  const reason = wire?.code ? `${statusCode} ${wire.code}: ${wire.message ?? ''}` : `unexpected HTTP ${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
  return new TurboliftCallError({
    code: statusCode >= 400 && statusCode < 500 ? 'TL_REJECTED' : wire?.code ? 'TL_SERVICE_ERROR' : 'TL_BAD_RESPONSE',
    fnName,
    url: target.url,
    reason,
    statusCode,
    remoteCode: wire?.code,
    attempts,
  });
}

function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code} ${message}`.trim() : message || code || 'unknown error';
}
