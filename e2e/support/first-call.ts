import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApp, runApp, type Mode } from './app';
import type { NodeRuntime } from './node-versions';
import { configureWorkspace, runTool, toolEnv, type PackageManager } from './package-managers';
import { pluginSpecs, type LocalRegistry } from './registry';
import { startBackground, waitFor, type Background, type RunResult } from './run';
import { workspaceScope, writeFiles } from './workspace';

/**
 * A user's path from an Nx workspace of their own to the first distributed call: create-nx-workspace with
 * their package manager and Nx line, a library with a function, then `add turbolift` from the registry,
 * lift, build, serve, call. The matrix spec asserts on it; scripts/bench-install.mjs times it.
 */
export interface UserSetup {
  nx: string;
  node: NodeRuntime;
  pm: PackageManager;
  registry: LocalRegistry;
  /** Extra environment for every command (e.g. a package-manager cache of the benchmark's own). */
  env?: Record<string, string>;
}

export const calcProject = `${workspaceScope}/calc`;
export const liftedFunction = 'sumSquares';

// One function to lift; its answer carries the node it ran on, so "distributed equals local" also says
// that the service ran on the same node as the caller.
const calcSources = {
  'packages/calc/src/functions.ts': `function square(x: number): number {
  return x * x;
}

/** Sum of squares, and the node version that computed it. */
/** @lift */
export function sumSquares(xs: number[]): { sum: number; node: string } {
  return { sum: xs.reduce((acc, x) => acc + square(x), 0), node: process.version };
}
`,
  'packages/calc/src/main.ts': `import { sumSquares } from './functions.js';

async function main(): Promise<void> {
  console.log(\`RESULT \${JSON.stringify(await sumSquares([1, 2, 3, 4]))}\`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  'packages/calc/src/index.ts': "export * from './functions.js';\n",
};

/** The result main.ts prints on `node`, in either mode. */
export const expectedResult = (node: NodeRuntime) => ({ sum: 30, node: node.version });

export function setupEnv(setup: UserSetup): Record<string, string> {
  return { ...toolEnv({ pm: setup.pm, node: setup.node, registryUrl: setup.registry.url }), ...setup.env };
}

/** Runs an argv with the setup's PATH (its node and package manager first) and registry. */
export function inSetup(setup: UserSetup, argv: string[], cwd: string, timeoutMs = 10 * 60 * 1000): RunResult {
  return runTool(argv, { cwd, env: setupEnv(setup), timeoutMs });
}

/**
 * `<parent>/acme`: made by create-nx-workspace (TypeScript-solution preset) with the setup's package manager,
 * its registry settings written in, and a library `@acme/calc` with the function, installed. No plugin yet.
 */
export function createUserWorkspace(setup: UserSetup, parent: string): string {
  rmSync(parent, { recursive: true, force: true });
  mkdirSync(parent, { recursive: true });
  const argv = ['npx', '--yes', `create-nx-workspace@${setup.nx}`, workspaceScope.slice(1), '--preset=ts', '--nxCloud=skip', '--no-interactive'];
  inSetup(setup, [...argv, `--packageManager=${setup.pm.name}`, '--skipGit=false'], parent);
  const ws = join(parent, workspaceScope.slice(1));
  configureWorkspace(setup.pm, ws, setup.registry.url);
  inSetup(setup, setup.pm.nx(['g', '@nx/js:lib', 'packages/calc', '--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive']), ws);
  writeFiles(ws, calcSources);
  inSetup(setup, setup.pm.install(), ws);
  return ws;
}

/** What a user adds: the plugin (which brings the runtime, named too as the README says) and @nx/node. */
export function addPlugin(setup: UserSetup, ws: string): void {
  inSetup(setup, setup.pm.addDev([...pluginSpecs(setup.registry), `@nx/node@${setup.nx}`, 'esbuild@^0.25.9']), ws);
}

/** `nx g turbolift:lift sumSquares`, then the install the new packages need; returns the service project. */
export function liftFunction(setup: UserSetup, ws: string): string {
  inSetup(setup, setup.pm.nx(['g', 'turbolift:lift', liftedFunction, `--project=${calcProject}`, '--no-interactive']), ws);
  inSetup(setup, setup.pm.install(), ws);
  const projects: string[] = JSON.parse(inSetup(setup, setup.pm.nx(['show', 'projects', '--json']), ws).stdout);
  const service = projects.find((p) => p.endsWith('sum-squares-service'));
  if (!service) throw new Error(`no sum-squares service project after the lift; projects: ${projects.join(', ')}`);
  return service;
}

export function buildService(setup: UserSetup, ws: string, service: string): void {
  inSetup(setup, setup.pm.nx(['build', service, '--output-style=stream']), ws);
}

export interface Served {
  services: Background;
  url: string;
  /** the process that listens, as the endpoints file records it */
  pid: number | undefined;
}

/** `nx serve <service>` in the background, until the endpoints file lists the function. */
export async function serveService(setup: UserSetup, ws: string, service: string): Promise<Served> {
  const [command, ...args] = setup.pm.nx(['serve', service, '--output-style=stream']);
  const services = startBackground(command, args, { cwd: ws, env: setupEnv(setup) });
  const endpointsFile = join(ws, '.turbolift/endpoints.json');
  try {
    const entry = await waitFor(
      `the ${liftedFunction} service in ${endpointsFile}`,
      () => {
        if (!existsSync(endpointsFile)) return undefined;
        const file = JSON.parse(readFileSync(endpointsFile, 'utf8'));
        const url: string | undefined = file.endpoints?.[liftedFunction];
        return url ? { url, pid: file.pids?.[liftedFunction] as number | undefined } : undefined;
      },
      240_000,
    );
    return { services, ...entry };
  } catch (error) {
    await services.stop();
    throw new Error(`${(error as Error).message}\n--- serve output ---\n${services.output().slice(-6000)}`);
  }
}

/** Bundles main.ts (as a user's own build would) and runs it on the setup's node; returns its RESULT. */
export function callApp(setup: UserSetup, ws: string, mode: Mode, label: string = mode): unknown {
  return JSON.parse(runApp(ws, bundleApp(ws, 'packages/calc/src/main.ts', label), mode, setupEnv(setup)).result);
}
