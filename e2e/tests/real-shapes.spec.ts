import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configureWorkspace, ensurePackageManager, runTool, toolEnv, type PackageManager } from '../support/package-managers';
import { e2eRoot } from '../support/paths';
import { pluginPackages, pluginSpecs } from '../support/registry';
import { run, startBackground, waitFor, type Background, type RunResult } from '../support/run';
import { parseDiff, unexplainedChanges } from '../support/shapes-diff';
import { commitAll, workingTreeChanges } from '../support/workspace';

/**
 * A workspace of our own making in the shapes real monorepos have (e2e/fixtures/shapes): Nx's TS-solution
 * layout with the scope `@shapes` and the custom condition `@shapes/source`, installed with yarn 4
 * (node-modules linker), one pricing library that a React app (vite, for the browser, with a jsdom suite) and a
 * Node app both use, and a selector library. The React component and the selector call the lifted function
 * synchronously, so the lift must refuse by default and, told to go on, leave every consumer building.
 */
const fixtureDir = join(__dirname, '../fixtures/shapes');
const fn = 'priceBasket';
const functionFile = 'libs/pricing/src/lib/price-basket.ts';
const component = 'apps/web/src/app/basket-total.tsx';
const selector = 'libs/selectors/src/lib/basket-selectors.ts';
const awaitingWrapper = 'libs/pricing/src/lib/checkout.ts';
const webBundleDir = 'apps/web/dist/assets';
const apiBundle = 'apps/api/dist/main.js';

/** The 1-based line of the first line of a fixture file that contains `text`. */
function lineOf(file: string, text: string): number {
  const index = readFileSync(join(fixtureDir, file), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text));
  if (index === -1) throw new Error(`${file} has no line with ${text}`);
  return index + 1;
}

