/**
 * Where a lifted function's service is, first found:
 * 1. env `TURBOLIFT_<FN_NAME_IN_CONSTANT_CASE>_URL`;
 * 2. the endpoints file: `$TURBOLIFT_ENDPOINTS`, else `.turbolift/endpoints.json` searched upward from the cwd;
 *    an entry whose recorded process is no longer running (a local service that was killed) is skipped;
 * 3. inside Kubernetes (`KUBERNETES_SERVICE_HOST` set): `http://<service>.<namespace>.svc:80`.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SERVICE_ENV } from '../contract';
import { ENDPOINTS_DIR, ENDPOINTS_FILE, isProcessAlive, parseEndpointsDocument } from './endpoints-file';
import type { EndpointTarget } from './lifted';

export type { EndpointTarget } from './lifted';

export type EndpointSource = 'env' | 'file' | 'cluster';

export interface ResolvedEndpoint {
  url: string;
  source: EndpointSource;
  /** The env var or file it came from. */
  from: string;
  /** The endpoints file's token file for this entry, if it names one. */
  tokenFile?: string;
}

/** `compressAll` -> `TURBOLIFT_COMPRESS_ALL_URL`. */
export function endpointEnvVar(fnName: string): string {
  return `TURBOLIFT_${constantCase(fnName)}_URL`;
}

export function constantCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

export class EndpointNotFoundError extends Error {
  override readonly name = 'EndpointNotFoundError';
  readonly code = 'TL_NO_ENDPOINT';
}

/** The URL for `fnName`, or throws `EndpointNotFoundError` saying what to set. */
export function resolveEndpoint(fnName: string, target: EndpointTarget, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return findEndpoint(fnName, target, env, cwd).url;
}

export function findEndpoint(fnName: string, target: EndpointTarget, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedEndpoint {
  const variable = endpointEnvVar(fnName);
  const fromEnv = env[variable];
  if (fromEnv) return { url: fromEnv, source: 'env', from: variable };

  const file = endpointsFile(env, cwd);
  let stalePid: number | undefined;
  if (file.path) {
    const url = file.endpoints[fnName];
    const pid = file.pids[fnName];
    if (url && (pid === undefined || alive(file, pid))) return { url, source: 'file', from: file.path, tokenFile: file.tokenFiles[fnName] };
    if (url) stalePid = pid;
  }

  if (env.KUBERNETES_SERVICE_HOST) {
    const namespace = target.namespace || env[SERVICE_ENV.namespace] || podNamespace() || 'default';
    return { url: `http://${target.service}.${namespace}.svc:80`, source: 'cluster', from: 'KUBERNETES_SERVICE_HOST' };
  }

  if (stalePid !== undefined) {
    throw new EndpointNotFoundError(
      `no endpoint for ${fnName} in distributed mode: ${fnName}'s entry in ${file.path} belongs to process ${stalePid}, ` +
        `which is no longer running: start its service (nx serve ${target.service}), or set ${variable}`,
    );
  }

  const searched = env.TURBOLIFT_ENDPOINTS
    ? `${env.TURBOLIFT_ENDPOINTS} (from TURBOLIFT_ENDPOINTS)${file.path ? ' has no entry for it' : ' does not exist'}`
    : file.path
      ? `${file.path} has no entry for it`
      : `no ${ENDPOINTS_DIR}/${ENDPOINTS_FILE} in ${cwd} or above`;
  throw new EndpointNotFoundError(
    `no endpoint for ${fnName} in distributed mode: set ${variable}, ` +
      `or start its service (\`nx serve ${target.service}\` writes ${ENDPOINTS_DIR}/${ENDPOINTS_FILE}); ${searched}`,
  );
}

// The file is looked up on every distributed call, so its result is cached and the disk is
// checked at most every REFRESH_MS: a service started or restarted meanwhile is seen within that time.
// Whether an entry's process still runs is asked again after the same time.
const REFRESH_MS = 200;

interface FileCache {
  key: string;
  checkedAt: number;
  path: string | undefined;
  mtimeMs: number;
  size: number;
  endpoints: Record<string, string>;
  tokenFiles: Record<string, string>;
  pids: Record<string, number>;
  /** Liveness of the entries' processes, as last seen since `checkedAt`. */
  liveness: Map<number, boolean>;
}

let cache: FileCache | undefined;

function alive(file: Pick<FileCache, 'liveness'>, pid: number): boolean {
  let known = file.liveness.get(pid);
  if (known === undefined) file.liveness.set(pid, (known = isProcessAlive(pid)));
  return known;
}

function endpointsFile(env: NodeJS.ProcessEnv, cwd: string): Pick<FileCache, 'path' | 'endpoints' | 'tokenFiles' | 'pids' | 'liveness'> {
  const explicit = env.TURBOLIFT_ENDPOINTS || '';
  const key = `${explicit}\0${cwd}`;
  const now = Date.now();
  if (cache && cache.key === key && now - cache.checkedAt < REFRESH_MS) return cache;

  const path = explicit || searchUpward(cwd);
  const stats = path ? statSync(path, { throwIfNoEntry: false }) : undefined;
  if (!path || !stats) {
    cache = { key, checkedAt: now, path: undefined, mtimeMs: 0, size: 0, endpoints: {}, tokenFiles: {}, pids: {}, liveness: new Map() };
    return cache;
  }
  if (cache && cache.key === key && cache.path === path && cache.mtimeMs === stats.mtimeMs && cache.size === stats.size) {
    cache.checkedAt = now;
    cache.liveness.clear();
    return cache;
  }
  const { endpoints, tokenFiles = {}, pids = {} } = parseEndpointsDocument(readFileSync(path, 'utf8'), path);
  cache = { key, checkedAt: now, path, mtimeMs: stats.mtimeMs, size: stats.size, endpoints, tokenFiles, pids, liveness: new Map() };
  return cache;
}

function searchUpward(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, ENDPOINTS_DIR, ENDPOINTS_FILE);
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Forget the cached endpoints file (tests, or after writing the file yourself). */
export function clearEndpointsCache(): void {
  cache = undefined;
}

const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
let cachedPodNamespace: string | null | undefined;

function podNamespace(): string | undefined {
  if (cachedPodNamespace === undefined) {
    try {
      cachedPodNamespace = readFileSync(NAMESPACE_FILE, 'utf8').trim() || null;
    } catch {
      cachedPodNamespace = null;
    }
  }
  return cachedPodNamespace ?? undefined;
}
