import { installPackagesTask, joinPathFragments, logger, readJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { formatCreatedFiles } from './format';
import { keepUserJsonLayout } from './json-edits';
import * as ts from 'typescript';
import { analyzeLift, type FilePart, type LiftPlan } from './analyze';
import { ignoreBuildOutput } from './build-output';
import { findCallSites, type CallSites, type SyncUse } from './call-sites';
import { renderLibraryFiles } from './library-files';
import { browserWarning, findBrowserConsumers } from './browser-consumers';
import { findLiftedLibraries, markLiftedLibraryUses } from './lifted-libraries';
import { projectBuildFacts, projectDependencies, registeredPlugins } from './project-facts';
import { combineErrors, LiftError, listSyncUses, SyncCallersError } from './lift-error';
import { findMarkedFunctions, lineOf, type MarkedFunction } from './marked-functions';
import { kebabCase, normalizeOptions, type LiftGeneratorSchema, type NormalizedLiftOptions } from './options';
import { createLibrary, createService, packageOfSpecifier, wireDependencies } from './projects';
import { pruneUnused } from './prune';
import { planLeftBehind } from './left-behind';
import { stubEdits, stubNames } from './stub';
import { applyEdits } from './text-edits';
import {
  addMissingDependencies,
  allocatePort,
  isTsSolutionLayout,
  readMarkers,
  registerPlugin,
  RUNTIME_PACKAGE,
  runtimeVersionRange,
} from './workspace-layout';
import { scopedName, workspaceScope } from './workspace-scope';
import { createWorkspaceProgram, listSourceFiles, projectOfFile, workspacePath, workspaceProjects, type WorkspaceProject } from './workspace-program';

export type { LiftGeneratorSchema } from './options';
export { LiftError } from './lift-error';

interface WorkspaceView {
  program: ts.Program;
  projects: WorkspaceProject[];
  /** The workspace's own sources in the program, with their workspace-relative paths. */
  files: Map<ts.SourceFile, string>;
}

function viewWorkspace(tree: Tree): WorkspaceView {
  const projects = workspaceProjects(tree);
  const sources = listSourceFiles(tree);
  const program = createWorkspaceProgram(tree, sources, projects);
  const files = new Map<ts.SourceFile, string>();
  for (const sf of program.getSourceFiles()) {
    const path = workspacePath(tree, sf);
    if (!sf.isDeclarationFile && !path.startsWith('..') && !path.split('/').includes('node_modules')) files.set(sf, path);
  }
  return { program, projects, files };
}

function markedFunctions(view: WorkspaceView): MarkedFunction[] {
  const found: MarkedFunction[] = [];
  for (const [sf, path] of view.files) {
    const project = projectOfFile(view.projects, path);
    if (project) found.push(...findMarkedFunctions(sf, path, project.name));
  }
  return found;
}

function describe(candidate: MarkedFunction): string {
  return `${candidate.file}:${lineOf(candidate.sourceFile, candidate.node).line} (project ${candidate.project})`;
}

/** The marked functions the options ask for; errors name the candidates when the choice is not clear. */
function selectFunctions(tree: Tree, view: WorkspaceView, options: NormalizedLiftOptions): MarkedFunction[] {
  if (options.project && !view.projects.some((p) => p.name === options.project)) throw new LiftError(`no project named ${options.project} in this workspace`);
  let candidates = markedFunctions(view);
  if (options.project) candidates = candidates.filter((c) => c.project === options.project);
  if (options.file) candidates = candidates.filter((c) => c.file === options.file || c.file.endsWith(`/${options.file}`));
  if (options.all) {
    if (!options.project) throw new LiftError('--all lifts every marked function of one project: pass --project=<name>');
    if (!candidates.length) throw new LiftError(`no function in project ${options.project} is marked /** @lift */`);
    return candidates;
  }
  const named = candidates.filter((c) => c.name === options.fn);
  if (!named.length) {
    if (options.fn) refuseLifted(tree, view, options.fn);
    const scope = [options.project && `project ${options.project}`, options.file && `file ${options.file}`].filter(Boolean).join(', ');
    throw new LiftError(`no function named ${options.fn} is marked /** @lift */${scope ? ` in ${scope}` : ''}; put the tag in a JSDoc comment right above it`);
  }
  if (named.length > 1) {
    throw new LiftError(
      `${options.fn} is marked /** @lift */ in ${named.length} places; choose one with --project or --file:\n` +
        named.map((c) => `  ${describe(c)}`).join('\n'),
    );
  }
  return named;
}

/** Refuses a function an earlier lift moved out: by its service marker, else by the stub left in its place. */
function refuseLifted(tree: Tree, view: WorkspaceView, name: string): void {
  const marker = readMarkers(tree).find((m) => m.function === name);
  if (marker) throw new LiftError(`${name} is already lifted: ${marker.path} serves it from ${marker.library}`);
  const stub = findExistingStub(view, name);
  if (stub) throw new LiftError(`${name} is already lifted: ${stub} calls liftedStub('${name}', …)`);
}

/** `file:line` of a stub handle made by an earlier lift of `name`, if the workspace has one. */
function findExistingStub(view: WorkspaceView, name: string): string | undefined {
  for (const [sf, path] of view.files) {
    if (!sf.text.includes('liftedStub')) continue;
    for (const statement of sf.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const d of statement.declarationList.declarations) {
        const init = d.initializer;
        if (
          init &&
          ts.isCallExpression(init) &&
          ts.isIdentifier(init.expression) &&
          init.expression.text === 'liftedStub' &&
          init.arguments[0] &&
          ts.isStringLiteralLike(init.arguments[0]) &&
          init.arguments[0].text === name
        ) {
          return `${path}:${lineOf(sf, statement).line}`;
        }
      }
    }
  }
  return undefined;
}

