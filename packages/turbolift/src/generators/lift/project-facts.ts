/** What the Tree and the workspace program say about projects: their builds and who uses whom. */
import { joinPathFragments, normalizePath, readJson, readNxJson, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import * as ts from 'typescript';
import type { ProjectBuildFacts } from './browser-consumers';
import { projectOfFile, type WorkspaceProject } from './workspace-program';

function readTsconfig(tree: Tree, path: string): { compilerOptions?: { lib?: unknown }; references?: Array<{ path?: unknown }> } {
  try {
    return ts.parseConfigFileTextToJson(path, tree.read(path, 'utf-8') ?? '{}').config ?? {};
  } catch {
    return {};
  }
}

const tsconfigsOf = (tree: Tree, project: WorkspaceProject) =>
  tree
    .children(project.root)
    .filter((f) => /^tsconfig(\..+)?\.json$/.test(f))
    .map((f) => joinPathFragments(project.root, f));

/** The plugins nx.json registers, by name. */
export function registeredPlugins(tree: Tree): string[] {
  return (readNxJson(tree)?.plugins ?? []).map((p) => (typeof p === 'string' ? p : p.plugin));
}

export function projectBuildFacts(tree: Tree, projects: WorkspaceProject[]): ProjectBuildFacts[] {
  return projects.map((project) => ({
    name: project.name,
    executors: Object.fromEntries(Object.entries(project.config.targets ?? {}).map(([name, target]) => [name, target.executor])),
    rootFiles: tree.children(project.root).filter((f) => tree.isFile(joinPathFragments(project.root, f))),
    tsconfigLibs: tsconfigsOf(tree, project).flatMap((path) => {
      const lib = readTsconfig(tree, path).compilerOptions?.lib;
      return Array.isArray(lib) ? [lib.filter((l): l is string => typeof l === 'string')] : [];
    }),
  }));
}

/**
 * Project -> the projects it uses: by the imports of its sources as the program resolves them, by the workspace
 * packages its package.json depends on, and by its tsconfig references.
 */
export function projectDependencies(
  tree: Tree,
  program: ts.Program,
  files: Map<ts.SourceFile, string>,
  projects: WorkspaceProject[],
): Map<string, Set<string>> {
  const dependencies = new Map(projects.map((p) => [p.name, new Set<string>()]));
  const add = (from: WorkspaceProject | undefined, to: WorkspaceProject | undefined) => {
    if (from && to && from !== to) dependencies.get(from.name)?.add(to.name);
  };
  const checker = program.getTypeChecker();
  for (const [sf, path] of files) {
    const from = projectOfFile(projects, path);
    for (const statement of sf.statements) {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || !statement.moduleSpecifier) continue;
      const target = checker.getSymbolAtLocation(statement.moduleSpecifier)?.valueDeclaration;
      const targetPath = target && ts.isSourceFile(target) ? files.get(target) : undefined;
      if (targetPath) add(from, projectOfFile(projects, targetPath));
    }
  }
  const byPackage = new Map<string, WorkspaceProject>();
  for (const project of projects) {
    const path = joinPathFragments(project.root, 'package.json');
    const name = tree.exists(path) ? readJson(tree, path).name : undefined;
    if (typeof name === 'string') byPackage.set(name, project);
  }
  for (const project of projects) {
    const path = joinPathFragments(project.root, 'package.json');
    if (tree.exists(path)) {
      const pkg = readJson(tree, path);
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
        for (const name of Object.keys(pkg[field] ?? {})) add(project, byPackage.get(name));
      }
    }
    for (const tsconfig of tsconfigsOf(tree, project)) {
      for (const reference of readTsconfig(tree, tsconfig).references ?? []) {
        if (typeof reference.path !== 'string') continue;
        const target = normalizePath(posix.join(project.root, reference.path)).replace(/\/tsconfig[^/]*\.json$/, '');
        add(
          project,
          projects.find((p) => p.root === target),
        );
      }
    }
  }
  return dependencies;
}
