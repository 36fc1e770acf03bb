/**
 * The endpoints file, `{"endpoints": {"<function>": "<url>"}}`: read by stubs (cached, re-read when its
 * mtime or size changes) and written by whoever starts services locally (`registerEndpoint`). A local
 * entry also names the process that answers at its URL (`pids`), so that an entry left behind by a
 * killed service is recognised as stale; files without `pids` (and entries without one) stay valid.
 * Writes are read-merge-write under a lock file, then an atomic rename, because several services may
 * start at once. Synchronous so that `unregisterEndpoint` also works from a process 'exit' handler.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENDPOINTS_DIR, ENDPOINTS_FILE } from '../contract';

export interface EndpointsDocument {
  endpoints: Record<string, string>;
  /**
   * The file holding the caller token for a function's entry, when it is not the workspace's own
   * `.turbolift/token`: deploy-k8s names a copy of the cluster namespace's token here (mode 0600).
   */
  tokenFiles?: Record<string, string>;
  /**
   * The process serving a function's entry, for entries of local services (`serve` records the service's
   * pid). An entry whose process is gone is stale: stubs skip it. Entries without one (deploy-k8s's
   * ClusterIP URLs) are never skipped.
   */
  pids?: Record<string, number>;
  [other: string]: unknown;
}

export { ENDPOINTS_DIR, ENDPOINTS_FILE };

export function parseEndpointsDocument(text: string, file: string): EndpointsDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message}); delete it and start the services again`);
  }
  const endpoints = (raw as { endpoints?: unknown } | null)?.endpoints;
  if (typeof endpoints !== 'object' || endpoints === null || Array.isArray(endpoints)) {
    throw new Error(`${file}: "endpoints" must be an object mapping function names to URLs`);
  }
  for (const [name, url] of Object.entries(endpoints)) {
    if (typeof url !== 'string') throw new Error(`${file}: endpoints.${name} must be a URL string`);
  }
  const tokenFiles = (raw as { tokenFiles?: unknown }).tokenFiles;
  if (
    tokenFiles !== undefined &&
    (typeof tokenFiles !== 'object' || tokenFiles === null || Object.values(tokenFiles).some((path) => typeof path !== 'string'))
  ) {
    throw new Error(`${file}: "tokenFiles" must be an object mapping function names to file paths`);
  }
  const pids = (raw as { pids?: unknown }).pids;
  if (
    pids !== undefined &&
    (typeof pids !== 'object' || pids === null || Object.values(pids).some((pid) => typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1))
  ) {
    throw new Error(`${file}: "pids" must be an object mapping function names to process ids`);
  }
  return raw as EndpointsDocument;
}

/** Whether process `pid` exists: signal 0 checks without sending anything (EPERM: it exists, owned by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The recorded process of `fnName`'s entry when that process is gone (the entry is stale), else undefined. */
export function stalePid(document: Pick<EndpointsDocument, 'endpoints' | 'pids'>, fnName: string): number | undefined {
  const pid = document.endpoints[fnName] === undefined ? undefined : document.pids?.[fnName];
  return pid !== undefined && !isProcessAlive(pid) ? pid : undefined;
}

/**
 * Adds or replaces `fnName`'s URL in the endpoints file, creating the file (and its folder) if needed, with
 * the file of the token its callers send when that is not the workspace's own, and the process that serves
 * it when that is a local process (without `pid` the entry is never taken for stale).
 */
export function registerEndpoint(file: string, fnName: string, url: string, tokenFile?: string, pid?: number): void {
  updateEndpointsFile(file, (document) => {
    const tokenFiles = withEntry(document.tokenFiles, fnName, tokenFile || undefined);
    const pids = withEntry(document.pids, fnName, pid);
    return withPerFunction({ ...document, endpoints: { ...document.endpoints, [fnName]: url } }, tokenFiles, pids);
  });
}

/**
 * Removes `fnName` from the endpoints file. With `url`, only while the entry still names that URL:
 * a later start of the same function may have replaced it; with `pid` too, only while it names that
 * process. Returns whether an entry was removed.
 */
export function unregisterEndpoint(file: string, fnName: string, url?: string, pid?: number): boolean {
  if (!existsSync(file)) return false;
  let removed = false;
  updateEndpointsFile(file, (document) => {
    if (!(fnName in document.endpoints) || (url !== undefined && document.endpoints[fnName] !== url)) return document;
    if (pid !== undefined && document.pids?.[fnName] !== pid) return document;
    removed = true;
    const { [fnName]: _removed, ...endpoints } = document.endpoints;
    return withPerFunction({ ...document, endpoints }, withEntry(document.tokenFiles, fnName, undefined), withEntry(document.pids, fnName, undefined));
  });
  return removed;
}

/** `entries` with `fnName` set to `value`, or without it when `value` is undefined. */
function withEntry<T>(entries: Record<string, T> | undefined, fnName: string, value: T | undefined): Record<string, T> {
  const { [fnName]: _replaced, ...others } = entries ?? {};
  return value === undefined ? others : { ...others, [fnName]: value };
}

/**
 * The document with these token files and pids, each key left out when it has no entries (files of
 * services that need none stay as they were).
 */
function withPerFunction(document: EndpointsDocument, tokenFiles: Record<string, string>, pids: Record<string, number>): EndpointsDocument {
  const { tokenFiles: _tokenFiles, pids: _pids, ...rest } = document;
  return { ...rest, ...(Object.keys(tokenFiles).length ? { tokenFiles } : {}), ...(Object.keys(pids).length ? { pids } : {}) };
}

export function updateEndpointsFile(file: string, change: (document: EndpointsDocument) => EndpointsDocument): EndpointsDocument {
  mkdirSync(dirname(file), { recursive: true });
  // The folder holds machine-local state only: keep it out of version control without touching .gitignore.
  if (dirname(file).endsWith(ENDPOINTS_DIR)) {
    const ignore = join(dirname(file), '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
  }
  return withLock(`${file}.lock`, () => {
    const current = existsSync(file) ? parseEndpointsDocument(readFileSync(file, 'utf8'), file) : { endpoints: {} };
    const next = change(current);
    if (next === current) return current;
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`);
    renameSync(temporary, file);
    return next;
  });
}

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

function withLock<T>(lock: string, work: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A holder that died mid-update leaves its lock behind; an update takes milliseconds.
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${lock}: held for more than ${LOCK_WAIT_MS / 1000}s; delete it if no service is starting`);
      sleepSync(5 + Math.random() * 20);
    }
  }
  try {
    return work();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // removed as stale by another process
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
