/**
 * Errors a caller of a lifted function can see. Both carry a stable `code` to branch on.
 */

/** The remote function threw. `message` is the remote message, so handling code reads the same in both modes. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  readonly code = 'TL_FUNCTION_THREW';
  /** The function that threw. */
  readonly fnName: string;
  /** The service URL that answered. */
  readonly url: string;
  /** `name` of the error thrown remotely (`TypeError`, a custom class name...). */
  readonly remoteName: string;
  /** Stack trace from the service; only sent when it runs with `TURBOLIFT_REMOTE_STACK=1`. */
  readonly remoteStack: string | undefined;

  constructor(details: { fnName: string; url: string; remoteName: string; message: string; remoteStack?: string }) {
    super(details.message);
    this.fnName = details.fnName;
    this.url = details.url;
    this.remoteName = details.remoteName;
    this.remoteStack = details.remoteStack;
    if (details.remoteStack) this.stack = `${this.stack}\n    --- thrown remotely by ${details.fnName} at ${details.url} ---\n${details.remoteStack}`;
  }
}

export type CallErrorCode =
  | 'TL_NO_ENDPOINT' // no URL configured for the function
  | 'TL_ENCODE_FAILED' // the arguments cannot be encoded (a function, a symbol, a cycle...)
  | 'TL_TIMEOUT' // no complete response within timeoutMs
  | 'TL_CALL_TIMEOUT' // the service stopped the call at its own time limit (504; TURBOLIFT_CALL_TIMEOUT_MS)
  | 'TL_CONNECTION_FAILED' // refused, reset, closed, DNS... after the allowed retries
  | 'TL_SERVICE_UNAVAILABLE' // 503 after the allowed retries
  | 'TL_UNAUTHORIZED' // the service refused the caller's token, or none was found (401)
  | 'TL_REJECTED' // the service refused the request (4xx); `remoteCode` says why
  | 'TL_SERVICE_ERROR' // a 5xx other than the function throwing (e.g. a result that cannot be encoded)
  | 'TL_BAD_RESPONSE' // an answer that is not a turbolift response
  | 'TL_DISTRIBUTED_IN_BROWSER'; // distributed mode in a browser build, which has no transport (local mode only)

/** A lifted call failed for a reason other than the function throwing. */
export class TurboliftCallError extends Error {
  override readonly name = 'TurboliftCallError';
  readonly code: CallErrorCode;
  readonly fnName: string;
  /** The URL called, when one was resolved. */
  readonly url: string | undefined;
  /** The reason alone, without the function and URL the message adds. */
  readonly reason: string;
  readonly statusCode: number | undefined;
  /** The service's `TL_…` code for 4xx answers. */
  readonly remoteCode: string | undefined;
  /** Requests sent, counting retries. */
  readonly attempts: number;

  constructor(details: {
    code: CallErrorCode;
    fnName: string;
    url?: string;
    reason: string;
    statusCode?: number;
    remoteCode?: string;
    attempts?: number;
    cause?: unknown;
  }) {
    const where = details.url ? ` (${details.url})` : '';
    const tries = details.attempts && details.attempts > 1 ? ` after ${details.attempts} attempts` : '';
    super(`${details.fnName}${where}: ${details.reason}${tries}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.fnName = details.fnName;
    this.url = details.url;
    this.reason = details.reason;
    this.statusCode = details.statusCode;
    this.remoteCode = details.remoteCode;
    this.attempts = details.attempts ?? 0;
  }
}
