/**
 * Which failures are worth another attempt, and how long to wait before it.
 */

// The request did not reach a function, or the connection broke: a new connection may succeed
// (a service restarting, a pod replaced, a keep-alive socket closed by the server as we sent).
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function errorCode(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; errors?: Array<{ code?: unknown }>; cause?: { code?: unknown } } | null;
  if (!candidate || typeof candidate !== 'object') return undefined;
  if (typeof candidate.code === 'string') return candidate.code;
  // Node's connect with several addresses (localhost -> ::1, 127.0.0.1) fails with an AggregateError.
  const first = candidate.errors?.[0]?.code ?? candidate.cause?.code;
  return typeof first === 'string' ? first : undefined;
}

export function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && CONNECTION_FAILURES.has(code);
}

export function isTimeout(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 1000;

/** Exponential backoff with jitter: retry n (0-based) waits 50·2ⁿ ms capped at 1 s, times 0.5–1. */
export function backoffDelay(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retry);
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
