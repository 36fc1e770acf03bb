// `npm run bench:lift`: how long `nx g turbolift:lift <fn>` takes on a workspace of ~500 TypeScript files.
//   1. make an Nx workspace under the OS temp folder, in the TS-solution layout create-nx-workspace makes (npm
//      workspaces, project references, the `@bench/source` condition): 5 libraries and an app, 500 files in all,
//      one function of the app marked `/** @lift */`. Its node_modules links to this repository's packages (nx,
//      @nx/js, typescript, turbolift), so nothing is fetched;
//   2. time, over several rounds (median, after one warm-up round):
//      - `nx --version`: Nx's own start-up, the floor of any nx command;
//      - `nx g turbolift:lift <fn> --dry-run`: Nx start-up, project graph and the generator, nothing written;
//      - `nx g turbolift:lift <fn>`: the same, written to disk and formatted. The generator ends with `npm install`
//        to link the new packages; that install is npm's time, not the lift's, and would fetch the runtime, so
//        here `npm` on PATH is a no-op;
//      - the generator alone, in one Node process on Nx's file tree: module loading, then the generator call;
//   3. with --profile, write a CPU profile of the generator alone and print the functions it spends most time in.
// Options: --rounds N (default 5), --files N (default 500), --profile, --keep (leave the workspace).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const nxBin = join(repo, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const rounds = option('--rounds', 5);
const totalFiles = option('--files', 500);
const profile = args.includes('--profile');
const keep = args.includes('--keep');

const SCOPE = '@bench';
const FUNCTION = 'scoreBasket';
const LIBRARIES = ['core', 'geometry', 'text', 'money', 'inventory'];
const APP = 'shop';
const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', CI: 'true', NO_COLOR: '1' };

// ---- 1. the workspace ----

const json = (value) => JSON.stringify(value, null, 2) + '\n';

function write(root, files) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** One module of a project: a few types and functions, importing the module before it and the project below it. */
function moduleSource(project, index, dependency) {
  const previous = index > 0 ? `import { step${index - 1} } from './mod-${index - 1}.js';\n` : '';
  const fromDependency = dependency ? `import { step0 as ${dependency}Step } from '${SCOPE}/${dependency}';\n` : '';
  const base = index > 0 ? `step${index - 1}(x)` : dependency ? `${dependency}Step(x)` : 'x';
  return `${previous}${fromDependency}
export interface Record${index} {
  id: number;
  name: string;
  tags: readonly string[];
  weight?: number;
}

/** ${project}: step ${index} of the chain. */
export function step${index}(x: number): number {
  return ${base} + ${index};
}

export function describe${index}(record: Record${index}): string {
  const tags = record.tags.length > 0 ? \` [\${record.tags.join(', ')}]\` : '';
  return \`\${record.id}: \${record.name}\${tags}\`;
}

export function heaviest${index}(records: Record${index}[]): Record${index} | undefined {
  return records.reduce<Record${index} | undefined>((best, r) => ((r.weight ?? 0) > (best?.weight ?? -1) ? r : best), undefined);
}

export const label${index} = (text: string): string => text.trim().toUpperCase() + '-${index}';
`;
}

function packageFiles(name, dependencies, moduleCount) {
  const root = `packages/${name}`;
  const modules = Array.from({ length: moduleCount }, (_, i) => i);
  const files = {
    [`${root}/package.json`]: json({
      name: `${SCOPE}/${name}`,
      version: '0.0.1',
      private: true,
      type: 'module',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: {
        './package.json': './package.json',
        '.': { [`${SCOPE}/source`]: './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' },
      },
      dependencies: Object.fromEntries(dependencies.map((dep) => [`${SCOPE}/${dep}`, '*'])),
    }),
    [`${root}/tsconfig.json`]: json({ extends: '../../tsconfig.base.json', files: [], include: [], references: [{ path: './tsconfig.lib.json' }] }),
    [`${root}/tsconfig.lib.json`]: json({
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo', emitDeclarationOnly: false, types: ['node'] },
      include: ['src/**/*.ts'],
      references: dependencies.map((dep) => ({ path: `../${dep}/tsconfig.lib.json` })),
    }),
    [`${root}/src/index.ts`]: modules.map((i) => `export * from './lib/mod-${i}.js';\n`).join(''),
  };
  for (const i of modules) files[`${root}/src/lib/mod-${i}.ts`] = moduleSource(name, i, i === 0 ? dependencies[0] : undefined);
  return files;
}

