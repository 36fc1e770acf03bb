/**
 * Service options and their environment variables, normalised once at the edge.
 */
import { normalizeAuth, type AuthOption, type NormalizedAuth } from './auth';
import { normalizeArity, type ArityOption, type ArityRange } from './arity';
import {
  CONNECTION_LIMITS,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUE_WAIT_MS,
  MIN_REQUEST_TIMEOUT_MS,
  MIN_UPLOAD_BYTES_PER_SECOND,
  POOL_LIMITS,
  QUEUE_PER_WORKER,
  SERVICE_ENV,
  type ParameterSchema,
} from '../contract';
import { usableCpus } from './cpus';
import { normalizeParameters, type ParameterCheck } from './parameters';

export interface ServeOptions {
  /** The function's name in logs and errors; default `fn.name`. */
  name?: string;
  /** Interface to listen on; default `$HOST`, else 127.0.0.1. */
  host?: string;
  /** Port; default `$PORT`, else 8080. 0 picks a free port. */
  port?: number;
  /** Largest request body in bytes; default `$TURBOLIFT_BODY_LIMIT` (bytes, or with kb/mb/gb), else 16 MiB. */
  bodyLimit?: number;
  /** Accepted argument counts: a count or `{ min, max }`. Default: see `normalizeArity`. */
  arity?: ArityOption;
  /**
   * A schema for each parameter, in order (a lifted service's main.ts passes the ones the lift derived):
   * an argument that does not match its schema gets 400 `TL_BAD_ARGUMENTS` and the function is not called.
   * Checked after the argument count. Default: none, the arguments are not checked.
   */
  parameters?: ParameterSchema[];
  /** Send the stack of a thrown error to the caller; default `$TURBOLIFT_REMOTE_STACK === '1'`. */
  remoteStack?: boolean;
  /**
   * After SIGTERM, keep serving (unready) for up to this long so that callers stop routing here first;
   * default `$TURBOLIFT_DRAIN_MS`, else 5000 inside Kubernetes and 0 elsewhere.
   */
  drainMs?: number;
  /** End the drain window early once no call has arrived for this long; default `$TURBOLIFT_DRAIN_QUIET_MS`, else 2000. */
  drainQuietMs?: number;
  /**
   * `serve` only: handle SIGTERM/SIGINT, exit 0 after draining and exit 1 when it cannot listen.
   * Default true; set false to embed the service in a process you manage.
   */
  manageProcess?: boolean;
  /** fastify's logger option; default false (the service logs its own few lines). */
  logger?: boolean | Record<string, unknown>;
  /**
   * Worker threads that run the function, so that a CPU-heavy call never blocks HTTP, the probes or the
   * signals, and calls use every CPU the process may use. `0` runs the function on the main thread
   * (inline). Default `$TURBOLIFT_WORKERS`, else the CPUs this process may use (the cgroup CPU quota,
   * i.e. a pod's CPU limit, else `os.availableParallelism()`), or 0 when no `entry` is known.
   */
  workers?: number;
  /**
   * The module whose top level calls `serve(fn)`: each worker thread loads it to get the function.
   * Default: the process's main module, when `serve` manages the process (a lifted service's main.js).
   */
  entry?: string;
  /**
   * Longest a call may take from its arrival, queueing included; past it the caller gets 504
   * `TL_CALL_TIMEOUT` and, in a pool, the worker running it is stopped and replaced. Default
   * `$TURBOLIFT_CALL_TIMEOUT_MS`, else 60000; 0 for no limit.
   */
  callTimeoutMs?: number;
  /**
   * Calls waiting for a worker beyond which new calls get 503 `TL_OVERLOADED` with `retry-after` at once.
   * Default `$TURBOLIFT_MAX_QUEUE`, else 128 per worker.
   */
  maxQueue?: number;
  /**
   * A new call is refused the same way when the calls ahead of it would keep it waiting longer than this,
   * estimated from how long recent calls ran. Default `$TURBOLIFT_MAX_QUEUE_WAIT_MS`, else 10000; 0 for no
   * time bound.
   */
  maxQueueWaitMs?: number;
  /**
   * Longest the head of a request (request line and headers) may take to arrive from its first byte; past
   * it the connection gets 408 and is closed. Default `$TURBOLIFT_HEADERS_TIMEOUT_MS`, else 10000; 0: none.
   */
  headersTimeoutMs?: number;
  /**
   * Longest a request body may go without a byte arriving; past it the caller gets 408 `TL_REQUEST_TIMEOUT`
   * (when nothing was answered yet) and the connection is closed. A body that keeps arriving may take
   * longer. Default `$TURBOLIFT_BODY_TIMEOUT_MS`, else 10000; 0: none.
   */
  bodyTimeoutMs?: number;
  /**
   * Longest a whole request (head and body) may take to arrive, however steadily; 408 and closed past it.
   * Default `$TURBOLIFT_REQUEST_TIMEOUT_MS`, else the body limit at 1 MiB/s and at least 60000; 0: none.
   */
  requestTimeoutMs?: number;
  /**
   * How long an idle keep-alive connection stays open between requests (advertised in `keep-alive:
   * timeout=`); keep it above the callers' own idle timeout. Default `$TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS`,
   * else 72000.
   */
  keepAliveTimeoutMs?: number;
  /**
   * Which callers are answered (auth.ts): `false` accepts every caller; `{ tokens, tokenDir }` names the
   * accepted tokens. Default: `$TURBOLIFT_AUTH` (`off`), `$TURBOLIFT_TOKEN_DIR` and `$TURBOLIFT_TOKEN`.
   */
  auth?: AuthOption;
}

