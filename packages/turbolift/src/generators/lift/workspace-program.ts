import { getProjects, joinPathFragments, readJson, type ProjectConfiguration, type Tree } from '@nx/devkit';
import { existsSync, readFileSync, realpathSync, statSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative } from 'node:path';
import * as ts from 'typescript';

const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', '.nx', 'tmp', 'coverage', 'out-tsc', '.turbolift']);
const SOURCE_FILE = /\.(ts|tsx|mts|cts)$/;

export interface WorkspaceProject {
  name: string;
  root: string;
  sourceRoot: string;
  config: ProjectConfiguration;
}

/** Every TypeScript source of the workspace (not declaration files, not build output or node_modules). */
export function listSourceFiles(tree: Tree, dir = ''): string[] {
  const out: string[] = [];
  for (const child of tree.children(dir)) {
    if (SKIPPED_DIRS.has(child)) continue;
    const path = dir ? `${dir}/${child}` : child;
    if (tree.isFile(path)) {
      if (SOURCE_FILE.test(path) && !path.endsWith('.d.ts')) out.push(path);
    } else {
      out.push(...listSourceFiles(tree, path));
    }
  }
  return out;
}

export function workspaceProjects(tree: Tree): WorkspaceProject[] {
  return [...getProjects(tree).entries()].map(([name, config]) => ({
    name,
    root: config.root,
    sourceRoot: config.sourceRoot ?? (tree.exists(joinPathFragments(config.root, 'src')) ? joinPathFragments(config.root, 'src') : config.root),
    config,
  }));
}

/** The project a workspace-relative file belongs to: the one with the longest root that contains it. */
export function projectOfFile(projects: WorkspaceProject[], file: string): WorkspaceProject | undefined {
  let best: WorkspaceProject | undefined;
  for (const project of projects) {
    const root = project.root === '.' ? '' : project.root;
    if ((root === '' || file === root || file.startsWith(root + '/')) && (!best || root.length > best.root.length)) best = project;
  }
  return best;
}

/**
 * Workspace import path -> its source file (what a workspace import resolves to when compiled from source): the
 * package itself and each of its `exports` subpaths that names a source file. Without this a package whose exports
 * lack the workspace's source condition resolves to its built `.d.ts`, and uses of its functions there go unseen.
 */
function workspacePackageEntries(tree: Tree, projects: WorkspaceProject[]): Map<string, string> {
  const entries = new Map<string, string>();
  for (const project of projects) {
    const pkgPath = joinPathFragments(project.root, 'package.json');
    if (!tree.exists(pkgPath)) continue;
    const pkg = readJson(tree, pkgPath);
    if (typeof pkg.name !== 'string') continue;
    for (const [subpath, source] of sourceEntriesFromExports(pkg.exports)) {
      const path = joinPathFragments(project.root, source);
      if (subpath !== '.' && tree.exists(path)) entries.set(`${pkg.name}${subpath.slice(1)}`, path);
    }
    const fromExports = sourceEntriesFromExports(pkg.exports).get('.');
    const candidates = [fromExports && joinPathFragments(project.root, fromExports), joinPathFragments(project.root, 'src/index.ts')];
    const entry = candidates.find((c): c is string => !!c && tree.exists(c));
    if (entry) entries.set(pkg.name, entry);
  }
  return entries;
}

/** A TypeScript source, not a declaration file: `types: ./dist/index.d.ts` is built output, which a clean checkout lacks. */
const isSourcePath = (path: string) => SOURCE_FILE.test(path) && !/\.d\.[cm]?ts$/.test(path);

/** Each exact `exports` subpath (`.`, `./utils`) whose conditions name a TypeScript source, with that source. */
function sourceEntriesFromExports(exportsField: unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (!exportsField || typeof exportsField !== 'object') return found;
  for (const [subpath, target] of Object.entries(exportsField as Record<string, unknown>)) {
    if (!subpath.startsWith('.') || subpath.includes('*') || !target || typeof target !== 'object') continue;
    const source = Object.values(target as Record<string, unknown>).find((v): v is string => typeof v === 'string' && isSourcePath(v));
    if (source) found.set(subpath, source);
  }
  return found;
}

