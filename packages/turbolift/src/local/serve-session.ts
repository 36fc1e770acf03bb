/**
 * One lifted service served as a local process, from start to cleanup: checks that the bundle exists and
 * the port is free, starts `node main.js`, waits for `/readyz`, then registers its URL in the endpoints
 * file. While the session runs it owns this process's ending: SIGINT, SIGTERM or SIGHUP, or the parent
 * going away, stop the service (it drains) and exit with 128 + the signal's number. However the session
 * ends, the service is stopped and its entry removed.
 */
import { existsSync } from 'node:fs';
import { ensureTokenFile } from '@turbolift/runtime';
import { relative } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { registerServiceEndpoint, unregisterServiceEndpoint, type EndpointRegistration } from '../service/endpoints';
import { ServeError, assertPortFree, describeExit, startServiceProcess, stopServiceProcess, waitUntilReady } from './service-process';

export interface LocalServiceSpec {
  projectName: string;
  /** Key in the endpoints file: the lifted function's name. */
  functionName: string;
  host: string;
  port: number;
  baseUrl: string;
  /** The bundle's main.js (absolute). */
  mainJs: string;
  workspaceRoot: string;
  /** The service's turbolift.json (relative to the workspace root), named when its port is taken. */
  markerFile: string;
  readyTimeoutMs: number;
  /** How long the service drains on SIGTERM; it is killed 5 s after that. */
  drainMs: number;
  /** Environment of the service on top of this process's own. */
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
  readonly baseUrl: string;
  /** The service's pid once it is started. */
  readonly pid: number | undefined;
  /** Resolves once the service answers and is registered; rejects with a `ServeError` (the session is then cleaned up). */
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
  };
  const finish = (code: number | null, signal: NodeJS.Signals | null, description = describeExit(code, signal)) => {
    if (ended) return;
    ended = true;
    clearInterval(orphanWatch);
    for (const [signalName, handler] of signalHandlers) process.off(signalName, handler);
    process.off('exit', onProcessExit);
    unregister();
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

  const start = async (): Promise<EndpointRegistration> => {
    if (!existsSync(spec.mainJs)) {
      throw new ServeError('TL_BUNDLE_MISSING', `${relative(spec.workspaceRoot, spec.mainJs)} is missing: run "nx run ${spec.projectName}:build" first`);
    }
    await assertPortAvailable(spec);
    if (stopRequested) throw new ServeError('TL_SERVICE_EXITED', `${spec.projectName} was stopped before it started`);

    if (spec.tokenFile) ensureTokenFile(spec.tokenFile);
    const started = startServiceProcess({ mainJs: spec.mainJs, cwd: spec.workspaceRoot, env: { ...process.env, ...spec.env } });
    child = started;
    started.once('exit', (code, signal) => finish(code, signal));
    watchProcess();
    try {
      await waitUntilReady(spec.baseUrl, started, spec.readyTimeoutMs);
    } catch (error) {
      if (error instanceof ServeError) throw new ServeError(error.code, `${spec.projectName} on ${spec.baseUrl} ${error.message}`);
      throw error;
    }
    if (ended) throw new ServeError('TL_SERVICE_EXITED', `${spec.projectName} on ${spec.baseUrl} exited before it was registered`);
    registration = registerServiceEndpoint(spec.workspaceRoot, spec.functionName, spec.baseUrl);
    log(
      `${spec.projectName} (${spec.functionName}) ready at ${spec.baseUrl}, ` +
        `registered in ${relative(spec.workspaceRoot, registration.file) || registration.file}`,
    );
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
    baseUrl: spec.baseUrl,
    get pid() {
      return child?.pid;
    },
    ready,
    stopped,
    stop,
  };
}

async function assertPortAvailable(spec: LocalServiceSpec): Promise<void> {
  try {
    await assertPortFree(spec.host, spec.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new ServeError(
      'TL_PORT_IN_USE',
      `port ${spec.port} on ${spec.host} is already in use, so ${spec.projectName} cannot listen there; ` +
        `stop what holds it or change "port" in ${spec.markerFile}`,
    );
  }
}
