import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { NodeRuntime } from './node-versions';
import { localRegistry, pluginPackages } from './registry';
import { run, type RunOptions, type RunResult } from './run';
import { installTool, toolsDir } from './tools-cache';

/**
 * npm, yarn (berry, node-modules linker) and pnpm, each pointed at the local npm registry, as a user of
 * each would run them. Usage:
 *
 *   const pm = ensurePackageManager('yarn');                  // installed once per run, from the registry
 *   const env = toolEnv({ pm, node: ensureNode('24') });     // PATH + registry settings for every command
 *   runTool(pm.nx(['show', 'projects']), { cwd: ws, env });
 *   configureWorkspace(pm, ws);                               // .npmrc / .yarnrc.yml inside the workspace
 *   runTool(pm.addDev(pluginSpecs()), { cwd: ws, env });
 */
export type PackageManagerName = 'npm' | 'yarn' | 'pnpm';

/** What each tool is installed from; npm is the machine's own. */
export const packageManagerSources: Record<Exclude<PackageManagerName, 'npm'>, { spec: string; entry: string }> = {
  yarn: { spec: '@yarnpkg/cli-dist@4', entry: 'node_modules/@yarnpkg/cli-dist/bin/yarn.js' },
  pnpm: { spec: 'pnpm@10', entry: 'node_modules/pnpm/bin/pnpm.cjs' },
};

export interface PackageManager {
  name: PackageManagerName;
  /** What `<tool> --version` prints, e.g. 4.9.1. */
  version: string;
  /** The folder that holds the `yarn`/`pnpm` command (run on whichever node PATH finds first); none for npm. */
  binDir?: string;
  /** Settings the tool itself needs in every command's environment (toolEnv adds them). */
  env?: Record<string, string>;
  /** argv that adds packages as dev dependencies of the workspace root. */
  addDev(specs: string[]): string[];
  /** argv that installs what the workspace's manifests and lockfile say. */
  install(): string[];
  /** argv that runs the workspace's own nx. */
  nx(args: string[]): string[];
}

function commands(name: PackageManagerName, command: string): Pick<PackageManager, 'addDev' | 'install' | 'nx'> {
  switch (name) {
    case 'npm':
      return {
        addDev: (specs) => ['npm', 'install', '--no-audit', '--no-fund', '-D', ...specs],
        install: () => ['npm', 'install', '--no-audit', '--no-fund'],
        nx: (args) => ['npx', 'nx', ...args],
      };
    case 'yarn':
      return { addDev: (specs) => [command, 'add', '-D', ...specs], install: () => [command, 'install'], nx: (args) => [command, 'nx', ...args] };
    case 'pnpm':
      // -w: pnpm refuses to add to a workspace's root without it. A lockfile that the install must change is
      // what a user has after editing a manifest, so never a frozen one (pnpm's default on CI).
      return {
        addDev: (specs) => [command, 'add', '-D', '-w', ...specs],
        install: () => [command, 'install', '--no-frozen-lockfile'],
        nx: (args) => [command, 'exec', 'nx', ...args],
      };
  }
}

/** A `yarn`/`pnpm` command in `<tools>/bin-<name>` that runs the installed entry on the node PATH finds. */
function writeLauncher(name: string, entry: string): string {
  const binDir = join(toolsDir(), `bin-${name}`);
  const launcher = join(binDir, name);
  if (!existsSync(launcher)) {
    mkdirSync(binDir, { recursive: true });
    writeFileSync(`${launcher}.tmp`, `#!/bin/sh\nexec node '${entry}' "$@"\n`);
    chmodSync(`${launcher}.tmp`, 0o755);
    renameSync(`${launcher}.tmp`, launcher);
  }
  return binDir;
}

/** Installs the tool once per run (through the local registry) and says how to run it. */
export function ensurePackageManager(name: PackageManagerName, registryUrl: string = localRegistry().url): PackageManager {
  if (name === 'npm') {
    const version = run('npm', ['--version'], { cwd: process.cwd() }).stdout.trim();
    return { name, version, ...commands(name, 'npm') };
  }
  const source = packageManagerSources[name];
  const dir = installTool(name, source.spec, registryUrl);
  const binDir = writeLauncher(name, join(dir, source.entry));
  const command = join(binDir, name);
  const env = name === 'yarn' ? { COREPACK_ROOT: corepackRootFor(join(dir, source.entry)) } : undefined;
  const version = run(command, ['--version'], { cwd: dir, env: { ...toolEnv({ registryUrl }), ...env } }).stdout.trim();
  return { name, version, binDir, env, ...commands(name, command) };
}

