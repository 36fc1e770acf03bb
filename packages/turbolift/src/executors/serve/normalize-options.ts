// Pure: the executor's options, checked and defaulted once.
import { join } from 'node:path';
import { SERVICE_ENV, checkWorkerPoolSettings, workerPoolEnv } from '../../service/runtime-settings';
import { DEFAULT_SERVICE_PORT, type ServiceMarker } from '../../service/marker';
import type { ServeExecutorOptions } from './schema';

export const SERVE_HOST = '127.0.0.1';

export interface ServeProject {
  projectName: string;
  projectRoot: string;
  workspaceRoot: string;
  marker?: ServiceMarker;
}

export interface NormalizedServeOptions {
  projectName: string;
  /** Key in the endpoints file: the lifted function's name. */
  functionName: string;
  host: string;
  port: number;
  baseUrl: string;
  mainJs: string;
  workspaceRoot: string;
  readyTimeoutMs: number;
  drainMs: number;
  /** Environment of the service on top of the executor's own. */
  env: Record<string, string>;
}

export function normalizeServeOptions(options: ServeExecutorOptions, project: ServeProject): NormalizedServeOptions {
  const fail = (message: string): never => {
    throw new Error(`serve options of ${project.projectName}: ${message}`);
  };
  if (!project.marker) fail(`${join(project.projectRoot, 'turbolift.json')} is missing: serve runs lifted services only`);
  const port = options.port ?? project.marker?.port ?? DEFAULT_SERVICE_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port must be a whole number from 1 to 65535, got ${port}`);
  const drainMs = options.drainMs ?? 1000;
  // Unset pool options are left out, so the runtime's defaults (one worker per CPU of this machine) apply.
  const pool = checkWorkerPoolSettings(
    { workers: options.workers, callTimeoutMs: options.callTimeoutMs, maxQueue: options.maxQueue, maxQueueWaitMs: options.maxQueueWaitMs },
    fail,
  );
  const baseUrl = `http://${SERVE_HOST}:${port}`;
  return {
    projectName: project.projectName,
    functionName: project.marker!.function,
    host: SERVE_HOST,
    port,
    baseUrl,
    mainJs: join(project.workspaceRoot, options.bundleDir ?? join('dist', project.projectRoot, 'bundle'), 'main.js'),
    workspaceRoot: project.workspaceRoot,
    readyTimeoutMs: (options.readyTimeoutSeconds ?? 30) * 1000,
    drainMs,
    env: {
      ...options.env,
      [SERVICE_ENV.host]: SERVE_HOST,
      [SERVICE_ENV.port]: String(port),
      // The function runs here; calls it makes to other lifted functions stay in this process.
      [SERVICE_ENV.mode]: 'local',
      [SERVICE_ENV.drainMs]: String(drainMs),
      ...workerPoolEnv(pool),
    },
  };
}
