/**
 * The token a stub sends with every distributed call, found the way endpoints are, first found:
 * 1. env `TURBOLIFT_TOKEN`;
 * 2. `$TURBOLIFT_TOKEN_DIR/token`;
 * 3. the token file the endpoints file names for the function (deploy-k8s: a copy of the namespace's token);
 * 4. `.turbolift/token` searched upward from the cwd (what `serve` makes for the workspace's local services);
 * 5. `/var/run/secrets/turbolift/token`: the namespace's callers Secret, mounted in a pod (a service's own, so
 *    functions may call functions, or a caller's).
 * No token is no header: a service that checks callers then answers 401, and the error says where we looked.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AUTH, ENDPOINTS_DIR } from '../contract';

export interface CallerToken {
  token: string;
  /** The env var or file it came from. */
  from: string;
}

// Read again at most this often (a rotation reaches callers within it), and at once after a 401.
const REFRESH_MS = 1000;

let cache: { key: string; checkedAt: number; found: CallerToken | undefined } | undefined;

export function callerToken(endpointTokenFile?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CallerToken | undefined {
  const fromEnv = env[AUTH.tokenEnv]?.trim();
  if (fromEnv) return { token: fromEnv, from: AUTH.tokenEnv };
  const key = `${env[AUTH.tokenDirEnv] ?? ''}\0${endpointTokenFile ?? ''}\0${cwd}`;
  const now = Date.now();
  if (cache && cache.key === key && now - cache.checkedAt < REFRESH_MS) return cache.found;
  cache = { key, checkedAt: now, found: findTokenFile(env, cwd, endpointTokenFile) };
  return cache.found;
}

/** Forget the cached token: after a 401, or in tests. */
export function clearTokenCache(): void {
  cache = undefined;
}

/** Where the stub looks, for a 401's message. */
export function tokenSearchDescription(endpointTokenFile?: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[AUTH.tokenDirEnv];
  return [
    AUTH.tokenEnv,
    dir ? join(dir, AUTH.currentKey) : undefined,
    endpointTokenFile,
    `${ENDPOINTS_DIR}/${AUTH.currentKey} upward from the cwd`,
    join(AUTH.mountDir, AUTH.currentKey),
  ]
    .filter(Boolean)
    .join(', ');
}

function findTokenFile(env: NodeJS.ProcessEnv, cwd: string, endpointTokenFile: string | undefined): CallerToken | undefined {
  const dir = env[AUTH.tokenDirEnv];
  const candidates = [dir ? join(dir, AUTH.currentKey) : undefined, endpointTokenFile, searchUpward(cwd), join(AUTH.mountDir, AUTH.currentKey)];
  for (const path of candidates) {
    if (!path) continue;
    const token = readToken(path);
    if (token) return { token, from: path };
  }
  return undefined;
}

function readToken(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function searchUpward(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, ENDPOINTS_DIR, AUTH.currentKey);
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Makes `file` hold a new random token, readable by its owner only, unless it already holds one. The
 * token folder of local services: `serve` calls it for the workspace's `.turbolift/token`.
 */
export function ensureTokenFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  try {
    // 'wx': never replaces a token another serve made at the same moment.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A token others may read is no token: whoever can read it can call the services.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

/** Writes `token` to `file`, readable by its owner only (a copy of a cluster namespace's token). */
export function writeTokenFile(file: string, token: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