/** The app: the marked function (using a library and a file of its own), and an async caller the lift makes await. */
function appFiles(moduleCount) {
  const files = packageFiles(APP, ['money', 'core'], moduleCount);
  files[`packages/${APP}/src/lib/discounts.ts`] = `export function discountFor(total: number): number {
  return total > 100 ? 0.1 : 0;
}
`;
  files[`packages/${APP}/src/lib/pricing.ts`] = `import { step3 } from '${SCOPE}/money';
import { discountFor } from './discounts.js';

/** @lift */
export function ${FUNCTION}(prices: number[]): number {
  const total = prices.reduce((sum, price) => sum + price, 0);
  return Math.round(total * (1 - discountFor(total)) * 100) / 100 + step3(0);
}
`;
  files[`packages/${APP}/src/lib/checkout.ts`] = `import { ${FUNCTION} } from './pricing.js';

export async function checkout(prices: number[]): Promise<string> {
  const total = ${FUNCTION}(prices);
  return \`total: \${total}\`;
}
`;
  files[`packages/${APP}/src/index.ts`] += "export * from './lib/pricing.js';\nexport * from './lib/checkout.js';\n";
  return files;
}

function makeWorkspace() {
  const ws = mkdtempSync(join(tmpdir(), 'turbolift-bench-lift-'));
  const projects = [...LIBRARIES, APP];
  // index.ts, discounts/pricing/checkout: the rest are modules, spread evenly.
  const perProject = Math.max(1, Math.floor((totalFiles - projects.length - 3) / projects.length));
  const files = {
    'package.json': json({ name: `${SCOPE}/source`, version: '0.0.0', private: true, type: 'module', workspaces: ['packages/*'] }),
    'nx.json': json({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      namedInputs: { default: ['{projectRoot}/**/*', 'sharedGlobals'], production: ['default'], sharedGlobals: [] },
      plugins: [
        {
          plugin: '@nx/js/typescript',
          options: { typecheck: { targetName: 'typecheck' }, build: { targetName: 'build', configName: 'tsconfig.lib.json', buildDepsName: 'build-deps' } },
        },
      ],
    }),
    'tsconfig.base.json': json({
      compilerOptions: {
        composite: true,
        declarationMap: true,
        emitDeclarationOnly: true,
        importHelpers: true,
        isolatedModules: true,
        lib: ['es2022'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        noEmitOnError: true,
        noImplicitReturns: true,
        skipLibCheck: true,
        strict: true,
        target: 'es2022',
        customConditions: [`${SCOPE}/source`],
      },
    }),
    'tsconfig.json': json({ extends: './tsconfig.base.json', compileOnSave: false, files: [], references: projects.map((p) => ({ path: `./packages/${p}` })) }),
    '.gitignore': 'node_modules\ndist\n.nx\n',
    '.prettierrc': json({ singleQuote: true }),
  };
  LIBRARIES.forEach((name, i) => Object.assign(files, packageFiles(name, i === 0 ? [] : [LIBRARIES[i - 1]], perProject)));
  Object.assign(files, appFiles(perProject));
  write(ws, files);

  // node_modules: this repository's installed packages, and the workspace's own packages as npm workspaces link them.
  const modules = join(ws, 'node_modules');
  mkdirSync(join(modules, SCOPE), { recursive: true });
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry !== SCOPE) symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
  }
  for (const project of projects) symlinkSync(join('..', '..', 'packages', project), join(modules, SCOPE, project));
  const noopNpm = join(ws, '.bench-bin');
  mkdirSync(noopNpm);
  writeFileSync(join(noopNpm, 'npm'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(noopNpm, 'npm'), 0o755);

  git(ws, ['init', '-q']);
  git(ws, ['add', '-A']);
  git(ws, ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-q', '-m', 'bench workspace']);
  const count = Object.keys(files).filter((f) => f.endsWith('.ts')).length;
  return { ws, count, noopNpm };
}

function git(cwd, gitArgs) {
  const result = spawnSync('git', gitArgs, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${gitArgs.join(' ')}: ${result.stderr}`);
}

/** Back to the committed workspace: what a lift wrote is undone. */
function reset(ws) {
  git(ws, ['reset', '-q', '--hard']);
  git(ws, ['clean', '-qfd', '-e', 'node_modules', '-e', '.bench-bin']);
}

// ---- 2. timings ----

function timed(command, commandArgs, cwd, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${commandArgs.join(' ')} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  return { ms, stdout: result.stdout };
}

/** The generator alone: a Node process that loads it, runs it on Nx's file tree, and prints both times. */
const GENERATOR_ALONE = `
const started = process.hrtime.bigint();
const { FsTree } = require(require.resolve('nx/src/generators/tree', { paths: [process.cwd()] }));
const generator = require(${JSON.stringify(join(repo, 'packages/turbolift/dist/generators/lift/generator'))}).default;
const loaded = process.hrtime.bigint();
const tree = new FsTree(process.cwd(), false);
generator(tree, { fn: ${JSON.stringify(FUNCTION)} }).then(() => {
  const done = process.hrtime.bigint();
  const changes = tree.listChanges().length;
  console.log(JSON.stringify({ loadMs: Number(loaded - started) / 1e6, generateMs: Number(done - loaded) / 1e6, changes }));
});
`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

function measure(ws, noopNpm) {
  const node = process.execPath;
  const lift = ['g', 'turbolift:lift', FUNCTION, '--no-interactive'];
  const samples = { version: [], dryRun: [], lift: [], load: [], generate: [] };
  for (let round = 0; round <= rounds; round++) {
    const record = round > 0; // round 0 warms the OS file cache and Nx's workspace data
    const version = timed(node, [nxBin, '--version'], ws);
    reset(ws);
    const dryRun = timed(node, [nxBin, ...lift, '--dry-run'], ws);
    if (!/CREATE .*turbolift\.json/.test(dryRun.stdout)) throw new Error(`the dry run did not lift ${FUNCTION}:\n${dryRun.stdout}`);
    reset(ws);
    const written = timed(node, [nxBin, ...lift], ws, { PATH: `${noopNpm}:${process.env.PATH}` });
    reset(ws);
    const alone = JSON.parse(timed(node, ['-e', GENERATOR_ALONE], ws).stdout.trim().split('\n').pop());
    if (alone.changes === 0) throw new Error('the generator alone changed nothing');
    if (!record) continue;
    samples.version.push(version.ms);
    samples.dryRun.push(dryRun.ms);
    samples.lift.push(written.ms);
    samples.load.push(alone.loadMs);
    samples.generate.push(alone.generateMs);
    console.log(
      `round ${round}: nx --version ${fmt(version.ms)}, --dry-run ${fmt(dryRun.ms)}, lift ${fmt(written.ms)}, ` +
        `generator alone ${fmt(alone.generateMs)} (+${fmt(alone.loadMs)} loading)`,
    );
  }
  return Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, median(values)]));
}

// ---- 3. profile ----

function profileGenerator(ws) {
  reset(ws);
  const dir = join(ws, '.bench-profile');
  timed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '-e', GENERATOR_ALONE], ws);
  const file = join(
    dir,
    readdirSync(dir).find((f) => f.endsWith('.cpuprofile')),
  );
  const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nameOf = (id) => {
    const frame = byId.get(id).callFrame;
    return `${frame.functionName || '(anonymous)'} ${frame.url
      .replace(/^file:\/\//, '')
      .replace(/.*node_modules\//, '')
      .replace(repo + '/', '')}:${frame.lineNumber + 1}`;
  };
  const self = new Map();
  const inclusive = new Map();
  samples.forEach((id, i) => {
    const ms = (timeDeltas[i] ?? 0) / 1000;
    self.set(nameOf(id), (self.get(nameOf(id)) ?? 0) + ms);
    // Each frame once per sample, however deep the recursion.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parentOf.get(at)) seen.add(nameOf(at));
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
  });
  const top = (entries, n) => [...entries].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log(`\nCPU profile of the generator alone: ${file}`);
  console.log("the generator's own functions, by total time (callees included):");
  for (const [name, ms] of top(
    [...inclusive].filter(([name]) => name.includes('turbolift/dist/')),
    15,
  ))
    console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
  console.log('self time by function:');
  for (const [name, ms] of top(self, 12)) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
}

// ---- main ----

const { ws, count, noopNpm } = makeWorkspace();
try {
  const nxVersion = JSON.parse(readFileSync(join(repo, 'node_modules/nx/package.json'), 'utf8')).version;
  console.log(`workspace: ${ws}: ${count} TypeScript files in ${LIBRARIES.length + 1} projects (TS-solution layout), nx ${nxVersion}, node ${process.version}`);
  console.log(`lifting ${FUNCTION} (packages/${APP}/src/lib/pricing.ts), ${rounds} rounds after a warm-up, NX_DAEMON=false`);
  // A shared machine's load changes every timing here: it is printed with them.
  console.log(
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the start`,
  );
  const result = measure(ws, noopNpm);
  console.log(`\nmedian of ${rounds} rounds:`);
  console.log(`  nx --version                           ${fmt(result.version)}`);
  console.log(`  nx g turbolift:lift ${FUNCTION} --dry-run  ${fmt(result.dryRun)}`);
  console.log(`  nx g turbolift:lift ${FUNCTION}            ${fmt(result.lift)}  (goal < 2 s; the final npm install not included)`);
  console.log(`  generator alone                        ${fmt(result.generate)}  (+ ${fmt(result.load)} loading nx's tree and the generator)`);
  console.log(`  dry run minus nx --version             ${fmt(result.dryRun - result.version)}`);
  console.log(JSON.stringify({ files: count, rounds, ...Object.fromEntries(Object.entries(result).map(([k, v]) => [`${k}Ms`, Math.round(v)])) }));
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
  );
  if (profile) profileGenerator(ws);
} finally {
  if (keep) console.log(`kept ${ws}`);
  else rmSync(ws, { recursive: true, force: true });
}