function analyze(view: WorkspaceView, marked: MarkedFunction): LiftPlan {
  const project = view.projects.find((p) => p.name === marked.project);
  if (!project) throw new Error(`marked function ${marked.name} names project ${marked.project}, which the workspace view does not hold`);
  const isProjectFile = (sf: ts.SourceFile) => {
    const path = view.files.get(sf);
    return !!path && projectOfFile(view.projects, path) === project;
  };
  return analyzeLift(view.program, marked, project, isProjectFile);
}

interface Target {
  kebab: string;
  libraryRoot: string;
  libraryProject: string;
  /** The library's package name and import path: every reference to the library spells this one. */
  libraryPackage: string;
  serviceRoot: string;
  serviceName: string;
  servicePackage: string;
}

function targetOf(options: NormalizedLiftOptions, scope: string | undefined, name: string): Target {
  const kebab = kebabCase(name);
  const libraryProject = `lifted-${kebab}`;
  const serviceName = `${kebab}-service`;
  return {
    kebab,
    libraryRoot: joinPathFragments(options.directory, kebab),
    libraryProject,
    libraryPackage: scopedName(scope, libraryProject),
    serviceRoot: joinPathFragments(options.serviceDirectory, serviceName),
    serviceName,
    servicePackage: scopedName(scope, serviceName),
  };
}

/** Refuses before anything is written when the function (or its projects) already exist. */
function refuseExisting(tree: Tree, view: WorkspaceView, name: string, target: Target): void {
  refuseLifted(tree, view, name);
  for (const root of [target.libraryRoot, target.serviceRoot]) {
    if (tree.exists(root)) throw new LiftError(`${name} looks already lifted: ${root} exists (remove it or choose --directory/--serviceDirectory)`);
  }
  // a project is named by its project.json or by its package, depending on the layout
  const names = new Set([target.libraryProject, target.libraryPackage, target.serviceName, target.servicePackage]);
  for (const projectName of names) {
    if (view.projects.some((p) => p.name === projectName)) throw new LiftError(`cannot lift ${name}: a project named ${projectName} already exists`);
  }
}

