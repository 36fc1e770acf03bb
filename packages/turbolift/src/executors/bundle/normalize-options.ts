// Pure: the executor's options, checked and defaulted once.
import { join } from 'node:path';
import type { BundleInput } from '../../bundle/plan';
import { TurboliftError } from '../../errors';
import { DEFAULT_SERVICE_MAIN } from '../../service/marker';
import { servicePaths, toPosix } from '../../service/paths';
import type { ServiceProject } from '../../service/project';
import type { BundleExecutorOptions } from './schema';

export function normalizeBundleOptions(options: BundleExecutorOptions, project: Omit<ServiceProject, 'paths'>): BundleInput {
  const external = options.external ?? [];
  for (const name of external) {
    if (typeof name !== 'string' || name.length === 0 || name.startsWith('.')) {
      throw new TurboliftError('TL_BAD_OPTIONS', `bundle options of ${project.name}: "external" must list package names, got ${JSON.stringify(name)}`);
    }
  }
  return {
    workspaceRoot: project.workspaceRoot,
    main: toPosix(options.main ?? join(project.root, project.marker?.main ?? DEFAULT_SERVICE_MAIN)),
    outputPath: toPosix(options.outputPath ?? servicePaths(project.root).bundleDir),
    external,
    sourcemap: options.sourcemap ?? true,
    minify: options.minify ?? false,
  };
}

/** npm package names are lowercase and have at most one scope; project names may be anything Nx allows. */
export function bundlePackageName(projectName: string): string {
  const cleaned = projectName.toLowerCase().replace(/[^a-z0-9@/._-]+/g, '-');
  const [first, ...rest] = cleaned.split('/');
  return first.startsWith('@') && rest.length > 0 ? `${first}/${rest.join('-')}` : cleaned.replace(/[@/]/g, '-').replace(/^[-._]+/, '');
}
