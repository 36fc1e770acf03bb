import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { e2eRoot } from '../support/paths';
import { nx, run, startBackground, waitFor, type Background } from '../support/run';
import { commitAll, copyWorkspace, writeFiles } from '../support/workspace';

/**
 * A fresh clone has no dist/: a lifted service must build there in one command, whatever the workspace names
 * its source condition. The workspace is made and lifted once, committed, and cloned; the service is built,
 * served and called in the clone.
 */

const RATES = 'export function taxRate(): number {\n  return 0.25;\n}\n';
const PRICING = [
  "import { taxRate } from '@acme/rates';",
  '',
  '/** @lift */',
  'export function totalCost(prices: number[]): number {',
  '  const net = prices.reduce((sum, price) => sum + price, 0);',
  '  return Math.round(net * (1 + taxRate()) * 100) / 100;',
  '}',
  '',
].join('\n');

/** A TS-solution workspace with a library `rates` used by the function `totalCost` of `pricing`, lifted and committed. */
function liftedWorkspace(name: string, sourceCondition: string): string {
  const ws = copyWorkspace(name);
  for (const lib of ['rates', 'pricing']) {
    nx(ws, ['g', '@nx/js:lib', `packages/${lib}`, '--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive']);
  }
  writeFiles(ws, {
    'packages/rates/src/index.ts': "export * from './lib/rates.js';\n",
    'packages/rates/src/lib/rates.ts': RATES,
    'packages/pricing/src/index.ts': "export * from './lib/pricing.js';\n",
    'packages/pricing/src/lib/pricing.ts': PRICING,
  });
  editJson(ws, 'packages/pricing/package.json', (pkg) => ({ ...pkg, dependencies: { ...(pkg.dependencies as object), '@acme/rates': '*' } }));
  if (sourceCondition !== '@acme/source') renameSourceCondition(ws, '@acme/source', sourceCondition);
  run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
  nx(ws, ['sync']);
  nx(ws, ['g', 'turbolift:lift', 'totalCost', '--project=@acme/pricing', '--no-interactive']);
  run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
  nx(ws, ['sync']);
  commitAll(ws, 'lift totalCost');
  return ws;
}

function editJson(root: string, file: string, edit: (json: Record<string, unknown>) => Record<string, unknown>): void {
  writeFiles(root, { [file]: JSON.stringify(edit(JSON.parse(readFileSync(join(root, file), 'utf8'))), null, 2) + '\n' });
}

/** The workspace's own condition under another name, in tsconfig.base.json and every package's exports. */
function renameSourceCondition(ws: string, from: string, to: string): void {
  editJson(ws, 'tsconfig.base.json', (tsconfig) => {
    const compilerOptions = tsconfig.compilerOptions as { customConditions?: string[] };
    expect(compilerOptions.customConditions).toEqual([from]);
    return { ...tsconfig, compilerOptions: { ...compilerOptions, customConditions: [to] } };
  });
  for (const dir of readdirSync(join(ws, 'packages'))) {
    const file = `packages/${dir}/package.json`;
    if (!existsSync(join(ws, file))) continue;
    const text = readFileSync(join(ws, file), 'utf8');
    writeFileSync(join(ws, file), text.split(JSON.stringify(from)).join(JSON.stringify(to)));
  }
}

/**
 * `git clone` of the workspace, with node_modules linked entry by entry to the original's installed packages,
 * except the workspace's own packages, which link to the clone's sources as npm links them.
 */
function cleanClone(ws: string, name: string): string {
  const clone = join(e2eRoot(), name);
  run('git', ['clone', '-q', ws, clone], { cwd: e2eRoot() });
  const linkEntries = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) {
      const source = join(from, entry);
      if (entry.startsWith('@') && lstatSync(source).isDirectory()) linkEntries(source, join(to, entry));
      else if (lstatSync(source).isSymbolicLink() && !readlinkSync(source).includes('node_modules')) {
        symlinkSync(readlinkSync(source), join(to, entry)); // a workspace package: relative, so it lands in the clone
      } else symlinkSync(source, join(to, entry));
    }
  };
  linkEntries(join(ws, 'node_modules'), join(clone, 'node_modules'));
  return clone;
}