/**
 * yarn as corepack provides it: create-nx-workspace runs `yarn set version <the running version>`, which
 * outside corepack downloads that release from yarn's own site (unreachable from a machine that only reaches
 * its npm registry); under corepack (COREPACK_ROOT set) it only records `packageManager`. yarn also runs
 * `<COREPACK_ROOT>/dist/yarn.js` for the `yarn` of package scripts, so that is the installed release.
 */
function corepackRootFor(yarnEntry: string): string {
  const root = join(toolsDir(), 'yarn-corepack-root');
  const link = join(root, 'dist/yarn.js');
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(yarnEntry, `${link}.tmp-${process.pid}`);
    renameSync(`${link}.tmp-${process.pid}`, link);
  }
  return root;
}

/**
 * Environment that points all three tools at the registry, for commands run outside any configured
 * workspace too (create-nx-workspace installs into a folder of its own before the workspace exists).
 */
export function registryEnv(registryUrl: string): Record<string, string> {
  const host = new URL(registryUrl).hostname;
  return {
    npm_config_registry: registryUrl,
    YARN_NPM_REGISTRY_SERVER: registryUrl.replace(/\/$/, ''),
    YARN_UNSAFE_HTTP_WHITELIST: host,
    YARN_NODE_LINKER: 'node-modules',
    // yarn makes every install on CI immutable, which forbids the first install of a new workspace.
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    // Nothing may reach for a tool version of its own choosing (corepack would download one).
    COREPACK_ENABLE_STRICT: '0',
    COREPACK_ENABLE_AUTO_PIN: '0',
    COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
  };
}

export interface ToolEnvOptions {
  pm?: PackageManager;
  node?: NodeRuntime;
  /** Defaults to this run's local registry. */
  registryUrl?: string;
}

/** PATH (the tool's folder, then the node's, then the caller's PATH), the registry settings and the tool's own. */
export function toolEnv({ pm, node, registryUrl = localRegistry().url }: ToolEnvOptions = {}): Record<string, string> {
  const path = [pm?.binDir, node?.binDir, process.env.PATH].filter(Boolean).join(delimiter);
  return { ...registryEnv(registryUrl), ...pm?.env, PATH: path };
}

/** Writes the workspace's own registry settings, so that its later installs (a user's too) use the registry. */
export function configureWorkspace(pm: PackageManager, dir: string, registryUrl: string = localRegistry().url): void {
  if (pm.name !== 'yarn') {
    const npmrc = join(dir, '.npmrc');
    const kept = existsSync(npmrc)
      ? readFileSync(npmrc, 'utf8')
          .split('\n')
          .filter((line) => line.trim() && !/^registry\s*=/.test(line))
      : [];
    writeFileSync(npmrc, [...kept, `registry=${registryUrl}`].join('\n') + '\n');
    return;
  }
  const settings: Record<string, string> = {
    nodeLinker: 'node-modules',
    npmRegistryServer: JSON.stringify(registryUrl.replace(/\/$/, '')),
    unsafeHttpWhitelist: `[${JSON.stringify(new URL(registryUrl).hostname)}]`,
    // yarn quarantines versions published less than a day ago (npmMinimalAgeGate, 1d by default); the
    // plugin is published by this very run, so it alone is exempt. Every other package keeps the gate.
    npmPreapprovedPackages: JSON.stringify(pluginPackages),
  };
  const yarnrc = join(dir, '.yarnrc.yml');
  const kept = existsSync(yarnrc)
    ? readFileSync(yarnrc, 'utf8')
        .split('\n')
        .filter((line) => line.trim() && !Object.keys(settings).some((key) => line.startsWith(`${key}:`)))
    : [];
  writeFileSync(yarnrc, [...kept, ...Object.entries(settings).map(([key, value]) => `${key}: ${value}`)].join('\n') + '\n');
}

/** Runs an argv from a PackageManager (or any argv) with run()'s checks. */
export function runTool(argv: string[], options: RunOptions): RunResult {
  const [command, ...args] = argv;
  return run(command, args, options);
}
