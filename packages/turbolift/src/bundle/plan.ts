/**
 * The bundle of a lifted service as data: what esbuild is asked to do, and the pruned package.json that
 * goes beside the bundle. Pure functions; `run-bundle.ts` hands the plan to esbuild.
 */
import { join, relative } from 'node:path';
import type { WorkspaceResolution } from './resolution';

export interface BundleInput {
  workspaceRoot: string;
  /** The service entry, relative to the workspace root. */
  main: string;
  /** Output folder, relative to the workspace root. */
  outputPath: string;
  /** Packages to keep external besides the detected native ones. */
  external: string[];
  sourcemap: boolean;
  minify: boolean;
}

/** What the workspace's @turbolift/runtime says a service bundle needs besides the service's own entry. */
export interface RuntimeBundleNeeds {
  /** Files bundled beside main.js (output name without `.js` -> source): the worker pool's thread entries. */
  companions: Record<string, string>;
  /** Native packages always left out, and fine to be missing (optional accelerators). */
  optional: readonly string[];
}

export interface BundlePlan {
  entry: string;
  /** Output name (without `.js`) -> source, for esbuild: `main` is the entry, the rest its companions. */
  entryPoints: Record<string, string>;
  outfile: string;
  outDir: string;
  absWorkingDir: string;
  tsconfig?: string;
  conditions: string[];
  /** The tsconfig that named the conditions, for messages. */
  conditionsFrom?: string;
  /** Packages always external (configured plus optional native ones); native packages found while resolving are added. */
  external: string[];
  optional: string[];
  sourcemap: boolean;
  minify: boolean;
  platform: 'node';
  format: 'cjs';
  target: 'node20';
}

export function planBundle(input: BundleInput, resolution: WorkspaceResolution, runtime: RuntimeBundleNeeds): BundlePlan {
  const outDir = join(input.workspaceRoot, input.outputPath);
  const entry = join(input.workspaceRoot, input.main);
  return {
    entry,
    entryPoints: { ...runtime.companions, main: entry },
    outfile: join(outDir, 'main.js'),
    outDir,
    absWorkingDir: input.workspaceRoot,
    tsconfig: resolution.tsconfig,
    conditions: resolution.conditions,
    conditionsFrom: resolution.conditionsFrom,
    external: [...new Set([...input.external, ...runtime.optional])].sort(),
    optional: [...runtime.optional].sort(),
    sourcemap: input.sourcemap,
    minify: input.minify,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  };
}

/**
 * What a user needs beside esbuild's "Could not resolve": which export conditions the bundle looked up packages
 * with, and where they came from. A workspace library resolves either through one of them (its sources) or
 * through its built output, which the build target's `^build` dependency makes first.
 */
export function resolutionNote(plan: Pick<BundlePlan, 'conditions' | 'conditionsFrom' | 'absWorkingDir'>): string {
  if (plan.conditions.length === 0) return 'no tsconfig of the workspace sets customConditions, so workspace packages resolve to their built output';
  const from = plan.conditionsFrom ? ` (customConditions of ${relative(plan.absWorkingDir, plan.conditionsFrom)})` : '';
  return `export conditions ${plan.conditions.join(', ')}${from}, then the built output`;
}

export interface ExternalPackage {
  name: string;
  /** The installed version; undefined when an optional package is not installed. */
  version?: string;
  optional: boolean;
}

export interface PrunedManifest {
  name: string;
  private: true;
  description: string;
  main: 'main.js';
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The package.json beside the bundle: only what esbuild left external, pinned to the installed versions,
 * so `npm install --omit=dev` in the bundle folder (what the image does) gets exactly those. Optional
 * packages go to optionalDependencies and are left out when not installed here.
 */
export function prunedManifest(serviceName: string, externals: readonly ExternalPackage[]): PrunedManifest {
  const sorted = [...externals].sort((a, b) => a.name.localeCompare(b.name));
  const dependencies: Record<string, string> = {};
  const optionalDependencies: Record<string, string> = {};
  for (const pkg of sorted) {
    if (pkg.optional) {
      if (pkg.version) optionalDependencies[pkg.name] = pkg.version;
    } else {
      if (!pkg.version) throw new Error(`${pkg.name} is left out of the bundle of ${serviceName} but is not installed in this workspace`);
      dependencies[pkg.name] = pkg.version;
    }
  }
  return {
    name: serviceName,
    private: true,
    description: `Bundle of ${serviceName}; lists only the packages kept out of main.js.`,
    main: 'main.js',
    dependencies,
    ...(Object.keys(optionalDependencies).length > 0 ? { optionalDependencies } : {}),
  };
}
