import { generateFiles, joinPathFragments, offsetFromRoot, readJson, updateJson, writeJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { DEFAULT_SERVICE_MAIN, MARKER_FILE, renderServiceMarker, SERVICE_TAG } from '../../service/marker';
import type { ParameterSchema } from '@turbolift/runtime/contract';
import type { ParameterArity } from './analyze';
import { LiftError } from './lift-error';
import { workspaceCustomConditions } from './workspace-program';
import {
  addMissingDependencies,
  addReference,
  addRootReference,
  addToWorkspaces,
  isTsSolutionLayout,
  RUNTIME_PACKAGE,
  workspaceDependencyRange,
} from './workspace-layout';

export interface CreatedLibrary {
  root: string;
  importPath: string;
  /** How the library's modules import each other: '.js' in ESM/nodenext libraries, '' otherwise. */
  importExtension: '' | '.js';
}

type LibraryGenerator = (tree: Tree, options: Record<string, unknown>) => Promise<GeneratorCallback>;

function loadLibraryGenerator(): LibraryGenerator {
  try {
    return (require('@nx/js') as { libraryGenerator: LibraryGenerator }).libraryGenerator;
  } catch {
    throw new LiftError('turbolift:lift creates the library with @nx/js; install it first (npm install -D @nx/js)');
  }
}

export interface LibrarySpec {
  root: string;
  /** The project name in a workspace of project.json files. */
  projectName: string;
  /** The package name, which is also the import path the stub and the service use. */
  packageName: string;
}

/** Creates the lifted library through @nx/js (it adapts to the workspace layout) and empties its sample sources. */
export async function createLibrary(tree: Tree, spec: LibrarySpec): Promise<CreatedLibrary> {
  const { root, packageName } = spec;
  const tsSolution = isTsSolutionLayout(tree);
  // its callback only installs packages; the lift generator runs one install for everything it changed
  await loadLibraryGenerator()(tree, {
    directory: root,
    // in the TS-solution layout projects are packages named like `@acme/x` (as `nx g @nx/js:lib` makes them)
    name: tsSolution ? packageName : spec.projectName,
    importPath: packageName,
    useProjectJson: !tsSolution,
    bundler: 'tsc',
    unitTestRunner: 'none',
    linter: 'none',
    tags: 'turbolift:lifted',
    skipFormat: true,
    // the root package.json is handled below; this also keeps @nx/js from fetching a formatter at generation time
    skipPackageJson: true,
  });
  if (tsSolution) {
    exportSourceUnderConditions(tree, root, workspaceCustomConditions(tree));
    // @nx/js registers the folder with the package manager only when it detects one on disk
    addToWorkspaces(tree, root);
  }
  const index = tree.read(joinPathFragments(root, 'src/index.ts'), 'utf-8') ?? '';
  const importExtension = /\.js['"]/.test(index) ? '.js' : '';
  for (const child of tree.children(joinPathFragments(root, 'src/lib'))) tree.delete(joinPathFragments(root, 'src/lib', child));
  return { root, importPath: packageName, importExtension };
}

/**
 * The library's main export answers the workspace's own conditions with its source, first, as the workspace's
 * other packages do. @nx/js writes a condition only when it recognises the workspace's naming (the root package's
 * name, `@nx-source/…`, `development`), so in other workspaces the library resolved to a build that a clean checkout lacks.
 */
function exportSourceUnderConditions(tree: Tree, root: string, conditions: string[]): void {
  const path = joinPathFragments(root, 'package.json');
  if (conditions.length === 0 || !tree.exists(path)) return;
  updateJson(tree, path, (pkg) => {
    const main = pkg.exports?.['.'];
    if (!main || typeof main !== 'object') return pkg;
    const missing = conditions.filter((condition) => !(condition in main));
    if (missing.length === 0) return pkg;
    const source = './src/index.ts';
    pkg.exports['.'] = { ...Object.fromEntries(missing.map((condition) => [condition, source])), ...main };
    return pkg;
  });
}

export interface ServiceSpec {
  root: string;
  name: string;
  /** Its package name in the TS-solution layout, in the library's scope. */
  packageName: string;
  fn: string;
  library: CreatedLibrary;
  port: number;
  runtimeRange: string;
  arity: ParameterArity;
  parameters: ParameterSchema[];
}

/**
 * A JSON value as TypeScript source: keys bare where they can be, strings in single quotes, a short array
 * or object on one line and a longer one over several, each level indented two more spaces than `indent`.
 */
export function tsLiteral(value: unknown, indent = ''): string {
  if (typeof value === 'string') return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  const inner = indent + '  ';
  const entries = Array.isArray(value)
    ? value.map((item) => tsLiteral(item, inner))
    : Object.entries(value).map(([key, item]) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : tsLiteral(key)}: ${tsLiteral(item, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{ ', ' }'];
  if (!entries.length) return Array.isArray(value) ? '[]' : '{}';
  const oneLine = `${open}${entries.join(', ')}${close}`;
  if (oneLine.length <= 72 && !oneLine.includes('\n')) return oneLine;
  return `${open.trim()}\n${entries.map((entry) => `${inner}${entry},`).join('\n')}\n${indent}${close.trim()}`;
}

/** The service project: its entry serving the function, the service marker, and the project's config. */
export function createService(tree: Tree, spec: ServiceSpec): void {
  const { root, fn, library, port } = spec;
  const arity = spec.arity.max === undefined ? `{ min: ${spec.arity.min} }` : `{ min: ${spec.arity.min}, max: ${spec.arity.max} }`;
  const parameters = tsLiteral(spec.parameters, '  ');
  generateFiles(tree, join(__dirname, 'files/service'), root, { fn, library: library.importPath, arity, parameters, tmpl: '' });
  writeJson(tree, joinPathFragments(root, MARKER_FILE), renderServiceMarker({ function: fn, library: library.importPath, main: DEFAULT_SERVICE_MAIN, port }));
  const toRoot = offsetFromRoot(root);
  const tags = [SERVICE_TAG];
  writeJson(tree, joinPathFragments(root, 'tsconfig.json'), {
    extends: `${toRoot}tsconfig.base.json`,
    files: [],
    include: [],
    references: [{ path: './tsconfig.app.json' }],
  });
  if (isTsSolutionLayout(tree)) {
    const libPackage = readJson(tree, joinPathFragments(library.root, 'package.json'));
    writeJson(tree, joinPathFragments(root, 'package.json'), {
      name: spec.packageName,
      version: '0.0.1',
      private: true,
      ...(libPackage.type ? { type: libPackage.type } : {}),
      dependencies: { [RUNTIME_PACKAGE]: spec.runtimeRange, [library.importPath]: workspaceDependencyRange(tree) },
      nx: { tags },
    });
    writeJson(tree, joinPathFragments(root, 'tsconfig.app.json'), {
      extends: `${toRoot}tsconfig.base.json`,
      compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.app.tsbuildinfo', types: ['node'] },
      include: ['src/**/*.ts'],
      references: [],
    });
    addReference(tree, joinPathFragments(root, 'tsconfig.app.json'), library.root);
    addToWorkspaces(tree, root);
    addRootReference(tree, root);
  } else {
    writeJson(tree, joinPathFragments(root, 'project.json'), {
      name: spec.name,
      $schema: `${toRoot}node_modules/nx/schemas/project-schema.json`,
      sourceRoot: joinPathFragments(root, 'src'),
      projectType: 'application',
      tags,
      targets: {},
    });
    writeJson(tree, joinPathFragments(root, 'tsconfig.app.json'), {
      extends: './tsconfig.json',
      compilerOptions: { outDir: `${toRoot}dist/out-tsc`, types: ['node'] },
      include: ['src/**/*.ts'],
    });
  }
}

/** `@scope/pkg/sub` -> `@scope/pkg`, `pkg/sub` -> `pkg`; undefined for Node built-ins. */
export function packageOfSpecifier(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier) || builtinModules.includes(specifier.split('/')[0])) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * In the TS-solution layout each package lists what it imports: the library gets the packages the lifted code
 * imports (workspace packages as `*`, npm packages at the range the workspace already uses), the original
 * project gets the library and the runtime.
 */
export function wireDependencies(
  tree: Tree,
  opts: { library: CreatedLibrary; projectRoot: string; importedPackages: string[]; workspacePackages: Map<string, string>; runtimeRange: string },
): void {
  const rootPkg = readJson(tree, 'package.json');
  const projectPkgPath = joinPathFragments(opts.projectRoot, 'package.json');
  const projectPkg = tree.exists(projectPkgPath) ? readJson(tree, projectPkgPath) : {};
  const rangeOf = (name: string): string | undefined =>
    opts.workspacePackages.has(name)
      ? workspaceDependencyRange(tree)
      : [projectPkg.dependencies, projectPkg.peerDependencies, rootPkg.dependencies, rootPkg.devDependencies]
          .map((s) => s?.[name])
          .find((v) => typeof v === 'string');
  const libDeps: Record<string, string> = {};
  for (const name of opts.importedPackages) {
    const range = rangeOf(name);
    if (range) libDeps[name] = range;
  }
  addMissingDependencies(tree, joinPathFragments(opts.library.root, 'package.json'), libDeps);
  addMissingDependencies(tree, projectPkgPath, { [opts.library.importPath]: workspaceDependencyRange(tree), [RUNTIME_PACKAGE]: opts.runtimeRange });
  for (const name of opts.importedPackages) {
    const root = opts.workspacePackages.get(name);
    if (root) addReference(tree, joinPathFragments(opts.library.root, 'tsconfig.lib.json'), root);
  }
  const projectTsconfig = ['tsconfig.lib.json', 'tsconfig.app.json'].map((f) => joinPathFragments(opts.projectRoot, f)).find((f) => tree.exists(f));
  if (projectTsconfig) addReference(tree, projectTsconfig, opts.library.root);
}
