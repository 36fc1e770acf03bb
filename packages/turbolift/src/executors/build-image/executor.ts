import type { ExecutorContext } from '@nx/devkit';
import { DockerEngine } from '../../docker/engine';
import { isImageError } from '../../docker/errors';
import { buildServiceImage } from './build-image';
import { normalizeBuildImageOptions } from './normalize-options';
import type { BuildImageExecutorOptions } from './schema';

/**
 * `turbolift:build-image`. The image record is the target's output; when it names the tag this run would
 * build, the executor checks the image is really in the engine (and registry) before trusting it.
 */
export default async function buildImageExecutor(options: BuildImageExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const projectName = context.projectName;
  try {
    if (!projectName) throw new Error('build-image must run for a project');
    const projectRoot = context.projectsConfigurations?.projects?.[projectName]?.root;
    if (projectRoot === undefined) throw new Error(`project ${projectName} has no root in the workspace`);
    const normalized = normalizeBuildImageOptions(options, { projectName, projectRoot, workspaceRoot: context.root });
    const engine = DockerEngine.connect();
    await buildServiceImage(normalized, engine, (line) => console.log(line));
    return { success: true };
  } catch (error) {
    // User errors are one line; anything else gets its stack only on request.
    if (isImageError(error)) console.error(`build-image: ${error.message}`);
    else console.error(`build-image: ${process.env.TURBOLIFT_DEBUG ? (error as Error).stack : (error as Error).message}`);
    return { success: false };
  }
}
