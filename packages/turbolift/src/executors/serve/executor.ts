import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { ChildProcess } from 'node:child_process';
import { MARKER_FILE, MarkerError, parseServiceMarkerText, type ServiceMarker } from '../../service/marker';
import { endpointsFilePath, registerEndpoint, unregisterEndpoint } from './endpoints-file';
import { ServeError, assertPortFree, startServiceProcess, stopServiceProcess, waitUntilReady } from '../../local/service-process';
import { normalizeServeOptions, type NormalizedServeOptions } from './normalize-options';
import type { ServeExecutorOptions } from './schema';

export interface ServeResult {
  success: boolean;
  baseUrl?: string;
}

const EXIT_CODES: Record<string, number> = { SIGHUP: 128 + 1, SIGINT: 128 + 2, SIGTERM: 128 + 15 };

function readMarker(workspaceRoot: string, projectRoot: string): ServiceMarker | undefined {
  const file = join(projectRoot, MARKER_FILE);
  const absolute = join(workspaceRoot, file);
  return existsSync(absolute) ? parseServiceMarkerText(readFileSync(absolute, 'utf8'), file) : undefined;
}

async function assertPortAvailable(options: NormalizedServeOptions, markerFile: string): Promise<void> {
  try {
    await assertPortFree(options.host, options.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new ServeError(
      'TL_PORT_IN_USE',
      `port ${options.port} on ${options.host} is already in use, so ${options.projectName} cannot listen there; stop what holds it or change "port" in ${markerFile}`,
    );
  }
}

/**
 * `turbolift:serve`, a continuous target: yields `{ success: true }` once the service answers /readyz and
 * its URL is in the endpoints file, then stays until Nx stops it (SIGTERM/SIGINT) or the service exits.
 * Stopping drains the service and removes its endpoint.
 */
export default async function* serveExecutor(options: ServeExecutorOptions, context: ExecutorContext): AsyncGenerator<ServeResult> {
  const projectName = context.projectName ?? '';
  let child: ChildProcess | undefined;
  let registration: { file: string; name: string; url: string } | undefined;
  const unregister = () => {
    if (!registration) return;
    const { file, name, url } = registration;
    registration = undefined;
    unregisterEndpoint(file, name, url);
  };
  // Last resort when the process ends without our signal handlers running to completion.
  const onExit = () => {
    child?.kill('SIGTERM');
    unregister();
  };
  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  let orphanWatch: NodeJS.Timeout | undefined;

  try {
    const projectRoot = context.projectsConfigurations?.projects?.[projectName]?.root;
    if (!projectName || projectRoot === undefined) throw new ServeError('TL_SERVICE_EXITED', 'serve must run as a target of a project');
    const markerFile = join(projectRoot, MARKER_FILE);
    const normalized = normalizeServeOptions(options, { projectName, projectRoot, workspaceRoot: context.root, marker: readMarker(context.root, projectRoot) });
    if (!existsSync(normalized.mainJs)) {
      throw new ServeError('TL_BUNDLE_MISSING', `${relative(context.root, normalized.mainJs)} is missing: run "nx run ${projectName}:build" first`);
    }
    await assertPortAvailable(normalized, markerFile);

    const started = startServiceProcess({ mainJs: normalized.mainJs, cwd: context.root, env: { ...process.env, ...normalized.env } });
    child = started;
    process.once('exit', onExit);
    const stopped = new Promise<{ signal?: NodeJS.Signals; code?: number | null }>((resolve) => {
      started.once('exit', (code, signal) => resolve({ code, signal: signal ?? undefined }));
      for (const signal of Object.keys(EXIT_CODES) as NodeJS.Signals[]) {
        const handler = () => void shutdown(EXIT_CODES[signal]);
        signalHandlers.set(signal, handler);
        process.once(signal, handler);
      }
    });
    const shutdown = async (exitCode: number) => {
      await stopServiceProcess(started, normalized.drainMs + 5000);
      unregister();
      process.exit(exitCode);
    };
    // Nx stops its task processes when it is interrupted, but a SIGTERM to nx alone leaves them behind:
    // a task whose parent is gone stops its service instead of holding the port.
    const parentAtStart = process.ppid;
    orphanWatch = setInterval(() => {
      if (process.ppid !== parentAtStart) void shutdown(EXIT_CODES.SIGHUP);
    }, 1000);
    orphanWatch.unref();

    try {
      await waitUntilReady(normalized.baseUrl, started, normalized.readyTimeoutMs);
    } catch (error) {
      if (error instanceof ServeError) throw new ServeError(error.code, `${projectName} on ${normalized.baseUrl} ${error.message}`);
      throw error;
    }
    const file = endpointsFilePath(context.root);
    registerEndpoint(file, normalized.functionName, normalized.baseUrl);
    registration = { file, name: normalized.functionName, url: normalized.baseUrl };
    console.log(`serve: ${projectName} (${normalized.functionName}) ready at ${normalized.baseUrl}, registered in ${relative(context.root, file) || file}`);

    yield { success: true, baseUrl: normalized.baseUrl };

    const end = await stopped;
    unregister();
    console.error(`serve: ${projectName} stopped (${end.signal ? `signal ${end.signal}` : `exit code ${end.code}`})`);
    yield { success: end.code === 0 };
  } catch (error) {
    const userError = error instanceof ServeError || error instanceof MarkerError || (error as Error).message?.startsWith('serve options of');
    console.error(`serve: ${userError || !process.env.TURBOLIFT_DEBUG ? (error as Error).message : (error as Error).stack}`);
    yield { success: false };
  } finally {
    clearInterval(orphanWatch);
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    if (child) await stopServiceProcess(child, 5000);
    unregister();
    process.off('exit', onExit);
  }
}
