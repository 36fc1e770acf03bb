/**
 * The service contract: what a lifted service answers on and reads from its environment, and the
 * bounds of its settings. Tools that run or deploy services (the turbolift plugin) import it from
 * `@turbolift/runtime/contract`, which loads no server or client code, so every name lives here once.
 */
export { CALL_PATH, HEALTH_PATH, MAP_PATH, READY_PATH } from './server/paths';

/**
 * The endpoints file that tells stubs where each function's service is: `$TURBOLIFT_ENDPOINTS`, else
 * `.turbolift/endpoints.json` in the workspace root (stubs search for it upward from their cwd).
 */
export const ENDPOINTS_DIR = '.turbolift';
export const ENDPOINTS_FILE = 'endpoints.json';
export const ENDPOINTS_ENV = 'TURBOLIFT_ENDPOINTS';

/** Environment variables the service reads (see the README's table for defaults). */
export const SERVICE_ENV = {
  host: 'HOST',
  port: 'PORT',
  mode: 'TURBOLIFT_MODE',
  bodyLimit: 'TURBOLIFT_BODY_LIMIT',
  remoteStack: 'TURBOLIFT_REMOTE_STACK',
  drainMs: 'TURBOLIFT_DRAIN_MS',
  drainQuietMs: 'TURBOLIFT_DRAIN_QUIET_MS',
  workers: 'TURBOLIFT_WORKERS',
  callTimeoutMs: 'TURBOLIFT_CALL_TIMEOUT_MS',
  maxQueue: 'TURBOLIFT_MAX_QUEUE',
  maxQueueWaitMs: 'TURBOLIFT_MAX_QUEUE_WAIT_MS',
  headersTimeoutMs: 'TURBOLIFT_HEADERS_TIMEOUT_MS',
  bodyTimeoutMs: 'TURBOLIFT_BODY_TIMEOUT_MS',
  requestTimeoutMs: 'TURBOLIFT_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS',
} as const;

/** The worker pool's settings: inclusive integer ranges. setTimeout fires at once past 2³¹-1 ms. */
export const POOL_LIMITS = {
  workers: { min: 0, max: 1024 },
  callTimeoutMs: { min: 0, max: 2 ** 31 - 1 },
  maxQueue: { min: 0, max: Number.MAX_SAFE_INTEGER },
  maxQueueWaitMs: { min: 0, max: 2 ** 31 - 1 },
} as const;

export const DEFAULT_CALL_TIMEOUT_MS = 60_000;
/**
 * The queue is bounded in time first: a call is refused when the calls ahead of it would keep it waiting
 * longer than this (estimated from how long recent calls ran), a third of a caller's default budget, so
 * that a refused call still has time to be served elsewhere. A count alone cannot be right for both a
 * 20 µs function (thousands may wait) and a 2 s one (a dozen already fill a caller's budget).
 */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 10_000;
/**
 * Connection timeouts: they bound receiving a request and idling between requests, never computing the
 * answer (callTimeoutMs does that). Inclusive integer ranges; 0 turns the first three off. Node keeps an
 * idle socket one second past the keep-alive timeout, so that one stops a second short of setTimeout's limit.
 */
export const CONNECTION_LIMITS = {
  headersTimeoutMs: { min: 0, max: 2 ** 31 - 1 },
  bodyTimeoutMs: { min: 0, max: 2 ** 31 - 1 },
  requestTimeoutMs: { min: 0, max: 2 ** 31 - 1 },
  keepAliveTimeoutMs: { min: 1000, max: 2 ** 31 - 1 - 1000 },
} as const;

/** Longest the request head (request line and headers) may take to arrive, from its first byte. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Longest a request body may go without a byte arriving; a body that keeps coming may take longer. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/**
 * The whole request (head and body) must arrive within max(60 s, the body limit at 1 MiB/s): a bound on a
 * body trickled byte by byte, which the body timeout alone never stops, that still lets the largest body
 * allowed arrive over a slow link.
 */
export const MIN_REQUEST_TIMEOUT_MS = 60_000;
export const MIN_UPLOAD_BYTES_PER_SECOND = 1024 * 1024;
/**
 * How long an idle keep-alive connection stays open. Above the stub pool's 60 s (client/pools.ts), so that
 * the client always drops an idle socket before the service does: a socket the server closed while the
 * client still thought it usable fails the next call with a reset. 72 s also outlasts the 60 s idle timeout
 * of common load balancers in front of a service.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** And in count, to bound the memory held by waiting calls, unless TURBOLIFT_MAX_QUEUE says otherwise. */
export const QUEUE_PER_WORKER = 128;
