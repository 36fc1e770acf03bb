import { glob, joinPathFragments, readJson, readNxJson, updateJson, updateNxJson, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { DEFAULT_SERVICE_PORT, MARKER_GLOB, type ServiceMarker } from '../../service/marker';

export const PLUGIN_NAME = 'turbolift';
export const RUNTIME_PACKAGE = '@turbolift/runtime';

/** Nx's TypeScript-solution layout: package-manager workspaces + a root tsconfig.json that only references projects. */
export function isTsSolutionLayout(tree: Tree): boolean {
  if (!tree.exists('package.json') || !tree.exists('tsconfig.json') || !tree.exists('tsconfig.base.json')) return false;
  const pkg = readJson(tree, 'package.json');
  if (!pkg.workspaces && !tree.exists('pnpm-workspace.yaml')) return false;
  const tsconfig = readJson(tree, 'tsconfig.json');
  const onlyReferences = (tsconfig.files && tsconfig.files.length === 0) || (tsconfig.include && tsconfig.include.length === 0);
  return tsconfig.extends === './tsconfig.base.json' && !!onlyReferences && !!readJson(tree, 'tsconfig.base.json').compilerOptions?.composite;
}

export interface FoundMarker extends ServiceMarker {
  /** Workspace-relative path of the marker file. */
  path: string;
}

/** Every service marker in the tree (the lifted services). */
export function readMarkers(tree: Tree): FoundMarker[] {
  return glob(tree, [MARKER_GLOB])
    .filter((path) => !path.split('/').includes('node_modules'))
    .map((path) => ({ ...readJson(tree, path), path }));
}

/** First port from the default service port that no other lifted service uses. */
export function allocatePort(markers: FoundMarker[]): number {
  const used = new Set(markers.map((m) => m.port));
  let port = DEFAULT_SERVICE_PORT;
  while (used.has(port)) port++;
  return port;
}

/** Adds the plugin to nx.json `plugins` (as `nx add` does) so its inferred targets show without a manual step. */
export function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const listed = plugins.some(
    (p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME || (typeof p === 'string' ? p : p.plugin) === `${PLUGIN_NAME}/plugin`,
  );
  if (listed) return;
  updateNxJson(tree, { ...nxJson, plugins: [...plugins, PLUGIN_NAME] });
}

/** The version range of the runtime the plugin was built against (its own dependency on it). */
export function runtimeVersionRange(): string {
  const own = require('../../../package.json') as { dependencies?: Record<string, string>; version: string };
  return own.dependencies?.[RUNTIME_PACKAGE] ?? `^${own.version}`;
}

/** Adds dependencies to a package.json unless it already lists them (in any dependency section). */
export function addMissingDependencies(tree: Tree, packageJsonPath: string, deps: Record<string, string>): void {
  if (!tree.exists(packageJsonPath)) return;
  updateJson(tree, packageJsonPath, (json) => {
    const listed = (name: string) => [json.dependencies, json.devDependencies, json.peerDependencies].some((s) => s && name in s);
    for (const [name, range] of Object.entries(deps)) {
      if (listed(name) || json.name === name) continue;
      json.dependencies = { ...(json.dependencies ?? {}), [name]: range };
    }
    return json;
  });
}

/** Registers a project folder with the package manager's workspaces (TS-solution layout), like Nx's own generators. */
export function addToWorkspaces(tree: Tree, projectRoot: string): void {
  const pkg = readJson(tree, 'package.json');
  const patterns: string[] = Array.isArray(pkg.workspaces) ? pkg.workspaces : (pkg.workspaces?.packages ?? []);
  const parentPattern = `${posix.dirname(projectRoot)}/*`;
  const covered = patterns.some((p) => p === projectRoot || p === parentPattern || (p.endsWith('/**') && projectRoot.startsWith(p.slice(0, -2))));
  if (covered || tree.exists('pnpm-workspace.yaml')) return;
  updateJson(tree, 'package.json', (json) => {
    if (Array.isArray(json.workspaces)) json.workspaces.push(parentPattern);
    else json.workspaces = { ...json.workspaces, packages: [...patterns, parentPattern] };
    return json;
  });
}

export function addRootReference(tree: Tree, projectRoot: string): void {
  updateJson(tree, 'tsconfig.json', (json) => {
    const path = `./${projectRoot}`;
    json.references ??= [];
    if (!json.references.some((r: { path: string }) => r.path === path)) json.references.push({ path });
    return json;
  });
}

/** Adds a TS project reference from one tsconfig to another project's runtime tsconfig. */
export function addReference(tree: Tree, fromTsconfig: string, toProjectRoot: string): void {
  if (!tree.exists(fromTsconfig)) return;
  const target = ['tsconfig.lib.json', 'tsconfig.app.json', 'tsconfig.json'].map((f) => joinPathFragments(toProjectRoot, f)).find((f) => tree.exists(f));
  if (!target) return;
  const path = posix.relative(posix.dirname(fromTsconfig), target);
  updateJson(tree, fromTsconfig, (json) => {
    json.references ??= [];
    if (!json.references.some((r: { path: string }) => r.path === path)) json.references.push({ path });
    return json;
  });
}