function rootCompilerOptions(tree: Tree): { paths?: Record<string, string[]>; customConditions?: string[] } {
  for (const file of ['tsconfig.base.json', 'tsconfig.json']) {
    if (!tree.exists(file)) continue;
    try {
      const parsed = ts.parseConfigFileTextToJson(file, tree.read(file, 'utf-8') ?? '{}').config ?? {};
      const options = parsed.compilerOptions ?? {};
      if (options.paths || options.customConditions) return { paths: options.paths, customConditions: options.customConditions };
    } catch {
      // an unreadable tsconfig only costs us path mapping; the checker then sees `any` for those imports
    }
  }
  return {};
}

/** The workspace's custom export conditions (`@acme/source`), which point its packages at their sources. */
export function workspaceCustomConditions(tree: Tree): string[] {
  const conditions = rootCompilerOptions(tree).customConditions;
  return Array.isArray(conditions) ? conditions.filter((c): c is string => typeof c === 'string') : [];
}

/**
 * A ts.Program over the workspace's sources as they are in the Tree (including changes not yet written),
 * with the TypeScript standard library and node_modules read from disk.
 */
export function createWorkspaceProgram(tree: Tree, rootFiles: string[], projects: WorkspaceProject[], overrides: ts.CompilerOptions = {}): ts.Program {
  const root = tree.root;
  const abs = (rel: string) => join(root, rel).split('\\').join('/');
  const inTree = (path: string): string | undefined => {
    const rel = relative(root, path).split('\\').join('/');
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel;
  };
  const rootOptions = rootCompilerOptions(tree);
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowJs: false,
    resolveJsonModule: true,
    baseUrl: rootOptions.paths ? root : undefined,
    paths: rootOptions.paths,
    customConditions: rootOptions.customConditions,
    // Without a list TypeScript loads every @types package in node_modules (jest, react, babel…: about 4 MB in a
    // fresh Nx workspace), which the lift's analysis never needs and which tripled its time. Node's are kept for
    // Buffer and the like in signatures; a project that imports a package gets that package's types anyway.
    types: existsSync(join(root, 'node_modules/@types/node/package.json')) ? ['node'] : [],
    ...overrides,
  };
  const packages = workspacePackageEntries(tree, projects);
  const readFile = (path: string): string | undefined => {
    const rel = inTree(path);
    if (rel !== undefined && tree.exists(rel) && tree.isFile(rel)) return tree.read(rel, 'utf-8') ?? undefined;
    if (rel === undefined && existsSync(path)) return readFileSync(path, 'utf-8');
    return undefined;
  };
  // Module resolution asks for many paths that do not exist: answered without reading any file.
  const fileExists = (path: string): boolean => {
    const rel = inTree(path);
    if (rel !== undefined) return tree.exists(rel) && tree.isFile(rel);
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
  };
  const host: ts.CompilerHost = {
    getSourceFile: (fileName, languageVersion) => {
      const text = readFile(fileName);
      return text === undefined ? undefined : ts.createSourceFile(fileName, text, languageVersion, true);
    },
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o).split('\\').join('/'),
    getDefaultLibLocation: () => dirname(ts.getDefaultLibFilePath(options)).split('\\').join('/'),
    writeFile: () => undefined,
    getCurrentDirectory: () => root,
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists,
    readFile,
    directoryExists: (path) => {
      const rel = inTree(path);
      if (rel !== undefined) return rel === '' || (tree.exists(rel) && !tree.isFile(rel));
      return existsSync(path) && statSync(path).isDirectory();
    },
    getDirectories: (path) => {
      const rel = inTree(path);
      if (rel !== undefined) return tree.children(rel).filter((c) => !tree.isFile(rel ? `${rel}/${c}` : c));
      try {
        return readdirSync(path, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        return [];
      }
    },
    realpath: (path) => {
      try {
        return realpathSync(path).split('\\').join('/');
      } catch {
        return path;
      }
    },
  };
  const moduleHost: ts.ModuleResolutionHost = host;
  host.resolveModuleNameLiterals = (literals, containingFile, _ref, compilerOptions) =>
    literals.map((literal) => {
      const entry = packages.get(literal.text);
      if (entry) return { resolvedModule: { resolvedFileName: abs(entry), extension: ts.Extension.Ts, isExternalLibraryImport: false } };
      return ts.resolveModuleName(literal.text, containingFile, compilerOptions, moduleHost);
    });
  return ts.createProgram({ rootNames: rootFiles.map(abs), options, host });
}

/** Workspace-relative path of a program source file (posix). */
export function workspacePath(tree: Tree, sf: ts.SourceFile): string {
  return posix.normalize(relative(tree.root, sf.fileName).split('\\').join('/'));
}
