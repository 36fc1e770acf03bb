import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { BundleError, bundleService } from '../../bundle/run-bundle';
import { MARKER_FILE, MarkerError, parseServiceMarkerText, type ServiceMarker } from '../../plugins/service-marker';
import { bundlePackageName, normalizeBundleOptions } from './normalize-options';
import type { BundleExecutorOptions } from './schema';

function readMarker(workspaceRoot: string, projectRoot: string): ServiceMarker | undefined {
  const file = join(projectRoot, MARKER_FILE);
  const absolute = join(workspaceRoot, file);
  return existsSync(absolute) ? parseServiceMarkerText(readFileSync(absolute, 'utf8'), file) : undefined;
}

const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** `turbolift:bundle`: options → bundleService → one line with the size. */
export default async function bundleExecutor(options: BundleExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const projectName = context.projectName;
  try {
    const projectRoot = projectName ? context.projectsConfigurations?.projects?.[projectName]?.root : undefined;
    if (!projectName || projectRoot === undefined) throw new BundleError('TL_BUNDLE_FAILED', 'bundle must run as a target of a project');
    const input = normalizeBundleOptions(options, {
      projectName,
      projectRoot,
      workspaceRoot: context.root,
      marker: readMarker(context.root, projectRoot),
    });
    const result = await bundleService(input, bundlePackageName(projectName));
    if (context.isVerbose) for (const warning of result.warnings) console.warn(`bundle: ${warning}`);
    const externals = result.externals.map((pkg) => `${pkg.name}${pkg.version ? `@${pkg.version}` : ''}${pkg.optional ? ` (optional${pkg.version ? '' : ', absent'})` : ''}`);
    console.log(
      `bundle: ${relative(context.root, result.outfile)} ${kilobytes(result.bytes)} from ${result.inputs.length} files` +
        (externals.length > 0 ? `; external: ${externals.join(', ')}` : ''),
    );
    return { success: true };
  } catch (error) {
    const userError = error instanceof BundleError || error instanceof MarkerError;
    console.error(`bundle${projectName ? ` ${projectName}` : ''}: ${userError || !process.env.TURBOLIFT_DEBUG ? (error as Error).message : (error as Error).stack}`);
    return { success: false };
  }
}
