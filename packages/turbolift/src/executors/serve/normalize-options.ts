// Pure: the executor's options, checked and defaulted once, as the spec of a local service session.
import { join } from 'node:path';
import { AUTH, ENDPOINTS_DIR } from '@turbolift/runtime/contract';
import { TurboliftError } from '../../errors';
import type { LocalServiceSpec } from '../../local/serve-session';
import { MARKER_FILE } from '../../service/marker';
import { servicePaths } from '../../service/paths';
import { requireMarker, type ServiceProject } from '../../service/project';
import { SERVICE_ENV, checkWorkerPoolSettings, workerPoolEnv } from '../../service/runtime-settings';
import type { ServeExecutorOptions } from './schema';

export const SERVE_HOST = '127.0.0.1';

export type NormalizedServeOptions = LocalServiceSpec;

/** Refuses a project without turbolift.json (`TL_NOT_A_SERVICE`) and options out of range (`TL_BAD_OPTIONS`). */
export function normalizeServeOptions(options: ServeExecutorOptions, project: ServiceProject): NormalizedServeOptions {
  const fail = (message: string): never => {
    throw new TurboliftError('TL_BAD_OPTIONS', `serve options of ${project.name}: ${message}`);
  };
  const marker = requireMarker(project, 'serve');
  const port = options.port ?? marker.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port must be a whole number from 1 to 65535, got ${port}`);
  // By default a free port the OS picks when the service binds (PORT=0): two workspaces never collide.
  // turbolift.json's port (or the port option) is used only when asked for; the inferred target sets neither.
  const fixedPort = options.fixedPort ?? false;
  if (typeof fixedPort !== 'boolean') fail(`fixedPort must be true or false, got ${JSON.stringify(fixedPort)}`);
  const markerFile = join(project.root, MARKER_FILE);
  const drainMs = options.drainMs ?? 1000;
  // Unset pool options are left out, so the runtime's defaults (one worker per CPU of this machine) apply.
  const pool = checkWorkerPoolSettings(
    { workers: options.workers, callTimeoutMs: options.callTimeoutMs, maxQueue: options.maxQueue, maxQueueWaitMs: options.maxQueueWaitMs },
    fail,
  );
  // The workspace's token folder: the service accepts its token, and stubs run in the workspace find it upward.
  const tokenDir = join(project.workspaceRoot, ENDPOINTS_DIR);
  const auth = options.auth ?? true;
  return {
    projectName: project.name,
    functionName: marker.function,
    host: SERVE_HOST,
    port: fixedPort ? port : undefined,
    mainJs: join(project.workspaceRoot, servicePaths(project.root, options.bundleDir).mainJs),
    workspaceRoot: project.workspaceRoot,
    portSetting: options.port !== undefined && options.port !== marker.port ? 'the "port" option' : `"port" in ${markerFile}`,
    readyTimeoutMs: (options.readyTimeoutSeconds ?? 30) * 1000,
    drainMs,
    tokenFile: auth ? join(tokenDir, AUTH.currentKey) : undefined,
    env: {
      ...options.env,
      ...(auth ? { [AUTH.tokenDirEnv]: tokenDir } : { [AUTH.authEnv]: 'off' }),
      [SERVICE_ENV.host]: SERVE_HOST,
      // The function runs here; calls it makes to other lifted functions stay in this process.
      [SERVICE_ENV.mode]: 'local',
      [SERVICE_ENV.drainMs]: String(drainMs),
      ...workerPoolEnv(pool),
    },
  };
}
