/**
 * One undici Pool per service origin, created on first use and reused for every later call, so
 * connections stay alive between calls. undici itself is loaded with the first pool: a process that
 * imports a stub and calls it only in local mode never loads it.
 */
import type * as Undici from 'undici';
import { CALL_PATH, MAP_PATH } from '../server/paths';

export interface CallTarget {
  pool: Undici.Pool;
  /** Path of the call route, under the URL's own path if it has one. */
  path: string;
  /** Path of the map route, beside it. */
  mapPath: string;
  /** The URL as configured, for messages. */
  url: string;
  /** The token file the endpoints file names for this URL's entry (a deployed service's namespace token). */
  tokenFile?: string;
}

// Enough sockets for heavy fan-out; beyond it calls queue in the pool instead of opening more.
const CONNECTIONS_PER_ORIGIN = 64;

/**
 * Idle keep-alive sockets: the client must drop one before the service does, or a call sent on a socket
 * the service just closed fails with a reset. undici keeps an idle socket for the service's advertised
 * `keep-alive: timeout=` less `thresholdMs`, at most `maxMs`, and for `defaultMs` when nothing is advertised.
 * A lifted service advertises and keeps 72 s by default (DEFAULT_KEEP_ALIVE_TIMEOUT_MS in contract.ts; Node
 * closes it a second later still), so the stub keeps 60 s: 13 s below the service, whatever delays the
 * close on either side (undici checks its timers every half second). A service configured lower (TURBOLIFT_KEEP_ALIVE_TIMEOUT_MS)
 * advertises it, and the stub then keeps its value less 2 s.
 */
export const STUB_KEEP_ALIVE = { defaultMs: 4000, maxMs: 60_000, thresholdMs: 2000 } as const;

const pools = new Map<string, Undici.Pool>();
let undici: typeof Undici | undefined;
const targets = new Map<string, CallTarget>();

/** The target for a configured service URL; throws TypeError for a URL that is not http(s). */
export function callTarget(url: string): CallTarget {
  const known = targets.get(url);
  if (known) return known;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`"${url}" is not an http(s) URL`);
  let pool = pools.get(parsed.origin);
  if (!pool) {
    undici ??= require('undici') as typeof Undici;
    pool = new undici.Pool(parsed.origin, {
      connections: CONNECTIONS_PER_ORIGIN,
      pipelining: 1,
      keepAliveTimeout: STUB_KEEP_ALIVE.defaultMs,
      keepAliveMaxTimeout: STUB_KEEP_ALIVE.maxMs,
      keepAliveTimeoutThreshold: STUB_KEEP_ALIVE.thresholdMs,
    });
    pools.set(parsed.origin, pool);
  }
  const base = parsed.pathname.replace(/\/+$/, '');
  const target = { pool, path: `${base}${CALL_PATH}`, mapPath: `${base}${MAP_PATH}`, url };
  targets.set(url, target);
  return target;
}

/** Closes every pooled connection (calls after this open new ones). */
export async function closeConnections(): Promise<void> {
  const closing = [...pools.values()].map((pool) => pool.close());
  pools.clear();
  targets.clear();
  await Promise.allSettled(closing);
}
