/**
 * One lifted service served as a local process, from start to cleanup: checks that the bundle exists (and
 * a fixed port is free), drops its function's entry from the endpoints file when a killed serve left it
 * behind, starts `node main.js`, learns its port (by default the OS picks a free one when the service
 * binds: `PORT=0`, and the service writes the port to the file named by `TURBOLIFT_LISTEN_FILE`), waits
 * for `/readyz`, then registers its URL with its pid in the endpoints file. While the session runs it owns
 * this process's ending: SIGINT, SIGTERM or SIGHUP, or the parent going away, stop the service (it drains)
 * and exit with 128 + the signal's number. However the session ends, the service is stopped and its entry
 * removed; an entry left by a session that was killed names a pid that is gone, which stubs skip.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ensureTokenFile } from '@turbolift/runtime';
import { SERVICE_ENV } from '@turbolift/runtime/contract';
import { join, relative } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { registerServiceEndpoint, removeStaleServiceEndpoint, unregisterServiceEndpoint, type EndpointRegistration } from '../service/endpoints';
import { ServeError, assertPortFree, describeExit, startServiceProcess, stopServiceProcess, waitForListening, waitUntilReady } from './service-process';

export interface LocalServiceSpec {
  projectName: string;
  /** Key in the endpoints file: the lifted function's name. */
  functionName: string;
  host: string;
  /** A fixed port; unset: a free port the OS picks when the service binds, which the service reports. */
  port?: number;
  /** The bundle's main.js (absolute). */
  mainJs: string;
  workspaceRoot: string;
  /** Where a fixed port is set, named when it is taken: `"port" in apps/svc/turbolift.json`. */
  portSetting: string;
  readyTimeoutMs: number;
  /** How long the service drains on SIGTERM; it is killed 5 s after that. */
  drainMs: number;
  /** Environment of the service on top of this process's own (`PORT` and the listen file are the session's). */
  env: Record<string, string>;
  /** The caller token the service accepts, made (mode 0600) before it starts when absent; none: it accepts every caller. */
  tokenFile?: string;
}

export interface LocalServiceEnd {
  /** null when the process ended by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `exit code 0`, `signal SIGKILL`, `not started`. */
  description: string;
}

export interface LocalService {
  /** `http://host:port` once the port is known: at once for a fixed port, else once the service listens. */
  readonly baseUrl: string | undefined;
  /** The service's pid once it is started. */
  readonly pid: number | undefined;
  /** Resolves once the service answers and is registered (its URL and pid); rejects with a `ServeError` (the session is then cleaned up). */
  readonly ready: Promise<EndpointRegistration>;
  /** Resolves once the service has ended, by itself or by `stop()`, and its entry is removed. */
  readonly stopped: Promise<LocalServiceEnd>;
  /** Stops the service (SIGTERM, SIGKILL after the drain and a grace) and ends the session. */
  stop(): Promise<LocalServiceEnd>;
}

const EXIT_CODES = { SIGHUP: 128 + 1, SIGINT: 128 + 2, SIGTERM: 128 + 15 } as const;
const ORPHAN_CHECK_MS = 1000;
const KILL_GRACE_MS = 5000;