/** The sync call sites the lift must name: `file:line`, with or without a column after it. */
const syncSites = [`${component}:${lineOf(component, `${fn}(`)}`, `${selector}:${lineOf(selector, `${fn}(`)}`];
const siteReported = (site: string) => new RegExp(`${site.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(:\\d+)?\\b`);

/**
 * The repository's format check keeps the fixture prettier-clean; users' files often are not (written under
 * another print width, or before the formatter). The lift must leave such lines as they are.
 */
function handFormat(ws: string): void {
  const path = join(ws, awaitingWrapper);
  const oneLine = 'export async function quoteForCheckout(lines: BasketLine[], region: Region): Promise<CheckoutQuote> {';
  const text = readFileSync(path, 'utf8');
  if (!text.includes(oneLine)) throw new Error(`${awaitingWrapper} no longer has the line the test reformats by hand`);
  writeFileSync(path, text.replace(oneLine, 'export async function quoteForCheckout(\n  lines: BasketLine[],\n  region: Region,\n): Promise<CheckoutQuote> {'));
}

/**
 * yarn 4.10+ quarantines versions published less than a day ago (npmMinimalAgeGate, default 1d); this run
 * published its plugin seconds ago, so the workspace exempts those two packages, and only them.
 */
function preapprovePlugin(ws: string): void {
  const yarnrc = join(ws, '.yarnrc.yml');
  // configureWorkspace may already exempt them; a second key would make the file invalid YAML
  if (/^npmPreapprovedPackages:/m.test(readFileSync(yarnrc, 'utf8'))) return;
  writeFileSync(yarnrc, `${readFileSync(yarnrc, 'utf8')}npmPreapprovedPackages:\n${pluginPackages.map((name) => `  - ${JSON.stringify(name)}\n`).join('')}`);
}

/** How long each step took, printed at the end (the spec must stay within minutes on a busy 2-core machine). */
const timings: string[] = [];
function timed<T>(step: string, work: () => T): T {
  const started = Date.now();
  try {
    return work();
  } finally {
    timings.push(`${step}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** The line the api prints after `RESULT `: every order quoted directly and through the checkout. */
function apiResult(outcome: RunResult): string {
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the api printed no RESULT line:\n${outcome.output}`);
  return line.slice('RESULT '.length);
}

function readJson<T = Record<string, unknown>>(ws: string, file: string): T {
  return JSON.parse(readFileSync(join(ws, file), 'utf8'));
}

/** Every module specifier or marker by which Node built-ins or server code would enter a browser bundle. */
function serverCodeIn(bundleDir: string): string[] {
  const found: string[] = [];
  for (const file of readdirSync(bundleDir).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(bundleDir, file), 'utf8');
    // quoted, so that React's own `{node: …}` objects do not count
    for (const [hit] of text.matchAll(/["'`]node:[\w/]+["'`]/g)) found.push(`${file}: ${hit}`);
    // what vite leaves where it stubbed a Node built-in for the browser
    if (text.includes('__vite-browser-external')) found.push(`${file}: __vite-browser-external`);
    for (const [hit] of text.matchAll(/fastify|undici/gi)) found.push(`${file}: ${hit}`);
  }
  return [...new Set(found)];
}

describe('a yarn workspace shaped like real monorepos: a browser app, a jsdom suite, sync callers, @shapes/source', () => {
  let ws: string;
  let pm: PackageManager;
  let env: Record<string, string>;
  let beforeLift: string;
  let apiBefore: string;
  let liftOutput: string;
  let services: Background | undefined;
  const nx = (args: string[], options: { expectFailure?: boolean; cwd?: string; env?: Record<string, string> } = {}) =>
    runTool(pm.nx(args), { cwd: options.cwd ?? ws, env: { ...env, ...options.env }, expectFailure: options.expectFailure, timeoutMs: 5 * 60 * 1000 });

  /** The lifted service's project (name and root), read from the marker the lift writes. */
  const service = () => {
    const dir = readdirSync(join(ws, 'apps/lifted')).find((d) => existsSync(join(ws, 'apps/lifted', d, 'turbolift.json')));
    if (!dir) throw new Error('the lift made no service under apps/lifted');
    const root = `apps/lifted/${dir}`;
    return { root, name: readJson<{ name: string }>(ws, `${root}/package.json`).name };
  };
  const library = () => {
    const marker = readJson<{ library: string }>(ws, `${service().root}/turbolift.json`);
    const dir = readdirSync(join(ws, 'libs/lifted')).find((d) => readJson<{ name: string }>(ws, `libs/lifted/${d}/package.json`).name === marker.library);
    if (!dir) throw new Error(`no package named ${marker.library} under libs/lifted`);
    return { root: `libs/lifted/${dir}`, name: marker.library };
  };

  beforeAll(() => {
    ws = join(e2eRoot(), 'real-shapes');
    rmSync(ws, { recursive: true, force: true });
    cpSync(fixtureDir, ws, { recursive: true });
    handFormat(ws);
    pm = timed('yarn 4 ready', () => ensurePackageManager('yarn'));
    env = toolEnv({ pm });
    configureWorkspace(pm, ws);
    preapprovePlugin(ws);
    run('git', ['init', '-q', '-b', 'main'], { cwd: ws });
    commitAll(ws, 'shapes workspace');
    // one install for the workspace and the plugin, both from the local registry, as a user adds it
    timed('yarn add -D turbolift @turbolift/runtime (whole install)', () => runTool(pm.addDev(pluginSpecs()), { cwd: ws, env, timeoutMs: 8 * 60 * 1000 }));
    // yarn writes its lockfile and its own formatting of the manifests: the user commits both
    commitAll(ws, 'install with yarn, add turbolift');
  });

  afterAll(async () => {
    await services?.stop();
    console.log(`real-shapes steps (yarn ${pm?.version}):\n  ${timings.join('\n  ')}`);
  });

  it('before the lift: the web app builds for the browser, its jsdom suite passes, the api runs', () => {
    const outcome = timed('before: web build + jsdom suite + api build', () =>
      nx(['run-many', '-t', 'build', 'test', '--projects=@shapes/web,@shapes/api', '--output-style=stream']),
    );
    expect(outcome.output).toMatch(/2 passed/);
    expect(serverCodeIn(join(ws, webBundleDir))).toEqual([]);
    apiBefore = apiResult(run('node', [apiBundle], { cwd: ws, env: { ...env, TURBOLIFT_MODE: 'local' } }));
    expect(JSON.parse(apiBefore)).toHaveLength(3);
    expect(workingTreeChanges(ws)).toEqual([]);
    beforeLift = run('git', ['rev-parse', 'HEAD'], { cwd: ws }).stdout.trim();
  });

  it('refuses the lift by default with TL_SYNC_CALLERS, naming the component and the selector, and changes nothing', () => {
    const outcome = timed('refused lift', () => nx(['g', 'turbolift:lift', fn, '--no-interactive'], { expectFailure: true }));
    for (const site of syncSites) expect(outcome.output).toMatch(siteReported(site));
    expect(outcome.output).toContain('TL_SYNC_CALLERS');
    expect(workingTreeChanges(ws)).toEqual([]);
  });

  it('lifts with --allowSyncCallers and lists the same sites', () => {
    const outcome = timed('lift --allowSyncCallers (with its yarn install)', () => nx(['g', 'turbolift:lift', fn, '--allowSyncCallers', '--no-interactive']));
    liftOutput = outcome.output;
    for (const site of syncSites) expect(liftOutput).toMatch(siteReported(site));
    commitAll(ws, `lift ${fn}`);
  });

  it('warns that the lifted function is bundled for the browser by the web app, where only local mode runs', () => {
    const warning = liftOutput.split('\n').find((line) => line.includes('@shapes/web') && /browser/i.test(line));
    expect(warning).toBeDefined();
    expect(warning).toContain('TL_DISTRIBUTED_IN_BROWSER');
  });

  it('names the new packages in the workspace scope and exports them under the @shapes/source condition', () => {
    const lib = library();
    expect(lib.name).toMatch(/^@shapes\//);
    expect(service().name).toMatch(/^@shapes\//);
    const exported = readJson<{ exports: Record<string, Record<string, string>> }>(ws, `${lib.root}/package.json`).exports['.'];
    expect(exported).toHaveProperty(['@shapes/source']);
    expect(existsSync(join(ws, lib.root, exported['@shapes/source']))).toBe(true);
    const servicePackage = readJson<{ exports?: Record<string, Record<string, string>> }>(ws, `${service().root}/package.json`);
    if (servicePackage.exports) expect(servicePackage.exports['.']).toHaveProperty(['@shapes/source']);
  });

  it("ignores the new projects' build outputs in .gitignore", () => {
    const lib = library();
    const outDir = readJson<{ compilerOptions: { outDir: string } }>(ws, `${lib.root}/tsconfig.lib.json`).compilerOptions.outDir;
    const outputs = [`${lib.root}/${outDir}/index.js`, `dist/${service().root}/bundle/main.js`];
    // exit 0: ignored, 1: not ignored (run() would throw on the latter, so ask git directly)
    const notIgnored = outputs.filter((path) => spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: ws }).status !== 0);
    expect(notIgnored).toEqual([]);
  });

  it("changes the user's source files only on the lines it edits (an await, an import), and leaves the sync callers as they were", () => {
    const diff = run('git', ['diff', '-U0', '--diff-filter=M', beforeLift, 'HEAD', '--', '*.ts', '*.tsx', '*.mts'], { cwd: ws }).stdout;
    const userFiles = parseDiff(diff).filter((change) => change.file !== functionFile);
    expect(userFiles.map((change) => change.file).sort()).toEqual([awaitingWrapper]);
    const wrapper = userFiles.find((change) => change.file === awaitingWrapper);
    expect(wrapper).toEqual({
      file: awaitingWrapper,
      removed: [`  const quote = ${fn}(lines, taxRateFor(region));`],
      added: [`  const quote = await ${fn}(lines, taxRateFor(region));`],
    });
    expect(userFiles.flatMap((change) => unexplainedChanges(change, { onlyImports: true }))).toEqual([]);
  });

  it("changes the user's config files (nx.json, tsconfig, package.json, .gitignore) only by what it adds to them", () => {
    const diff = run('git', ['diff', '-U0', '--diff-filter=M', beforeLift, 'HEAD', '--', '*.json', '.gitignore'], { cwd: ws }).stdout;
    const userFiles = parseDiff(diff);
    expect(userFiles.flatMap((change) => unexplainedChanges(change, { onlyImports: false }))).toEqual([]);
  });

  it('after the lift: the browser build succeeds and carries no Node built-in and no server code', () => {
    timed('after: web build', () => nx(['run', '@shapes/web:build', '--output-style=stream']));
    expect(serverCodeIn(join(ws, webBundleDir))).toEqual([]);
    // and the stub is in it (the service it names), so the bundle is clean with the runtime's browser entry inside
    const bundleText = readdirSync(join(ws, webBundleDir))
      .map((file) => readFileSync(join(ws, webBundleDir, file), 'utf8'))
      .join('\n');
    expect(bundleText).toContain(service().root.split('/').pop());
  });

  it('after the lift: the jsdom suite still loads the stub and passes', () => {
    const outcome = timed('after: jsdom suite', () => nx(['run', '@shapes/web:test', '--output-style=stream']));
    expect(outcome.output).toMatch(/2 passed/);
    expect(outcome.output).not.toMatch(/ReadableStream|TextDecoder is not defined/);
  });

  it('the api awaits the same quotes in local mode and, through `nx run <service>:serve`, in distributed mode', async () => {
    timed('after: api build', () => nx(['run', '@shapes/api:build', '--output-style=stream']));
    const local = apiResult(run('node', [apiBundle], { cwd: ws, env: { ...env, TURBOLIFT_MODE: 'local' } }));
    expect(local).toEqual(apiBefore);

    const started = Date.now();
    const [command, ...args] = pm.nx(['run', `${service().name}:serve`, '--output-style=stream']);
    services = startBackground(command, args, { cwd: ws, env });
    const endpointsFile = join(ws, '.turbolift/endpoints.json');
    await waitFor(
      `${fn} in ${endpointsFile}\n${services.output()}`,
      () => existsSync(endpointsFile) && readJson<{ endpoints: Record<string, string> }>(ws, '.turbolift/endpoints.json').endpoints[fn],
      240_000,
    );
    timings.push(`after: service build + serve until registered: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const distributed = timed('after: api in distributed mode', () =>
      apiResult(run('node', [apiBundle], { cwd: ws, env: { ...env, TURBOLIFT_MODE: 'distributed' } })),
    );
    expect(distributed).toEqual(local);
    await services.stop();
    services = undefined;
    // the same call with its service gone fails: the distributed run above really went to the service
    const orphaned = run('node', [apiBundle], { cwd: ws, env: { ...env, TURBOLIFT_MODE: 'distributed' }, expectFailure: true, timeoutMs: 2 * 60 * 1000 });
    expect(orphaned.output).toMatch(/TL_[A-Z_]+/);
  });

  it('every build leaves the working tree clean', () => {
    expect(workingTreeChanges(ws)).toEqual([]);
  });

  it('the service builds from a clean clone of the workspace', () => {
    const clone = join(e2eRoot(), 'real-shapes-clone');
    rmSync(clone, { recursive: true, force: true });
    run('git', ['clone', '-q', ws, clone], { cwd: e2eRoot() });
    timed('clone: yarn install', () => runTool(pm.install(), { cwd: clone, env, timeoutMs: 8 * 60 * 1000 }));
    timed('clone: service build', () => nx(['run', `${service().name}:build`, '--output-style=stream'], { cwd: clone }));
    expect(existsSync(join(clone, 'dist', service().root, 'bundle/main.js'))).toBe(true);
  });
});
