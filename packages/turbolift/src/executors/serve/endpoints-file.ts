/**
 * The endpoints file (`.turbolift/endpoints.json`, shape `{"endpoints": {"<function>": "<url>"}}`) that
 * lifted stubs read in distributed mode. Registering and unregistering use @turbolift/runtime's
 * functions, so the file has one writer implementation for services and stubs alike.
 * `updateEndpointsFile` (for other changes, e.g. deploy-k8s) takes the same lock file (`<file>.lock`),
 * then writes a temporary file and renames it into place. Synchronous on purpose: unregistering must
 * also work from a process 'exit' handler.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { registerEndpoint as runtimeRegisterEndpoint, unregisterEndpoint as runtimeUnregisterEndpoint } from '@turbolift/runtime';

export interface EndpointsDocument {
  endpoints: Record<string, string>;
  [other: string]: unknown;
}

/** `$TURBOLIFT_ENDPOINTS` when set (the stubs read it first too), else `<workspaceRoot>/.turbolift/endpoints.json`. */
export function endpointsFilePath(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.TURBOLIFT_ENDPOINTS || join(workspaceRoot, '.turbolift', 'endpoints.json');
}

export function withEndpoint(document: EndpointsDocument, name: string, url: string): EndpointsDocument {
  return { ...document, endpoints: { ...document.endpoints, [name]: url } };
}

/** Removes the entry only while it still names this URL: a later serve of the same function may have replaced it. */
export function withoutEndpoint(document: EndpointsDocument, name: string, url: string): EndpointsDocument {
  if (document.endpoints[name] !== url) return document;
  const endpoints = { ...document.endpoints };
  delete endpoints[name];
  return { ...document, endpoints };
}

export function parseEndpointsDocument(text: string, file: string): EndpointsDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message}); delete it and start the services again`);
  }
  const endpoints = (raw as { endpoints?: unknown } | null)?.endpoints;
  if (typeof endpoints !== 'object' || endpoints === null || Array.isArray(endpoints)) {
    throw new Error(`${file}: "endpoints" must be an object of function name to URL`);
  }
  return raw as EndpointsDocument;
}

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(file: string, work: () => T): T {
  const lock = `${file}.lock`;
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
        // the holder just released it
      }
      if (Date.now() > deadline) throw new Error(`${lock}: held for more than ${LOCK_WAIT_MS / 1000}s; delete it if no turbolift serve is running`);
      sleepSync(10 + Math.random() * 20);
    }
  }
  try {
    return work();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already removed as stale by another process
    }
  }
}

export function updateEndpointsFile(file: string, change: (document: EndpointsDocument) => EndpointsDocument): EndpointsDocument {
  mkdirSync(dirname(file), { recursive: true });
  // The folder holds only machine-local state: keep it out of version control without touching .gitignore.
  const ignore = join(dirname(file), '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
  return withLock(file, () => {
    const current = existsSync(file) ? parseEndpointsDocument(readFileSync(file, 'utf8'), file) : { endpoints: {} };
    const next = change(current);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(next, null, 2) + '\n');
    renameSync(temporary, file);
    return next;
  });
}

export function registerEndpoint(file: string, name: string, url: string): void {
  runtimeRegisterEndpoint(file, name, url);
}

/** Removes the entry only while it still names this URL. */
export function unregisterEndpoint(file: string, name: string, url: string): void {
  runtimeUnregisterEndpoint(file, name, url);
}