export function startLocalService(spec: LocalServiceSpec, log: (line: string) => void): LocalService {
  let child: ChildProcess | undefined;
  let baseUrl = spec.port === undefined ? undefined : urlOf(spec.host, spec.port);
  let listenDir: string | undefined;
  const removeListenDir = () => {
    if (listenDir) rmSync(listenDir, { recursive: true, force: true });
    listenDir = undefined;
  };
  let registration: EndpointRegistration | undefined;
  let stopRequested = false;
  let ended = false;
  let resolveStopped!: (end: LocalServiceEnd) => void;
  const stopped = new Promise<LocalServiceEnd>((resolve) => (resolveStopped = resolve));

  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  let orphanWatch: NodeJS.Timeout | undefined;
  const unregister = () => {
    if (registration) unregisterServiceEndpoint(registration);
    registration = undefined;
  };
  // Last resort when this process ends without the session having ended.
  const onProcessExit = () => {
    child?.kill('SIGTERM');
    unregister();
    removeListenDir();
  };
  const finish = (code: number | null, signal: NodeJS.Signals | null, description = describeExit(code, signal)) => {
    if (ended) return;
    ended = true;
    clearInterval(orphanWatch);
    for (const [signalName, handler] of signalHandlers) process.off(signalName, handler);
    process.off('exit', onProcessExit);
    unregister();
    removeListenDir();
    resolveStopped({ code, signal, description });
  };

  const stop = (): Promise<LocalServiceEnd> => {
    stopRequested = true;
    // Without a child the start has failed (and finished the session) or is still checking the port (and will).
    if (child) void stopServiceProcess(child, spec.drainMs + KILL_GRACE_MS);
    return stopped;
  };
  let exiting = false;
  const stopAndExit = (exitCode: number) => {
    if (exiting) return;
    exiting = true;
    void stop().then(() => process.exit(exitCode));
  };

  const watchProcess = () => {
    process.once('exit', onProcessExit);
    for (const signal of Object.keys(EXIT_CODES) as (keyof typeof EXIT_CODES)[]) {
      const handler = () => stopAndExit(EXIT_CODES[signal]);
      signalHandlers.set(signal, handler);
      process.once(signal, handler);
    }
    // Nx stops its task processes when it is interrupted, but a SIGTERM to nx alone leaves them behind:
    // a session whose parent is gone stops its service instead of holding the port.
    const parentAtStart = process.ppid;
    orphanWatch = setInterval(() => {
      if (process.ppid !== parentAtStart) stopAndExit(EXIT_CODES.SIGHUP);
    }, ORPHAN_CHECK_MS);
    orphanWatch.unref();
  };

  const fileName = (file: string) => relative(spec.workspaceRoot, file) || file;
  const start = async (): Promise<EndpointRegistration> => {
    if (!existsSync(spec.mainJs)) {
      throw new ServeError('TL_BUNDLE_MISSING', `${relative(spec.workspaceRoot, spec.mainJs)} is missing: run "nx run ${spec.projectName}:build" first`);
    }
    if (spec.port !== undefined) await assertPortAvailable(spec, spec.port);
    if (stopRequested) throw new ServeError('TL_SERVICE_EXITED', `${spec.projectName} was stopped before it started`);
    const stale = removeStaleServiceEndpoint(spec.workspaceRoot, spec.functionName);
    if (stale) log(`removed ${spec.functionName}'s stale entry ${stale.url} from ${fileName(stale.file)}: its process ${stale.pid} is no longer running`);

    if (spec.tokenFile) ensureTokenFile(spec.tokenFile);
    const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env, [SERVICE_ENV.port]: String(spec.port ?? 0) };
    let listenFile: string | undefined;
    if (spec.port === undefined) {
      listenDir = mkdtempSync(join(tmpdir(), 'turbolift-serve-'));
      listenFile = join(listenDir, 'listening.json');
      env[SERVICE_ENV.listenFile] = listenFile;
    } else {
      delete env[SERVICE_ENV.listenFile];
    }
    const started = startServiceProcess({ mainJs: spec.mainJs, cwd: spec.workspaceRoot, env });
    child = started;
    started.once('exit', (code, signal) => finish(code, signal));
    watchProcess();
    const where = () => (baseUrl ? `${spec.projectName} on ${baseUrl}` : spec.projectName);
    try {
      if (listenFile) {
        baseUrl = urlOf(spec.host, await waitForListening(listenFile, started, spec.readyTimeoutMs));
        removeListenDir();
      }
      await waitUntilReady(baseUrl as string, started, spec.readyTimeoutMs);
    } catch (error) {
      if (error instanceof ServeError) throw new ServeError(error.code, `${where()} ${error.message}`);
      throw error;
    }
    const url = baseUrl as string;
    if (ended || started.pid === undefined) throw new ServeError('TL_SERVICE_EXITED', `${where()} exited before it was registered`);
    registration = registerServiceEndpoint(spec.workspaceRoot, spec.functionName, url, undefined, started.pid);
    log(`${spec.projectName} (${spec.functionName}) ready at ${url}, registered in ${fileName(registration.file)}`);
    return registration;
  };

  const ready = start().catch(async (error: unknown) => {
    if (child) await stopServiceProcess(child, KILL_GRACE_MS);
    // A child that was started finishes the session on its exit; this covers one that never was.
    finish(null, null, 'not started');
    throw error;
  });
  // The caller sees the failure through `ready`; a caller that only waits for `stopped` must not crash on it.
  ready.catch(() => undefined);

  return {
    get baseUrl() {
      return baseUrl;
    },
    get pid() {
      return child?.pid;
    },
    ready,
    stopped,
    stop,
  };
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function assertPortAvailable(spec: LocalServiceSpec, port: number): Promise<void> {
  try {
    await assertPortFree(spec.host, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new ServeError(
      'TL_PORT_IN_USE',
      `port ${port} on ${spec.host} is already in use, so ${spec.projectName} cannot listen there; ` +
        `stop what holds it, change ${spec.portSetting}, or serve it without "fixedPort" on a free port`,
    );
  }
}
