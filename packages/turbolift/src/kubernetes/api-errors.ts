// client-node errors carry the whole response (headers included) in their message; users get one line instead.

export function httpStatusOf(error: unknown): number | undefined {
  const candidate = error as { code?: unknown; statusCode?: unknown } | null;
  if (typeof candidate?.code === 'number') return candidate.code;
  if (typeof candidate?.statusCode === 'number') return candidate.statusCode;
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

/** `HTTP 422: Deployment.apps "x" is invalid: …`, or the first line of anything else. */
export function describeApiError(error: unknown): string {
  const status = httpStatusOf(error);
  const body = (error as { body?: unknown } | null)?.body;
  const message = statusMessage(body) ?? messageWithoutBody(error);
  if (status !== undefined) return `HTTP ${status}${message ? `: ${message}` : ''}`;
  const text = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: { message?: string } } | null)?.cause?.message;
  return `${text.split('\n')[0]}${cause ? ` (${cause})` : ''}`;
}

/**
 * When there is no body to read: a refused watch's message is the status text (`Unauthorized`); an ApiException
 * whose body the generated client did not keep (a 401 from the typed APIs) has it on its `Message:` line.
 */
function messageWithoutBody(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (!error.message.startsWith('HTTP-Code:')) return error.message.split('\n')[0] || undefined;
  const line = /^Message: (.+)$/m.exec(error.message)?.[1]?.trim();
  return line && !/^Unknown API Status Code/i.test(line) ? line : undefined;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body));
    } catch {
      return body.split('\n')[0].slice(0, 300) || undefined;
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return undefined;
}

/** Rejects after `ms` so that no call to the API server waits forever. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from the API server within ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
