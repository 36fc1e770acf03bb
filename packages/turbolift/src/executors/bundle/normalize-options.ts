// Pure: the executor's options, checked and defaulted once.
import { join } from 'node:path';
import type { BundleInput } from '../../bundle/plan';
import { DEFAULT_SERVICE_MAIN, type ServiceMarker } from '../../plugins/service-marker';
import type { BundleExecutorOptions } from './schema';

export interface BundleProject {
  projectName: string;
  projectRoot: string;
  workspaceRoot: string;
  /** The project's turbolift.json, when it has one. */
  marker?: ServiceMarker;
}

const toPosix = (path: string) => path.split('\\').join('/');

export function normalizeBundleOptions(options: BundleExecutorOptions, project: BundleProject): BundleInput {
  const external = options.external ?? [];
  for (const name of external) {
    if (typeof name !== 'string' || name.length === 0 || name.startsWith('.')) {
      throw new Error(`bundle options of ${project.projectName}: "external" must list package names, got ${JSON.stringify(name)}`);
    }
  }
  return {
    workspaceRoot: project.workspaceRoot,
    main: toPosix(options.main ?? join(project.projectRoot, project.marker?.main ?? DEFAULT_SERVICE_MAIN)),
    outputPath: toPosix(options.outputPath ?? join('dist', project.projectRoot, 'bundle')),
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
