/**
 * A lifted service as a local child process: checks a fixed port is free, starts `node main.js` from the
 * bundle, learns the port it listens on from the file named by `TURBOLIFT_LISTEN_FILE` (when the OS chose
 * it at bind time), waits for `GET /readyz`, and stops it with SIGTERM (the runtime drains), then SIGKILL
 * after a grace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { SERVICE_ENV, type ServiceListening } from '@turbolift/runtime/contract';
import { TurboliftError } from '../errors';
import { READY_PATH } from '../service/runtime-settings';

export type ServeErrorCode = 'TL_PORT_IN_USE' | 'TL_BUNDLE_MISSING' | 'TL_SERVICE_EXITED' | 'TL_NOT_READY';

/** A local service that cannot be started or did not come up. */
export class ServeError extends TurboliftError<ServeErrorCode> {
  override name = 'ServeError';
  constructor(code: ServeErrorCode, message: string) {
    super(code, message);
  }
}

/** How a process ended, as the one-line messages say it: `exit code 3`, `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/** Resolves when nothing listens on host:port (binding it briefly), rejects with the errno code otherwise. */
export function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export interface StartSpec {
  mainJs: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function startServiceProcess(spec: StartSpec): ChildProcess {
  return spawn(process.execPath, ['--enable-source-maps', spec.mainJs], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'inherit', 'inherit'] });
}

function readyStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/** Rejects with TL_SERVICE_EXITED once the child has exited. */
function exitOf(child: ChildProcess): Promise<never> {
  const exited = new Promise<never>((_, reject) => {
    const fail = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new ServeError('TL_SERVICE_EXITED', `exited before it was ready (${describeExit(code, signal)})`));
    if (child.exitCode !== null || child.signalCode !== null) fail(child.exitCode, child.signalCode);
    child.once('exit', fail);
  });
  exited.catch(() => undefined);
  return exited;
}

const LISTEN_FILE_POLL_MS = 25;

/**
 * Waits for the service to write `file` (`$TURBOLIFT_LISTEN_FILE`, see the runtime's contract) once it
 * listens, and returns the port it names; fails fast when the child exits, and after `timeoutMs` at most.
 */
export async function waitForListening(file: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const exited = exitOf(child);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readIfPresent(file);
    if (text !== undefined) return listeningPort(text, file);
    if (Date.now() > deadline) {
      throw new ServeError(
        'TL_NOT_READY',
        `did not say which port it listens on within ${timeoutMs / 1000}s (${SERVICE_ENV.listenFile}; a bundle built with an older ` +
          '@turbolift/runtime does not: build it again, or serve it on a fixed port with "fixedPort": true)',
      );
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, LISTEN_FILE_POLL_MS)), exited]);
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function listeningPort(text: string, file: string): number {
  let port: unknown;
  try {
    port = (JSON.parse(text) as Partial<ServiceListening>).port;
  } catch {
    // named below
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ServeError('TL_NOT_READY', `wrote ${JSON.stringify(text.trim())} to ${file}, which names no port it listens on`);
  }
  return port;
}

/** Polls `<baseUrl>/readyz` until 200; fails fast when the child exits, and after `timeoutMs` at most. */
export async function waitUntilReady(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const exited = exitOf(child);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const status = await Promise.race([readyStatus(`${baseUrl}${READY_PATH}`, 1000), exited]);
    if (status === 200) return;
    if (Date.now() > deadline) {
      throw new ServeError('TL_NOT_READY', `${READY_PATH} did not answer 200 within ${timeoutMs / 1000}s (last: ${status ?? 'no answer'})`);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500))), exited]);
  }
}

/** SIGTERM lets the runtime drain; a child still there after `graceMs` is killed. */
export function stopServiceProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