/** Names the lifted code declared or imported in one of its files: removed there once nothing else uses them. */
function namesMovedOut(plan: LiftPlan, part: FilePart): Set<string> {
  const names = new Set<string>();
  for (const statement of part.statements) {
    if (statement === plan.statement) continue;
    if (ts.isVariableStatement(statement)) statement.declarationList.declarations.forEach((d) => ts.isIdentifier(d.name) && names.add(d.name.text));
    else {
      const name = (statement as ts.DeclarationStatement).name;
      if (name) names.add(name.getText());
    }
  }
  for (const bindings of part.externalBindings.values()) {
    for (const b of bindings) {
      const local = ts.isImportClause(b) ? b.name : b.name;
      if (local) names.add(local.text);
    }
  }
  for (const local of part.internalImports.keys()) names.add(local);
  return names;
}

function importedPackages(plan: LiftPlan): string[] {
  const names = new Set<string>();
  for (const part of plan.parts) {
    for (const declaration of part.externalBindings.keys()) {
      const pkg = ts.isStringLiteral(declaration.moduleSpecifier) ? packageOfSpecifier(declaration.moduleSpecifier.text) : undefined;
      if (pkg) names.add(pkg);
    }
  }
  return [...names];
}

function workspacePackages(tree: Tree, projects: WorkspaceProject[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const project of projects) {
    const path = joinPathFragments(project.root, 'package.json');
    if (tree.exists(path)) {
      const name = readJson(tree, path).name;
      if (typeof name === 'string') map.set(name, project.root);
    }
  }
  return map;
}

/**
 * Every use of the function in the workspace, lifted libraries included (their code runs in their services):
 * calls that can await get `await`, the rest are listed with the reason.
 */
function callSitesOf(tree: Tree, view: WorkspaceView, plan: LiftPlan, options: NormalizedLiftOptions): CallSites {
  const found = findCallSites(view.program, plan, view.files);
  const libraries = findLiftedLibraries({
    projects: view.projects,
    directory: options.directory,
    markers: readMarkers(tree),
    packageNames: new Map([...workspacePackages(tree, view.projects)].map(([name, root]) => [root, name])),
  });
  return { ...found, syncUses: markLiftedLibraryUses(found.syncUses, libraries, view.projects) };
}

/** The projects built for the browser that bundle the function's project: read before the lift rewires anything. */
function browserConsumersOf(tree: Tree, view: WorkspaceView, plan: LiftPlan): Array<{ name: string; reason: string }> {
  const dependencies = projectDependencies(tree, view.program, view.files, view.projects);
  return findBrowserConsumers(plan.project.name, projectBuildFacts(tree, view.projects), dependencies, registeredPlugins(tree));
}

async function liftOne(tree: Tree, view: WorkspaceView, plan: LiftPlan, target: Target, options: NormalizedLiftOptions): Promise<void> {
  const callSites = callSitesOf(tree, view, plan, options);
  const browser = browserWarning(plan.name, plan.project.name, browserConsumersOf(tree, view, plan));
  const library = await createLibrary(tree, { root: target.libraryRoot, projectName: target.libraryProject, packageName: target.libraryPackage });
  const rendered = renderLibraryFiles(plan, {
    base: plan.project.sourceRoot,
    pathOf: (sf) => view.files.get(sf) ?? sf.fileName,
    importExtension: library.importExtension,
    librarySrc: joinPathFragments(library.root, 'src'),
  });
  for (const [path, content] of rendered.files) tree.write(joinPathFragments(library.root, 'src', path), content);
  tree.write(joinPathFragments(library.root, 'src/index.ts'), rendered.index);

  const names = stubNames(plan.name, target.serviceName, library.importPath);
  const leftBehind = planLeftBehind(view.program, plan, view.files);
  const ownEdits = [...stubEdits(plan, names), ...(callSites.edits.get(plan.file) ?? [])];
  const ownPart = plan.parts.find((p) => p.sourceFile === plan.sourceFile);
  const ownMoved = ownPart ? namesMovedOut(plan, ownPart) : new Set<string>();
  tree.write(plan.file, pruneUnused(plan.file, applyEdits(plan.sourceFile.text, ownEdits), ownMoved, leftBehind.remove.get(plan.file)));
  for (const [path, edits] of callSites.edits) {
    if (path !== plan.file) tree.write(path, applyEdits(tree.read(path, 'utf-8') ?? '', edits));
  }
  // the helpers' other files: what only the lifted code used goes, with the imports only it needed
  for (const part of plan.parts) {
    const path = view.files.get(part.sourceFile);
    const unused = path && leftBehind.remove.get(path);
    if (!path || path === plan.file || !unused) continue;
    tree.write(path, pruneUnused(path, tree.read(path, 'utf-8') ?? '', namesMovedOut(plan, part), unused));
  }
  for (const { name, file, usedBy } of leftBehind.kept) logger.info(`kept ${name} in ${file}: still used by ${usedBy}`);

  const runtimeRange = runtimeVersionRange();
  createService(tree, {
    root: target.serviceRoot,
    name: target.serviceName,
    packageName: target.servicePackage,
    fn: plan.name,
    library,
    port: allocatePort(readMarkers(tree)),
    runtimeRange,
    arity: plan.arity,
    parameters: plan.parameters,
  });
  addMissingDependencies(tree, 'package.json', { [RUNTIME_PACKAGE]: runtimeRange });
  ignoreBuildOutput(tree, { libraryRoot: library.root, serviceRoot: target.serviceRoot });
  if (isTsSolutionLayout(tree)) {
    wireDependencies(tree, {
      library,
      projectRoot: plan.project.root,
      importedPackages: importedPackages(plan),
      workspacePackages: workspacePackages(tree, view.projects),
      runtimeRange,
    });
  }

  for (const warning of plan.warnings) logger.warn(warning);
  if (browser) logger.warn(browser);
  if (callSites.syncUses.length && options.allowSyncCallers) {
    logger.warn(
      `${plan.name} now returns a Promise; these uses cannot await it and need updating by hand (--allowSyncCallers):\n${listSyncUses(callSites.syncUses)}`,
    );
  }
  logger.info(`Lifted ${plan.name} into ${library.importPath} (${library.root}), served by ${target.serviceRoot}; ${callSites.awaited} call(s) now await it.`);
}

