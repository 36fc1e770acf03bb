/**
 * Thin runner: reads what the workspace says about resolution, hands the plan to esbuild, and writes
 * the pruned package.json. Everything decided here is decided in plan.ts and packages.ts.
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { TurboliftError } from '../errors';
import { readJsonFile } from '@nx/devkit';
import { needsInstalledCopy, packageNameOf, type InstalledManifest } from './packages';
import { planBundle, prunedManifest, resolutionNote, type BundleInput, type BundlePlan, type ExternalPackage, type RuntimeBundleNeeds } from './plan';
import { readTsconfigFacts } from './read-tsconfig';
import { chooseResolution, tsconfigCandidates, type WorkspaceResolution } from './resolution';

export interface BundleResult {
  outfile: string;
  bytes: number;
  /** Packages left out of main.js, as written to the pruned package.json. */
  externals: ExternalPackage[];
  /** Every file esbuild put into the bundle, relative to the workspace root (for diagnostics). */
  inputs: string[];
  warnings: string[];
}

export class BundleError extends TurboliftError<'TL_BUNDLE_ENTRY_MISSING' | 'TL_BUNDLE_FAILED'> {
  override name = 'BundleError';
}

/** The tsconfig files around the entry decide the source export conditions; the root's decides `paths`. */
export function readWorkspaceResolution(workspaceRoot: string, entry: string): WorkspaceResolution {
  return chooseResolution(workspaceRoot, readTsconfigFacts(tsconfigCandidates(workspaceRoot, entry)));
}

/**
 * Asks the workspace's own @turbolift/runtime (the copy that gets bundled) what else its bundle needs.
 * An entry that does not use the runtime needs nothing more.
 */
export function readRuntimeBundleNeeds(entry: string): RuntimeBundleNeeds {
  let modulePath: string;
  try {
    modulePath = require.resolve('@turbolift/runtime/bundling', { paths: [dirname(entry)] });
  } catch {
    return { companions: {}, optional: [] };
  }
  const bundling = require(modulePath) as { serviceBundleEntries(): Record<string, string>; OPTIONAL_NATIVE_PACKAGES: readonly string[] };
  return { companions: bundling.serviceBundleEntries(), optional: bundling.OPTIONAL_NATIVE_PACKAGES };
}

/** The installed copy of a package as seen from a file: the nearest node_modules/<name> upward. */
function findInstalledPackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Keeps configured packages and every package with a native addon out of the bundle, and records each
 * one with its installed version.
 */
function externalsPlugin(plan: BundlePlan, found: Map<string, ExternalPackage>): Plugin {
  const verdicts = new Map<string, boolean>();
  const record = (name: string, packageDir: string | undefined, optional: boolean) => {
    if (found.has(name)) return;
    const version = packageDir ? (readJsonFile(join(packageDir, 'package.json')) as InstalledManifest).version : undefined;
    found.set(name, { name, version, optional });
  };
  return {
    name: 'turbolift-externals',
    setup(builder) {
      builder.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = packageNameOf(args.path);
        if (!name) return undefined;
        const packageDir = findInstalledPackage(name, args.resolveDir || plan.absWorkingDir);
        if (plan.external.includes(name)) {
          record(name, packageDir, plan.optional.includes(name));
          return { path: args.path, external: true };
        }
        if (!packageDir) return undefined; // a workspace library through tsconfig paths: esbuild resolves it
        let native = verdicts.get(packageDir);
        if (native === undefined) {
          native = needsInstalledCopy(readJsonFile(join(packageDir, 'package.json')), existsSync(join(packageDir, 'binding.gyp')));
          verdicts.set(packageDir, native);
        }
        if (!native) return undefined;
        record(name, packageDir, false);
        return { path: args.path, external: true };
      });
    },
  };
}

export async function bundleService(input: BundleInput, serviceName: string): Promise<BundleResult> {
  const entry = join(input.workspaceRoot, input.main);
  const plan = planBundle(input, readWorkspaceResolution(input.workspaceRoot, entry), readRuntimeBundleNeeds(entry));
  if (!existsSync(plan.entry)) {
    throw new BundleError('TL_BUNDLE_ENTRY_MISSING', `${relative(input.workspaceRoot, plan.entry)}: the service entry of ${serviceName} does not exist`);
  }
  const found = new Map<string, ExternalPackage>();
  // A stale main.js or package.json from an earlier layout must not survive into the image.
  rmSync(plan.outDir, { recursive: true, force: true });
  mkdirSync(plan.outDir, { recursive: true });

  const result = await build({
    entryPoints: plan.entryPoints,
    outdir: plan.outDir,
    absWorkingDir: plan.absWorkingDir,
    bundle: true,
    platform: plan.platform,
    format: plan.format,
    target: plan.target,
    sourcemap: plan.sourcemap,
    minify: plan.minify,
    keepNames: true,
    tsconfig: plan.tsconfig,
    conditions: plan.conditions.length > 0 ? plan.conditions : undefined,
    plugins: [externalsPlugin(plan, found)],
    metafile: true,
    logLevel: 'silent',
  }).catch((error: { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }) => {
    const first = error.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : '';
    const count = error.errors?.length ?? 0;
    const more = count > 1 ? ` (and ${count - 1} more)` : '';
    const unresolved = error.errors?.some((entry) => entry.text.startsWith('Could not resolve')) ? `; looked up with ${resolutionNote(plan)}` : '';
    throw new BundleError('TL_BUNDLE_FAILED', `${where}${first?.text ?? String(error)}${more}${unresolved}`);
  });

  const externals = [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
  writeFileSync(join(plan.outDir, 'package.json'), JSON.stringify(prunedManifest(serviceName, externals), null, 2) + '\n');
  return {
    outfile: plan.outfile,
    bytes: statSync(plan.outfile).size,
    externals,
    inputs: Object.keys(result.metafile?.inputs ?? {}).sort(),
    warnings: result.warnings.map((warning) => (warning.location ? `${warning.location.file}:${warning.location.line}: ${warning.text}` : warning.text)),
  };
}
