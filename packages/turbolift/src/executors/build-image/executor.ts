import type { ExecutorContext } from '@nx/devkit';
import { buildServiceImage } from '../../docker/build';
import { DockerEngine } from '../../docker/engine';
import { resolveProject } from '../../service/project';
import { runExecutor } from '../run-executor';
import { normalizeBuildImageOptions } from './normalize-options';
import type { BuildImageExecutorOptions } from './schema';

/**
 * `turbolift:build-image`. The image record is the target's output; when it names the tag this run would
 * build, the executor checks the image is really in the engine (and registry) before trusting it.
 */
export default async function buildImageExecutor(options: BuildImageExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor('build-image', async () => {
    const project = resolveProject(context, 'build-image');
    const normalized = normalizeBuildImageOptions(options, project);
    await buildServiceImage(normalized, DockerEngine.connect(), (line) => console.log(line));
    return { success: true };
  });
}