/** `nx g turbolift:lift <fn>`: moves a function marked `/** @lift *\/` into its own library and service. */
export async function liftGenerator(tree: Tree, schema: LiftGeneratorSchema): Promise<GeneratorCallback> {
  const options = normalizeOptions(schema);
  if (!options.fn && !options.all) throw new LiftError('name the function to lift: nx g turbolift:lift <fn> (or --all --project=<project>)');
  let view = viewWorkspace(tree);
  const selected = selectFunctions(tree, view, options);
  // the scope is the workspace's before any lift: one name per library, however many are lifted
  const scope = workspaceScope(tree, view.projects);

  // Every check runs on the untouched tree first: a refusal leaves nothing behind.
  const errors: LiftError[] = [];
  const syncUses = new Map<string, SyncUse[]>();
  for (const marked of selected) {
    try {
      const plan = analyze(view, marked);
      refuseExisting(tree, view, marked.name, targetOf(options, scope, marked.name));
      const uses = callSitesOf(tree, view, plan, options).syncUses;
      if (uses.length) syncUses.set(marked.name, uses);
    } catch (error) {
      if (error instanceof LiftError) errors.push(error);
      else throw error;
    }
  }
  if (errors.length) throw combineErrors(errors);
  if (syncUses.size && !options.allowSyncCallers) throw new SyncCallersError(syncUses);
  const names = selected.map((m) => ({ name: m.name, file: m.file }));
  if (new Set(names.map((n) => n.name)).size !== names.length)
    throw new LiftError('several marked functions share a name; lift them one at a time with --file');

  for (const [i, { name, file }] of names.entries()) {
    if (i > 0) view = viewWorkspace(tree); // the previous lift rewrote files
    const marked = markedFunctions(view).find((m) => m.name === name && m.file === file);
    if (!marked) throw new LiftError(`${file}: ${name} disappeared while lifting the functions before it`);
    await liftOne(tree, view, analyze(view, marked), targetOf(options, scope, name), options);
  }
  registerPlugin(tree);
  keepUserJsonLayout(tree);
  if (!options.skipFormat) await formatCreatedFiles(tree);
  // One install at the end: it links the new workspace packages (TS-solution layout) and fetches the runtime.
  const linkPackages = isTsSolutionLayout(tree);
  return () => installPackagesTask(tree, linkPackages);
}

export default liftGenerator;
