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

const PNPM_WORKSPACE = 'pnpm-workspace.yaml';

/**
 * The range a package.json gives another package of the same workspace. pnpm links a workspace package only
 * for the `workspace:` protocol (a bare `*` is looked up in the registry and fails with a 404), as Nx writes it
 * for pnpm; npm and yarn link `*` to the workspace's package.
 */
export function workspaceDependencyRange(tree: Tree): string {
  return tree.exists(PNPM_WORKSPACE) || tree.exists('pnpm-lock.yaml') ? 'workspace:*' : '*';
}

function coveredBy(patterns: string[], projectRoot: string, parentPattern: string): boolean {
  return patterns.some((p) => p === projectRoot || p === parentPattern || (p.endsWith('/**') && projectRoot.startsWith(p.slice(0, -2))));
}

/**
 * pnpm-workspace.yaml's `packages` as written, one `- pattern` a line (the form pnpm and Nx write). A file in
 * another form (a flow list, anchors) is left alone: `pnpm install` then says which package it cannot find.
 */
function addToPnpmWorkspace(tree: Tree, parentPattern: string, projectRoot: string): void {
  const text = tree.read(PNPM_WORKSPACE, 'utf-8') ?? '';
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /^packages:\s*$/.test(line));
  if (start < 0) {
    if (/^packages:/m.test(text)) return;
    tree.write(PNPM_WORKSPACE, `${text}${text && !text.endsWith('\n') ? '\n' : ''}packages:\n  - '${parentPattern}'\n`);
    return;
  }
  let end = start + 1;
  while (end < lines.length && /^\s+-\s/.test(lines[end])) end += 1;
  const items = lines.slice(start + 1, end);
  const patterns = items.map((line) =>
    line
      .replace(/^\s+-\s*/, '')
      .replace(/^(['"])(.*)\1\s*$/, '$2')
      .trim(),
  );
  if (coveredBy(patterns, projectRoot, parentPattern)) return;
  const indent = /^(\s+)-/.exec(items[0] ?? '')?.[1] ?? '  ';
  const quote = /^\s+-\s*"/.test(items[0] ?? '') ? '"' : "'";
  lines.splice(end, 0, `${indent}- ${quote}${parentPattern}${quote}`);
  tree.write(PNPM_WORKSPACE, lines.join('\n'));
}

/** Registers a project folder with the package manager's workspaces (TS-solution layout), like Nx's own generators. */
export function addToWorkspaces(tree: Tree, projectRoot: string): void {
  const pkg = readJson(tree, 'package.json');
  const patterns: string[] = Array.isArray(pkg.workspaces) ? pkg.workspaces : (pkg.workspaces?.packages ?? []);
  const parentPattern = `${posix.dirname(projectRoot)}/*`;
  if (tree.exists(PNPM_WORKSPACE)) return addToPnpmWorkspace(tree, parentPattern, projectRoot);
  if (coveredBy(patterns, projectRoot, parentPattern)) return;
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
