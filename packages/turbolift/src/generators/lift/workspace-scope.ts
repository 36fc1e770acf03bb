import { joinPathFragments, readJson, type Tree } from '@nx/devkit';
import type { WorkspaceProject } from './workspace-program';

const scopeOf = (name: string): string | undefined => (name.startsWith('@') ? name.split('/')[0] : undefined);

function readName(tree: Tree, packageJsonPath: string): string | undefined {
  const name = tree.exists(packageJsonPath) ? readJson(tree, packageJsonPath).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * The scope the workspace names its packages with (`@acme`), or undefined when it has none. The root package's
 * scope decides when it has one (`@acme/source`); otherwise the workspace is scoped when every project package
 * and every path alias of tsconfig.base.json shares one scope, since many workspaces keep an unscoped root name.
 */
export function workspaceScope(tree: Tree, projects: WorkspaceProject[]): string | undefined {
  const rootName = readName(tree, 'package.json');
  if (rootName && scopeOf(rootName)) return scopeOf(rootName);
  const names = projects.filter((p) => p.root !== '.' && p.root !== '').flatMap((p) => readName(tree, joinPathFragments(p.root, 'package.json')) ?? []);
  const paths = tree.exists('tsconfig.base.json') ? readJson(tree, 'tsconfig.base.json').compilerOptions?.paths : undefined;
  if (paths && typeof paths === 'object') names.push(...Object.keys(paths));
  const scopes = new Set(names.map(scopeOf));
  return scopes.size === 1 ? [...scopes][0] : undefined;
}

/** A package name in the workspace's scope: `@acme/lifted-sum-squares`, or `lifted-sum-squares` without one. */
export function scopedName(scope: string | undefined, name: string): string {
  return scope ? `${scope}/${name}` : name;
}