/** Every dist/ folder of a workspace outside node_modules. */
function distFolders(root: string, dir = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'node_modules' || entry.name === '.git' || entry.name === '.nx') continue;
    const path = join(dir, entry.name);
    if (entry.name === 'dist') found.push(relative(root, path));
    else found.push(...distFolders(root, path));
  }
  return found;
}

interface LiftedService {
  project: string;
  root: string;
  libraryRoot: string;
}

function liftedService(ws: string): LiftedService {
  const projects: string[] = JSON.parse(nx(ws, ['show', 'projects', '--json']).stdout);
  const project = projects.find((p) => p.endsWith('total-cost-service'));
  if (!project) throw new Error(`no total-cost service among ${projects.join(', ')}`);
  const root: string = JSON.parse(nx(ws, ['show', 'project', project, '--json']).stdout).root;
  const library: string = JSON.parse(readFileSync(join(ws, root, 'turbolift.json'), 'utf8')).library;
  const libraryRoot: string = JSON.parse(nx(ws, ['show', 'project', library, '--json']).stdout).root;
  return { project, root, libraryRoot };
}

/** Serves the service with its Nx target, calls it once over HTTP with the workspace's token, and stops it. */
async function serveAndCall(ws: string, service: LiftedService, prices: number[]): Promise<unknown> {
  const endpointsFile = join(ws, '.turbolift/endpoints.json');
  let served: Background | undefined = startBackground('npx', ['nx', 'run', `${service.project}:serve`, '--output-style=stream'], { cwd: ws });
  try {
    const url = await waitFor(
      `totalCost in ${endpointsFile}\n${served.output()}`,
      () => (existsSync(endpointsFile) ? (JSON.parse(readFileSync(endpointsFile, 'utf8')).endpoints?.totalCost as string | undefined) : undefined),
      240_000,
    );
    const token = readFileSync(join(ws, '.turbolift/token'), 'utf8').trim();
    const response = await fetch(`${url}/v1/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([prices]),
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(200);
    return await response.json();
  } finally {
    await served.stop();
    served = undefined;
  }
}

const build = (ws: string, service: LiftedService) => nx(ws, ['run', `${service.project}:build`, '--output-style=stream']);

describe('a lifted service builds from a clean clone', () => {
  describe("with the template's source condition (@acme/source, the root package's name)", () => {
    let clone: string;
    let service: LiftedService;

    beforeAll(() => {
      const ws = liftedWorkspace('clean-checkout', '@acme/source');
      clone = cleanClone(ws, 'clean-checkout-clone');
      service = liftedService(clone);
    });

    it('builds with no dist/ anywhere, serves and answers', async () => {
      expect(distFolders(clone)).toEqual([]);
      build(clone, service);
      expect(await serveAndCall(clone, service, [10, 20])).toBe(37.5);
    });

    it('rebuilds the service when a library it depends on changes, and only then', async () => {
      const unchanged = build(clone, service);
      expect(unchanged.output).toMatch(/existing outputs match the cache|local cache/);
      // The lifted library's own dependency, two steps from the service.
      writeFiles(clone, { 'packages/rates/src/lib/rates.ts': RATES.replace('0.25', '0.5') });
      const changed = build(clone, service);
      expect(changed.output).not.toMatch(new RegExp(`${service.project}:build.*(existing outputs match the cache|local cache)`));
      expect(await serveAndCall(clone, service, [10, 20])).toBe(45);
      // The lifted library itself.
      const libraryFile = join(clone, service.libraryRoot, 'src/lib/pricing.ts');
      writeFiles(clone, { [relative(clone, libraryFile)]: readFileSync(libraryFile, 'utf8').replace('* 100) / 100', '* 100) / 100 + 1000') });
      build(clone, service);
      expect(await serveAndCall(clone, service, [10, 20])).toBe(1045);
    });
  });

  it('with a source condition unrelated to the root package name (@other/source), from the built libraries', async () => {
    const ws = liftedWorkspace('clean-checkout-other', '@other/source');
    const clone = cleanClone(ws, 'clean-checkout-other-clone');
    const service = liftedService(clone);
    expect(distFolders(clone)).toEqual([]);
    const built = build(clone, service);
    expect(built.output).toContain(`${service.project}:build`);
    expect(await serveAndCall(clone, service, [10, 20])).toBe(37.5);
  });
});
