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
  /** The namespace stubs look for other services in; deploy-k8s sets it to the pod's own (the downward API). */
  namespace: 'TURBOLIFT_NAMESPACE',
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
  /**
   * A file the service writes once it listens, as JSON `ServiceListening`: a supervisor that starts it on
   * `PORT=0` (a port the OS picks at bind time) learns the port from it. Written to a temporary name, then
   * renamed into place, so a reader never sees it half written.
   */
  listenFile: 'TURBOLIFT_LISTEN_FILE',
} as const;

/** What the service writes to `$TURBOLIFT_LISTEN_FILE` once it listens. */
export interface ServiceListening {
  /** `http://host:port` it listens on. */
  url: string;
  port: number;
  /** The service's process. */
  pid: number;
}

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

/**
 * Caller authentication: a service answers calls only to callers that send one of its tokens as
 * `authorization: Bearer <token>`; `/healthz` and `/readyz` stay open for the kubelet. A token folder holds
 * `token` (what callers send, and the service accepts) and, during a rotation, `previous` (accepted too).
 * In the cluster that folder is the namespace's callers Secret, mounted at `mountDir` in every service pod
 * and in every caller given it; locally it is `.turbolift/` (the endpoints folder), made by `serve` with
 * mode 0600 so that only the workspace's user can call the local services.
 *
 * One Secret per namespace, not per service: a caller, and a function that calls other functions, needs one
 * token for all the functions of a namespace, and rotating it is one step. Services in one namespace trust the
 * same callers anyway, since each of them may call the others.
 */
export const AUTH = {
  /** The header and scheme callers send the token in. */
  header: 'authorization',
  scheme: 'Bearer',
  /** A token given directly: for a caller the one to send; for a service one more to accept. */
  tokenEnv: 'TURBOLIFT_TOKEN',
  /** The token folder (both sides): a mounted Secret, `.turbolift/`, or any folder holding `token`. */
  tokenDirEnv: 'TURBOLIFT_TOKEN_DIR',
  /** `off` turns the service's check off: every caller that can reach it may call. */
  authEnv: 'TURBOLIFT_AUTH',
  currentKey: 'token',
  previousKey: 'previous',
  /** Where deploy-k8s mounts the callers Secret, in service pods and in callers; stubs in the cluster look there. */
  mountDir: '/var/run/secrets/turbolift',
  /** The namespace's callers Secret (keys currentKey and previousKey). */
  secretName: 'turbolift-callers',
  /** Pods carrying this label (value "true") may reach services that deploy-k8s gave a NetworkPolicy. */
  callerLabel: 'turbolift.dev/caller',
} as const;

/**
 * What the service checks each argument against, derived by the lift from the function's TypeScript
 * signature. `schema` is JSON Schema (draft-07, as fastify validates with), plus one keyword for the values
 * only msgpack carries: `{ "instanceOf": "Map" }` holds for a Map, and so on for the names in
 * INSTANCE_OF_NAMES. `"instanceOf": "undefined"` holds for undefined only (JSON sends it as null).
 */
export interface ParameterSchema {
  /** The parameter's name in the signature, for the error message (`argument 2 (b) must be string`). */
  name: string;
  schema: JsonSchema;
  /** A rest parameter: `schema` applies to each remaining argument. */
  rest?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonSchema = boolean | { [keyword: string]: any };

export const INSTANCE_OF_KEYWORD = 'instanceOf';
export const INSTANCE_OF_NAMES = [
  'undefined',
  'bigint',
  'Date',
  'RegExp',
  'Map',
  'Set',
  'ArrayBuffer',
  'DataView',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;
export type InstanceOfName = (typeof INSTANCE_OF_NAMES)[number];
