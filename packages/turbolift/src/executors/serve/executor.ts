import type { ExecutorContext } from '@nx/devkit';
import { startLocalService } from '../../local/serve-session';
import { resolveServiceProject } from '../../service/project';
import { runExecutorGenerator } from '../run-executor';
import { normalizeServeOptions } from './normalize-options';
import type { ServeExecutorOptions } from './schema';

export interface ServeResult {
  success: boolean;
  baseUrl?: string;
  /** One line, when the service could not be started. */
  reason?: string;
}

/**
 * `turbolift:serve`, a continuous target: yields `{ success: true }` once the service answers /readyz and
 * its URL is in the endpoints file, then stays until Nx stops it (SIGTERM/SIGINT) or the service exits.
 * Stopping drains the service and removes its endpoint.
 */
export default async function* serveExecutor(options: ServeExecutorOptions, context: ExecutorContext): AsyncGenerator<ServeResult> {
  yield* runExecutorGenerator('serve', async function* () {
    const project = resolveServiceProject(context, 'serve', options.bundleDir);
    const service = startLocalService(normalizeServeOptions(options, project), (line) => console.log(`serve: ${line}`));
    try {
      await service.ready;
      yield { success: true, baseUrl: service.baseUrl };
      const end = await service.stopped;
      console.error(`serve: ${project.name} stopped (${end.description})`);
      yield { success: end.code === 0 };
    } finally {
      await service.stop();
    }
  });
}
