import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { e2eRoot, nxVersion, repoRoot, tarballDir, templateDir } from './paths';
import { configureWorkspace, ensurePackageManager, registryEnv, runTool } from './package-managers';
import { localRegistry, pluginSpecs } from './registry';
import { run } from './run';

/** The scope create-nx-workspace gives every project of the test workspace: `@acme/<name>`. */
export const workspaceScope = '@acme';

/** Packs the plugin and the runtime as a user would receive them (npm pack of the built packages). */
export function packPlugin(): string[] {
  rmSync(tarballDir(), { recursive: true, force: true });
  mkdirSync(tarballDir(), { recursive: true });
  run('npm', ['pack', '--pack-destination', tarballDir(), '-w', 'packages/runtime', '-w', 'packages/turbolift'], { cwd: repoRoot });
  return readdirSync(tarballDir()).map((file) => join(tarballDir(), file));
}

/**
 * A fresh workspace in Nx's current TypeScript-solution layout, made by create-nx-workspace, with the
 * plugin installed the way a user installs it: by name and version from the local npm registry, where the
 * global setup published this run's build (registry.ts). The workspace's `.npmrc` names that registry, so
 * later installs in it and in its copies use it too. Made once per run; every test works on its own copy.
 */
export function createTemplateWorkspace(): string {
  const registry = localRegistry();
  const npm = ensurePackageManager('npm', registry.url);
  const env = registryEnv(registry.url);
  rmSync(templateDir(), { recursive: true, force: true });
  mkdirSync(dirname(templateDir()), { recursive: true });
  run(
    join(repoRoot, 'node_modules/.bin/create-nx-workspace'),
    ['acme', '--preset=ts', '--nxCloud=skip', '--no-interactive', '--packageManager=npm', '--skipGit=false'],
    { cwd: e2eRoot(), env, timeoutMs: 5 * 60 * 1000 },
  );
  cpSync(join(e2eRoot(), 'acme'), templateDir(), { recursive: true, verbatimSymlinks: true });
  rmSync(join(e2eRoot(), 'acme'), { recursive: true, force: true });
  configureWorkspace(npm, templateDir(), registry.url);
  runTool(npm.addDev([...pluginSpecs(registry), `@nx/node@${nxVersion}`, 'esbuild@^0.25.9']), { cwd: templateDir(), env, timeoutMs: 5 * 60 * 1000 });
  commitAll(templateDir(), 'Install turbolift');
  return templateDir();
}

/** A private copy of the template workspace for one test. */
export function copyWorkspace(name: string): string {
  if (!existsSync(join(templateDir(), 'nx.json'))) throw new Error(`no template workspace at ${templateDir()}: the e2e global setup makes it`);
  const target = join(e2eRoot(), name);
  rmSync(target, { recursive: true, force: true });
  cpSync(templateDir(), target, { recursive: true, verbatimSymlinks: true });
  return target;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

export function commitAll(root: string, message: string): void {
  run('git', ['add', '-A'], { cwd: root });
  run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', 'commit', '-q', '--allow-empty', '-m', message], { cwd: root });
}

/** Uncommitted changes in a workspace, as `git status --porcelain` lines: the check that a refusal touched nothing. */
export function workingTreeChanges(root: string): string[] {
  return run('git', ['status', '--porcelain'], { cwd: root }).stdout.split('\n').filter(Boolean);
}
