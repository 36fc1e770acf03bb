/**
 * `serve(fn)`: the entry point of a lifted service's main.ts. Listens, reports one line (and its
 * address to `$TURBOLIFT_LISTEN_FILE` when a supervisor set it), and on SIGTERM/SIGINT drains:
 * unready at once, keeps serving through the drain window, lets calls in flight finish, closes
 * keep-alive connections, exits 0.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SERVICE_ENV, type ServiceListening } from '../contract';
import { poolWorkerData, registerPoolHandler } from './executor';
import { normalizeServeOptions, type ServeOptions } from './options';
import { buildService, type ServedFunction } from './service';

export interface RunningService {
  /** The fastify instance. */
  app: FastifyInstance;
  /** `http://host:port` the service listens on. */
  url: string;
  port: number;
  /** Drain and close, as on SIGTERM (without exiting the process). Idempotent. */
  shutdown(): Promise<void>;
}

/** Builds the service without listening: for tests with `app.inject` or to add routes. */
export function createService(fn: ServedFunction, options: ServeOptions = {}): FastifyInstance {
  return buildService(fn, normalizeServeOptions(fn, options)).app;
}

/**
 * In a pool worker thread (the service's module loaded again to get the function) `serve` registers
 * the function for the pool and the promise never settles: the worker has nothing else to do.
 */
export async function serve(fn: ServedFunction, options: ServeOptions = {}): Promise<RunningService> {
  const manageProcess = options.manageProcess ?? true;
  const inWorker = poolWorkerData();
  // The pool's threads load the module that started the process: a lifted service's main.js.
  const mainModule = manageProcess && !inWorker && typeof require !== 'undefined' ? require.main?.filename : undefined;
  const normalized = normalizeServeOptions(fn, inWorker ? { ...options, workers: 0 } : options, process.env, mainModule);
  if (inWorker) {
    registerPoolHandler(fn, normalized);
    return new Promise<never>(() => undefined);
  }
  const { app, lifecycle, executor } = buildService(fn, normalized);
  const { name } = normalized;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      lifecycle.startDraining();
      if (normalized.drainMs > 0) {
        log(`${name} draining: unready, serving for up to ${normalized.drainMs} ms (less after ${normalized.drainQuietMs} ms without calls)`);
        await lifecycle.drainWindow(normalized.drainMs, normalized.drainQuietMs);
      }
      // Waits for calls in flight; idle keep-alive connections are closed.
      await app.close();
      log(`${name} stopped`);
    })());

  // Handlers first: a supervisor may signal as soon as it reads the "listening" line.
  if (manageProcess) {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal means "now": skip the drain.
      if (++signals > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
      shutdown().then(
        () => process.exit(0),
        (error: Error) => {
          process.stderr.write(`${name} failed to shut down cleanly: ${error.message}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  const fail = async (reason: string, error: unknown): Promise<never> => {
    if (!manageProcess) {
      await app.close().catch(() => undefined);
      throw new Error(reason, { cause: error });
    }
    process.stderr.write(`${reason}\n`);
    process.exit(1);
  };
  try {
    await app.ready();
  } catch (error) {
    await fail(`${name} cannot start: ${(error as Error).message}`, error);
  }
  try {
    await app.listen({ host: normalized.host, port: normalized.port });
  } catch (error) {
    await fail(`${name} cannot listen on ${normalized.host}:${normalized.port}: ${(error as Error).message}`, error);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : normalized.port;
  const url = `http://${formatHost(normalized.host)}:${port}`;
  const { auth } = normalized;
  const callers = auth.enabled ? `callers need a token${auth.tokenDir ? ` from ${auth.tokenDir}` : ''}` : `every caller accepted: ${auth.reason}`;
  log(`${name} listening on ${url} (${executor.description}; ${callers})`);
  const listenFile = manageProcess ? process.env[SERVICE_ENV.listenFile] : undefined;
  if (listenFile) {
    try {
      announceListening(listenFile, { url, port, pid: process.pid });
    } catch (error) {
      await fail(`${name} cannot write its address to ${listenFile} (${SERVICE_ENV.listenFile}): ${(error as Error).message}`, error);
    }
  }

  return { app, url, port, shutdown };
}

/** Tells the supervisor that set `$TURBOLIFT_LISTEN_FILE` where the service listens (the port may have been chosen at bind time). */
function announceListening(file: string, listening: ServiceListening): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(listening)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