export interface NormalizedServeOptions {
  name: string;
  host: string;
  port: number;
  bodyLimit: number;
  arity: ArityRange;
  /** The parameters' schemas, compiled where calls run (inline: at `serve`; with a pool: in each worker). */
  parameters: ParameterCheck | undefined;
  remoteStack: boolean;
  drainMs: number;
  drainQuietMs: number;
  manageProcess: boolean;
  logger: boolean | Record<string, unknown>;
  /** 0: inline, on the main thread. */
  workers: number;
  entry: string | undefined;
  /** 0: no limit. */
  callTimeoutMs: number;
  maxQueue: number;
  /** 0: no time bound. */
  maxQueueWaitMs: number;
  /** The connection timeouts; 0: none (not for keep-alive). */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  auth: NormalizedAuth;
}

const MIB = 1024 * 1024;

export function normalizeServeOptions(
  fn: (...args: never[]) => unknown,
  options: ServeOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  /** Where `serve` was started from, when it manages the process: the pool's default entry. */
  mainModule?: string,
): NormalizedServeOptions {
  if (typeof fn !== 'function') throw new TypeError(`serve: expected a function, got ${typeof fn}`);
  const name = options.name || fn.name || 'anonymous';
  const inKubernetes = Boolean(env.KUBERNETES_SERVICE_HOST);
  const entry = options.entry ?? mainModule;
  const limits = POOL_LIMITS;
  const workers = options.workers ?? envInteger(env, SERVICE_ENV.workers, entry ? usableCpus() : 0, limits.workers.min, limits.workers.max);
  checkInteger('workers', workers, limits.workers);
  if (workers > 0 && !entry) {
    throw new TypeError(`serve(${name}): ${workers} workers need the module that calls serve (the entry option); use workers: 0 to run inline`);
  }
  const callTimeoutMs =
    options.callTimeoutMs ?? envInteger(env, SERVICE_ENV.callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS, limits.callTimeoutMs.min, limits.callTimeoutMs.max);
  checkInteger('callTimeoutMs', callTimeoutMs, limits.callTimeoutMs);
  const maxQueue = options.maxQueue ?? envInteger(env, SERVICE_ENV.maxQueue, Math.max(1, workers) * QUEUE_PER_WORKER, limits.maxQueue.min, limits.maxQueue.max);
  checkInteger('maxQueue', maxQueue, limits.maxQueue);
  const maxQueueWaitMs =
    options.maxQueueWaitMs ?? envInteger(env, SERVICE_ENV.maxQueueWaitMs, DEFAULT_MAX_QUEUE_WAIT_MS, limits.maxQueueWaitMs.min, limits.maxQueueWaitMs.max);
  checkInteger('maxQueueWaitMs', maxQueueWaitMs, limits.maxQueueWaitMs);
  const bodyLimit = options.bodyLimit ?? envBytes(env, SERVICE_ENV.bodyLimit, 16 * MIB);
  const timeouts = connectionTimeouts(options, env, bodyLimit);
  const parameters = normalizeParameters(options.parameters, name);
  // Where calls run here (inline, or this is a pool worker), a schema ajv refuses fails serve at once;
  // with a pool the workers compile theirs, and one that cannot fails the pool's start.
  if (workers === 0) parameters?.compile();
  return {
    name,
    host: options.host ?? (env[SERVICE_ENV.host] || '127.0.0.1'),
    port: options.port ?? envInteger(env, SERVICE_ENV.port, 8080, 0, 65535),
    bodyLimit,
    arity: normalizeArity(fn, options.arity, name),
    parameters,
    remoteStack: options.remoteStack ?? env[SERVICE_ENV.remoteStack] === '1',
    drainMs: options.drainMs ?? envInteger(env, SERVICE_ENV.drainMs, inKubernetes ? 5000 : 0, 0, Number.MAX_SAFE_INTEGER),
    drainQuietMs: options.drainQuietMs ?? envInteger(env, SERVICE_ENV.drainQuietMs, 2000, 0, Number.MAX_SAFE_INTEGER),
    manageProcess: options.manageProcess ?? true,
    logger: options.logger ?? false,
    workers,
    entry,
    callTimeoutMs,
    maxQueue,
    maxQueueWaitMs,
    ...timeouts,
    auth: normalizeAuth(options.auth, env, name),
  };
}

