/**
 * The endpoints file, `{"endpoints": {"<function>": "<url>"}}`: read by stubs (cached, re-read when its
 * mtime or size changes) and written by whoever starts services locally (`registerEndpoint`).
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
  return raw as EndpointsDocument;
}

/**
 * Adds or replaces `fnName`'s URL in the endpoints file, creating the file (and its folder) if needed, with
 * the file of the token its callers send when that is not the workspace's own.
 */
export function registerEndpoint(file: string, fnName: string, url: string, tokenFile?: string): void {
  updateEndpointsFile(file, (document) => {
    const { [fnName]: _replaced, ...otherTokenFiles } = document.tokenFiles ?? {};
    const tokenFiles = tokenFile ? { ...otherTokenFiles, [fnName]: tokenFile } : otherTokenFiles;
    return withTokenFiles({ ...document, endpoints: { ...document.endpoints, [fnName]: url } }, tokenFiles);
  });
}

/**
 * Removes `fnName` from the endpoints file. With `url`, only while the entry still names that URL:
 * a later start of the same function may have replaced it. Returns whether an entry was removed.
 */
export function unregisterEndpoint(file: string, fnName: string, url?: string): boolean {
  if (!existsSync(file)) return false;
  let removed = false;
  updateEndpointsFile(file, (document) => {
    if (!(fnName in document.endpoints) || (url !== undefined && document.endpoints[fnName] !== url)) return document;
    removed = true;
    const endpoints = { ...document.endpoints };
    delete endpoints[fnName];
    const tokenFiles = { ...document.tokenFiles };
    delete tokenFiles[fnName];
    return withTokenFiles({ ...document, endpoints }, tokenFiles);
  });
  return removed;
}

/** The document with these token files, and without the key when there are none (files of services that need none stay as they were). */
function withTokenFiles(document: EndpointsDocument, tokenFiles: Record<string, string>): EndpointsDocument {
  const { tokenFiles: _previous, ...rest } = document;
  return Object.keys(tokenFiles).length ? { ...rest, tokenFiles } : rest;
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
