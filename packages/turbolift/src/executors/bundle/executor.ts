import { relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { bundleService, type BundleResult } from '../../bundle/run-bundle';
import { resolveServiceProject } from '../../service/project';
import { runExecutor } from '../run-executor';
import { bundlePackageName, normalizeBundleOptions } from './normalize-options';
import type { BundleExecutorOptions } from './schema';

/** `turbolift:bundle`: options → bundleService → one line with the size. */
export default async function bundleExecutor(options: BundleExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor('bundle', async () => {
    const project = resolveServiceProject(context, 'bundle');
    const result = await bundleService(normalizeBundleOptions(options, project), bundlePackageName(project.name));
    if (context.isVerbose) for (const warning of result.warnings) console.warn(`bundle: ${warning}`);
    console.log(`bundle: ${summary(result, context.root)}`);
    return { success: true };
  });
}

function summary(result: BundleResult, workspaceRoot: string): string {
  const externals = result.externals.map(
    (pkg) => `${pkg.name}${pkg.version ? `@${pkg.version}` : ''}${pkg.optional ? ` (optional${pkg.version ? '' : ', absent'})` : ''}`,
  );
  const kilobytes = `${(result.bytes / 1024).toFixed(1)} KiB`;
  const external = externals.length > 0 ? `; external: ${externals.join(', ')}` : '';
  return `${relative(workspaceRoot, result.outfile)} ${kilobytes} from ${result.inputs.length} files${external}`;
}
