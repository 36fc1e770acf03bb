import type { ExecutorContext } from '@nx/devkit';
import { startLocalService } from '../../local/serve-session';
import { resolveServiceProject } from '../../service/project';
import { runExecutorGenerator } from '../run-executor';
import { normalizeServeOptions } from './normalize-options';
import type { ServeExecutorOptions } from './schema';
import { endFailedServeTask } from './task-exit';

export interface ServeResult {
  success: boolean;
  baseUrl?: string;
  /** One line, when the service could not be started. */
  reason?: string;
}

/**
 * `turbolift:serve`, a continuous target: yields `{ success: true, baseUrl }` once the service answers
 * /readyz and its URL is in the endpoints file (by default on a free port the OS picked when the service
 * bound it), then stays until Nx stops it (SIGTERM/SIGINT) or the service exits. Stopping drains the
 * service and removes its endpoint. A serve that ends on a failure (it could not start,
 * or the service exited) yields it and then ends its task process so that every Nx in the peer range reports
 * it as not successful (see ./task-exit); a stop by Nx ends the process from the session's signal handlers.
 */
export default async function* serveExecutor(options: ServeExecutorOptions, context: ExecutorContext): AsyncGenerator<ServeResult> {
  let failed = false;
  for await (const result of runExecutorGenerator('serve', () => serveSession(options, context))) {
    failed = !result.success;
    yield result;
  }
  if (failed) await endFailedServeTask(context);
}

async function* serveSession(options: ServeExecutorOptions, context: ExecutorContext): AsyncGenerator<ServeResult> {
  const project = resolveServiceProject(context, 'serve', options.bundleDir);
  const service = startLocalService(normalizeServeOptions(options, project), (line) => console.log(`serve: ${line}`));
  try {
    const { url } = await service.ready;
    yield { success: true, baseUrl: url };
    const end = await service.stopped;
    console.error(`serve: ${project.name} stopped (${end.description})`);
    yield { success: end.code === 0 };
  } finally {
    await service.stop();
  }
}