type ConnectionTimeouts = Pick<NormalizedServeOptions, 'headersTimeoutMs' | 'bodyTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

function connectionTimeouts(options: ServeOptions, env: NodeJS.ProcessEnv, bodyLimit: number): ConnectionTimeouts {
  const limits = CONNECTION_LIMITS;
  const setting = (key: keyof ConnectionTimeouts, fallback: number): number => {
    const { min, max } = limits[key];
    const value = options[key] ?? envInteger(env, SERVICE_ENV[key], fallback, min, max);
    checkInteger(key, value, limits[key]);
    return value;
  };
  const scaledRequestTimeout = Math.min(
    limits.requestTimeoutMs.max,
    Math.max(MIN_REQUEST_TIMEOUT_MS, Math.ceil((bodyLimit / MIN_UPLOAD_BYTES_PER_SECOND) * 1000)),
  );
  const timeouts = {
    headersTimeoutMs: setting('headersTimeoutMs', DEFAULT_HEADERS_TIMEOUT_MS),
    bodyTimeoutMs: setting('bodyTimeoutMs', DEFAULT_BODY_TIMEOUT_MS),
    requestTimeoutMs: setting('requestTimeoutMs', scaledRequestTimeout),
    keepAliveTimeoutMs: setting('keepAliveTimeoutMs', DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
  };
  // The head is part of the request: Node refuses a headers timeout longer than the request's.
  if (timeouts.requestTimeoutMs > 0 && timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new TypeError(
      `serve option headersTimeoutMs (${SERVICE_ENV.headersTimeoutMs}) must not exceed requestTimeoutMs (${SERVICE_ENV.requestTimeoutMs}): ` +
        `got ${timeouts.headersTimeoutMs} > ${timeouts.requestTimeoutMs}`,
    );
  }
  return timeouts;
}

function checkInteger(key: string, value: number, { min, max }: { min: number; max: number }): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new TypeError(`serve option ${key} must be an integer from ${min} to ${max}, got ${value}`);
}

function envInteger(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new TypeError(`${key}="${raw}" must be an integer from ${min} to ${max}`);
  return value;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, k: 1024, mb: MIB, m: MIB, gb: 1024 * MIB, g: 1024 * MIB };

export function envBytes(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new TypeError(`${key}="${raw}" must be a size in bytes, e.g. 1048576, 512kb or 16mb`);
  return Math.floor(Number(match[1]) * unit);
}
