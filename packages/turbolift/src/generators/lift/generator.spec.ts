import { addProjectConfiguration, readJson, readNxJson, updateJson, writeJson, logger, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import * as ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { liftGenerator } from './generator';
import { createWorkspaceProgram, listSourceFiles, workspaceProjects } from './workspace-program';

/** The runtime's public types as ARCHITECTURE.md fixes them: what generated code is compiled against here. */
// The shape of @turbolift/runtime's public types that generated code relies on (client/stub.ts, client/map.ts).
const RUNTIME_TYPES = `
export interface LiftedStubOptions { service: string; namespace?: string; idempotent?: boolean; timeoutMs?: number; retries?: number }
export interface MapOptions { concurrency?: number; batchSize?: number; ordered?: boolean; returnErrors?: boolean }
export interface MapRun<T> extends PromiseLike<T[]>, AsyncIterable<T> {}
type Inputs<T> = Iterable<T> | AsyncIterable<T>;
export interface LiftedFunction<A extends unknown[], R> {
  (...args: A): Promise<Awaited<R>>;
  map(inputs: Inputs<A[0]>, options?: MapOptions & { returnErrors?: false }): MapRun<Awaited<R>>;
  map(inputs: Inputs<A[0]>, options: MapOptions & { returnErrors: true }): MapRun<Awaited<R> | Error>;
  starmap(inputs: Inputs<A>, options?: MapOptions & { returnErrors?: false }): MapRun<Awaited<R>>;
  starmap(inputs: Inputs<A>, options: MapOptions & { returnErrors: true }): MapRun<Awaited<R> | Error>;
}
export declare function liftedStub<A extends unknown[], R>(name: string, impl: (...args: A) => R, options: LiftedStubOptions): LiftedFunction<A, R>;
export interface ParameterSchema { name: string; schema: boolean | { [keyword: string]: any }; rest?: boolean }
export declare function serve<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: { name: string; arity?: number | { min?: number; max?: number }; parameters?: ParameterSchema[] },
): Promise<void>;
`;

type Layout = 'paths' | 'ts-solution';

/** A workspace in one of the two layouts with an app `calc` and a library `shared-math` it imports. */
function workspace(layout: Layout): { tree: Tree; scope: string; calc: string; calcSrc: string } {
  const tree = createTreeWithEmptyWorkspace();
  writeJson(tree, 'node_modules/@turbolift/runtime/package.json', { name: '@turbolift/runtime', version: '0.1.0', types: './index.d.ts' });
  tree.write('node_modules/@turbolift/runtime/index.d.ts', RUNTIME_TYPES);
  writeJson(tree, 'node_modules/left-pad/package.json', { name: 'left-pad', version: '1.3.0', type: 'module', types: './index.d.ts' });
  tree.write('node_modules/left-pad/index.d.ts', 'export default function leftPad(s: string, n: number): string;\n');
  if (layout === 'ts-solution') {
    updateJson(tree, 'package.json', (j) => ({ ...j, name: '@acme/source', workspaces: ['packages/*'], dependencies: { 'left-pad': '^1.3.0' } }));
    writeJson(tree, 'tsconfig.base.json', {
      compilerOptions: {
        composite: true,
        declaration: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        target: 'es2022',
        customConditions: ['@acme/source'],
        noUnusedLocals: true,
      },
    });
    writeJson(tree, 'tsconfig.json', {
      extends: './tsconfig.base.json',
      compilerOptions: {},
      files: [],
      references: [{ path: './packages/calc' }, { path: './packages/shared-math' }],
    });
    updateJson(tree, 'nx.json', (j) => ({ ...j, plugins: [{ plugin: '@nx/js/typescript', options: { typecheck: { targetName: 'typecheck' } } }] }));
    for (const name of ['calc', 'shared-math']) {
      writeJson(tree, `packages/${name}/package.json`, {
        name: `@acme/${name}`,
        version: '0.0.1',
        type: 'module',
        exports: { '.': { '@acme/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
        dependencies: name === 'calc' ? { '@acme/shared-math': '*', 'left-pad': '^1.3.0' } : {},
      });
      writeJson(tree, `packages/${name}/tsconfig.json`, {
        extends: '../../tsconfig.base.json',
        files: [],
        include: [],
        references: [{ path: './tsconfig.lib.json' }],
      });
      writeJson(tree, `packages/${name}/tsconfig.lib.json`, {
        extends: '../../tsconfig.base.json',
        compilerOptions: { rootDir: 'src', outDir: 'dist' },
        include: ['src/**/*.ts'],
      });
    }
    tree.write('packages/shared-math/src/index.ts', 'export function scale(x: number, by: number): number {\n  return x * by;\n}\n');
    return { tree, scope: '@acme', calc: '@acme/calc', calcSrc: 'packages/calc/src' };
  }
  updateJson(tree, 'package.json', (j) => ({ ...j, dependencies: { 'left-pad': '^1.3.0' } }));
  addProjectConfiguration(tree, 'calc', { root: 'apps/calc', sourceRoot: 'apps/calc/src', projectType: 'application', targets: {} });
  addProjectConfiguration(tree, 'shared-math', { root: 'libs/shared-math', sourceRoot: 'libs/shared-math/src', projectType: 'library', targets: {} });
  updateJson(tree, 'tsconfig.base.json', (j) => ({
    ...j,
    compilerOptions: { ...j.compilerOptions, strict: true, paths: { '@proj/shared-math': ['libs/shared-math/src/index.ts'] } },
  }));
  tree.write('libs/shared-math/src/index.ts', 'export function scale(x: number, by: number): number {\n  return x * by;\n}\n');
  return { tree, scope: '@proj', calc: 'calc', calcSrc: 'apps/calc/src' };
}

/** The example sources, with imports spelled the way each layout spells them. */
function writeCalc(tree: Tree, layout: Layout, src: string): void {
  const ext = layout === 'ts-solution' ? '.js' : '';
  const lib = layout === 'ts-solution' ? '@acme/shared-math' : '@proj/shared-math';
  tree.write(`${src}/shapes.ts`, 'export interface Summary {\n  count: number;\n  mean: number;\n}\n\nexport const SCALE = 3;\n');
  tree.write(
    `${src}/functions.ts`,
    [
      `import leftPad from 'left-pad';`,
      `import { scale } from '${lib}';`,
      `import { SCALE, type Summary } from './shapes${ext}';`,
      ``,
      `const OFFSET = 1;`,
      ``,
      `function square(x: number): number {`,
      `  return x * x + OFFSET - 1;`,
      `}`,
      ``,
      `/** Sum of scaled squares. */`,
      `/** @lift */`,
      `export function sumSquares(xs: number[]): number {`,
      `  return xs.reduce((acc, x) => acc + scale(square(x), SCALE), 0);`,
      `}`,
      ``,
      `/** @lift */`,
      `export const pad = (s: string, n: number): string => leftPad(s, n);`,
      ``,
      `/** @lift */`,
      `export async function histogram(values: number[]): Promise<Map<number, number>> {`,
      `  const counts = new Map<number, number>();`,
      `  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);`,
      `  return counts;`,
      `}`,
      ``,
      `/** @lift */`,
      `export function firstOf<T>(items: T[]): T | undefined {`,
      `  return items[0];`,
      `}`,
      ``,
      `/** @lift */`,
      `export function summarize(xs: number[]): Summary {`,
      `  return { count: xs.length, mean: xs.reduce((a, b) => a + b, 0) / xs.length };`,
      `}`,
      ``,
      `export function squareTwice(x: number): number {`,
      `  return square(square(x));`,
      `}`,
      ``,
    ].join('\n'),
  );
  tree.write(
    `${src}/stats.ts`,
    `/** @lift */\nexport default function spread(xs: number[]): { min: number; max: number; at: Date } {\n` +
      `  return { min: Math.min(...xs), max: Math.max(...xs), at: new Date(0) };\n}\n`,
  );
  tree.write(
    `${src}/main.ts`,
    [
      `import { sumSquares, firstOf } from './functions${ext}';`,
      `import spread from './stats${ext}';`,
      ``,
      `export async function main(): Promise<number> {`,
      `  const total = sumSquares([1, 2, 3]);`,
      `  const first = firstOf(['a']);`,
      `  const s = spread([1, 2]).min;`,
      `  return total + s + (first?.length ?? 0);`,
      `}`,
      ``,
    ].join('\n'),
  );
  tree.write(`${src}/index.ts`, `export * from './functions${ext}';\n`);
}

/** Type errors in the workspace's sources as the tree holds them (the generated code included). */
function typeErrors(tree: Tree): string[] {
  // the TS-solution layout compiles with nodenext: relative imports need their extensions, packages are ESM
  const nodeNext = tree.exists('tsconfig.json') && tree.exists('packages/calc/package.json');
  const overrides = nodeNext ? { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext } : {};
  const program = createWorkspaceProgram(tree, listSourceFiles(tree), workspaceProjects(tree), overrides);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

const read = (tree: Tree, path: string) => tree.read(path, 'utf-8') ?? '';

let warnings: string[];
let infos: string[];
beforeEach(() => {
  warnings = [];
  infos = [];
  vi.spyOn(logger, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  vi.spyOn(logger, 'info').mockImplementation((message: unknown) => void infos.push(String(message)));
});
afterEach(() => vi.restoreAllMocks());

describe.each<Layout>(['paths', 'ts-solution'])('turbolift:lift in the %s layout', (layout) => {
  let tree: Tree;
  let scope: string;
  let calc: string;
  let src: string;
  beforeEach(() => {
    ({ tree, scope, calc, calcSrc: src } = workspace(layout));
    writeCalc(tree, layout, src);
  });

  it('starts from sources without type errors', () => {
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts a function declaration with its helpers, constants and types, keeping npm and workspace imports', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const ext = layout === 'ts-solution' ? '.js' : '';
    const lib = read(tree, 'libs/lifted/sum-squares/src/lib/functions.ts');
    expect(lib).toContain(`import { scale } from '${scope}/shared-math';`);
    expect(lib).toContain(`import { SCALE } from './shapes${ext}';`);
    expect(lib).toContain('function square(x: number)');
    expect(lib).toContain('const OFFSET = 1;');
    expect(lib).not.toContain('leftPad');
    expect(lib).not.toContain('@lift');
    expect(read(tree, 'libs/lifted/sum-squares/src/lib/shapes.ts')).toContain('export const SCALE = 3;');
    expect(read(tree, 'libs/lifted/sum-squares/src/index.ts')).toBe(`export { sumSquares } from './lib/functions${ext}';\n`);

    const original = read(tree, `${src}/functions.ts`);
    expect(original).toContain(`import { liftedStub } from '@turbolift/runtime';`);
    expect(original).toContain(`import { sumSquares as sumSquaresImpl } from '${scope}/lifted-sum-squares';`);
    expect(original).toContain(`const sumSquaresCall = liftedStub('sumSquares', sumSquaresImpl, { service: 'sum-squares-service' });`);
    expect(original).toContain('/** Sum of scaled squares. */\nexport function sumSquares(xs: number[]): Promise<number> {\n  return sumSquaresCall(xs);\n}');
    expect(original).toContain('sumSquares.map = sumSquaresCall.map;\nsumSquares.starmap = sumSquaresCall.starmap;');
    // The stub's fan-out is typed from the function's own signature.
    tree.write(
      `${src}/fan-out.ts`,
      [
        `import { sumSquares } from './functions${ext}';`,
        'export const all: PromiseLike<number[]> = sumSquares.map([[1, 2], [3]], { concurrency: 4 });',
        'export const some: PromiseLike<Array<number | Error>> = sumSquares.starmap([[[1]]], { returnErrors: true });',
        '',
      ].join('\n'),
    );
    // still used by squareTwice, so it stays; the imports only sumSquares used go
    expect(original).toContain('function square(x: number)');
    expect(original).not.toContain('shared-math');
    expect(original).not.toContain('SCALE');
    expect(typeErrors(tree)).toEqual([]);
  });

  it('removes from the app the helpers only the function used, and says which ones stay and what still uses them', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const shapes = read(tree, `${src}/shapes.ts`);
    expect(shapes).not.toContain('SCALE');
    expect(shapes).toContain('export interface Summary'); // summarize still returns it
    expect(infos).toContain(`kept square in ${src}/functions.ts: still used by ${src}/functions.ts:38`);
    expect(infos).toContain(`kept OFFSET in ${src}/functions.ts: still used by ${src}/functions.ts:8`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('keeps an exported helper another file still imports, and names that use', async () => {
    const ext = layout === 'ts-solution' ? '.js' : '';
    tree.write(`${src}/report.ts`, `import { SCALE } from './shapes${ext}';\nexport const label = \`x\${SCALE}\`;\n`);
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(read(tree, `${src}/shapes.ts`)).toContain('export const SCALE = 3;');
    expect(infos).toContain(`kept SCALE in ${src}/shapes.ts: still used by ${src}/report.ts:2`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts an exported const arrow function and keeps its npm import as an import', async () => {
    await liftGenerator(tree, { fn: 'pad', skipFormat: true });
    expect(read(tree, 'libs/lifted/pad/src/lib/functions.ts')).toContain(
      `import leftPad from 'left-pad';\n\nexport const pad = (s: string, n: number): string => leftPad(s, n);`,
    );
    const original = read(tree, `${src}/functions.ts`);
    expect(original).toContain('export function pad(s: string, n: number): Promise<string> {\n  return padCall(s, n);\n}');
    expect(original).not.toContain('left-pad');
    if (layout === 'ts-solution') {
      expect(readJson(tree, 'libs/lifted/pad/package.json').dependencies).toMatchObject({ 'left-pad': '^1.3.0' });
    }
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts an async function without wrapping its Promise twice', async () => {
    await liftGenerator(tree, { fn: 'histogram', skipFormat: true });
    expect(read(tree, `${src}/functions.ts`)).toContain(
      'export function histogram(values: number[]): Promise<Map<number, number>> {\n  return histogramCall(values);\n}',
    );
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts a generic function, keeping its type parameters on the stub', async () => {
    await liftGenerator(tree, { fn: 'firstOf', skipFormat: true });
    expect(read(tree, `${src}/functions.ts`)).toContain(
      'export function firstOf<T>(items: T[]): Promise<T | undefined> {\n  return firstOfCall(items) as Promise<T | undefined>;\n}',
    );
    expect(read(tree, `${src}/main.ts`)).toContain(`const first = await firstOf(['a']);`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts a default export: the stub stays the default export and calls get awaited', async () => {
    await liftGenerator(tree, { fn: 'spread', skipFormat: true });
    const ext = layout === 'ts-solution' ? '.js' : '';
    expect(read(tree, `${src}/stats.ts`)).toContain('export default function spread(xs: number[]): Promise<{ min: number; max: number; at: Date }> {');
    expect(read(tree, 'libs/lifted/spread/src/index.ts')).toBe(`export { default as spread } from './lib/stats${ext}';\n`);
    expect(read(tree, `${src}/main.ts`)).toContain('const s = (await spread([1, 2])).min;');
    expect(typeErrors(tree)).toEqual([]);
  });

  it('copies a type used by the result into the library and keeps it for the stub', async () => {
    await liftGenerator(tree, { fn: 'summarize', skipFormat: true });
    expect(read(tree, 'libs/lifted/summarize/src/lib/shapes.ts')).toContain('export interface Summary');
    expect(read(tree, 'libs/lifted/summarize/src/lib/functions.ts')).toMatch(/import \{ type Summary \} from '\.\/shapes(\.js)?';/);
    expect(read(tree, `${src}/functions.ts`)).toContain('export function summarize(xs: number[]): Promise<Summary> {');
    expect(typeErrors(tree)).toEqual([]);
  });

  it('refuses when a use cannot await, listing each with path:line:column and why, touching nothing', async () => {
    const ext = layout === 'ts-solution' ? '.js' : '';
    tree.write(
      `${src}/sync.ts`,
      [
        `import { sumSquares } from './functions${ext}';`,
        `export function syncCaller(): unknown {`,
        `  return sumSquares([4]);`,
        `}`,
        `export const all = [[1], [2]].map(sumSquares);`,
        ``,
      ].join('\n'),
    );
    const before = snapshot(tree);
    const error = await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error?.code).toBe('TL_SYNC_CALLERS');
    expect(error?.message).toMatch(/^cannot lift sumSquares \(TL_SYNC_CALLERS\): /);
    expect(error?.message).toContain(`${src}/sync.ts:3:10 in synchronous function syncCaller`);
    expect(error?.message).toContain(`${src}/sync.ts:5:35 used as a value: passed to map`);
    expect(error?.message).toContain('--allowSyncCallers');
    expect(snapshot(tree)).toEqual(before);
    expect(workspaceProjects(tree).some((p) => p.root.startsWith('libs/lifted'))).toBe(false);
  });

  it('with --allowSyncCallers awaits calls in async code and lists the others as a warning', async () => {
    const ext = layout === 'ts-solution' ? '.js' : '';
    tree.write(`${src}/sync.ts`, `import { sumSquares } from './functions${ext}';\nexport function syncCaller(): unknown {\n  return sumSquares([4]);\n}\n`);
    await liftGenerator(tree, { fn: 'sumSquares', allowSyncCallers: true, skipFormat: true });
    expect(read(tree, `${src}/main.ts`)).toContain('const total = await sumSquares([1, 2, 3]);');
    expect(read(tree, `${src}/sync.ts`)).toContain('return sumSquares([4]);');
    expect(warnings.join('\n')).toContain(`${src}/sync.ts:3:10 in synchronous function syncCaller`);
  });

  /** `scale` of shared-math marked for lifting, after sumSquares (which calls it) went into its own library. */
  async function liftSumSquaresThenMarkScale(): Promise<string> {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const sharedMath = layout === 'ts-solution' ? 'packages/shared-math' : 'libs/shared-math';
    tree.write(`${sharedMath}/src/index.ts`, '/** @lift */\nexport function scale(x: number, by: number): number {\n  return x * by;\n}\n');
    return 'libs/lifted/sum-squares/src/lib/functions.ts';
  }

  it('refuses when an already-lifted library calls the function synchronously, naming the library and its service', async () => {
    const lifted = await liftSumSquaresThenMarkScale();
    const column =
      read(tree, lifted)
        .split('\n')
        .find((l) => l.includes('scale(square'))
        ?.indexOf('scale(square') ?? -1;
    const line =
      read(tree, lifted)
        .split('\n')
        .findIndex((l) => l.includes('scale(square')) + 1;
    const before = snapshot(tree);
    await expect(liftGenerator(tree, { fn: 'scale', skipFormat: true })).rejects.toThrow(
      `${lifted}:${line}:${column + 1} in synchronous function (callback passed to reduce) ` +
        `(in lifted library ${layout === 'ts-solution' ? '@acme/lifted-sum-squares' : 'lifted-sum-squares'}, served by apps/lifted/sum-squares-service)`,
    );
    expect(snapshot(tree)).toEqual(before);
  });

  it.runIf(layout === 'ts-solution')('finds the call when the called package lists its built declarations first and they are on disk', async () => {
    const lifted = await liftSumSquaresThenMarkScale();
    updateJson(tree, 'packages/shared-math/package.json', (j) => ({
      ...j,
      exports: { '.': { types: './dist/index.d.ts', '@acme/source': './src/index.ts', default: './dist/index.js' } },
    }));
    tree.write('packages/shared-math/dist/index.d.ts', 'export declare function scale(x: number, by: number): number;\n');
    await expect(liftGenerator(tree, { fn: 'scale', skipFormat: true })).rejects.toThrow(new RegExp(`${lifted}:\\d+:\\d+ in synchronous function`));
  });

  it('awaits the call of an already-lifted library that calls the function in async code', async () => {
    const lifted = await liftSumSquaresThenMarkScale();
    const ext = layout === 'ts-solution' ? '.js' : '';
    tree.write(
      lifted,
      [
        `import { scale } from '${scope}/shared-math';`,
        `import { SCALE } from './shapes${ext}';`,
        ``,
        `export async function sumSquares(xs: number[]): Promise<number> {`,
        `  let acc = 0;`,
        `  for (const x of xs) acc += scale(x * x, SCALE);`,
        `  return acc;`,
        `}`,
        ``,
      ].join('\n'),
    );
    await liftGenerator(tree, { fn: 'scale', skipFormat: true });
    expect(read(tree, lifted)).toContain('for (const x of xs) acc += await scale(x * x, SCALE);');
    expect(typeErrors(tree)).toEqual([]);
  });

  it('creates the service project and the tagged library', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const service = 'apps/lifted/sum-squares-service';
    expect(read(tree, `${service}/src/main.ts`)).toBe(
      `import { serve } from '@turbolift/runtime';\n` +
        `import { sumSquares } from '${scope}/lifted-sum-squares';\n\n` +
        `// Both derived by the lift from the signature, once: when the signature changes, update them (or lift again).\n` +
        `// arity: the arguments the signature takes; a call with fewer or more is answered 400 TL_ARGUMENT_COUNT.\n` +
        `// parameters: a JSON Schema for each argument, from its declared type; a call whose arguments do not match is\n` +
        `// answered 400 TL_BAD_ARGUMENTS. \`{}\` accepts anything (any, unknown, functions and the like).\n` +
        `void serve(sumSquares, {\n` +
        `  name: 'sumSquares',\n` +
        `  arity: { min: 1, max: 1 },\n` +
        `  parameters: [{ name: 'xs', schema: { type: 'array', items: { type: 'number' } } }],\n` +
        `});\n`,
    );
    expect(readJson(tree, `${service}/turbolift.json`)).toEqual({
      function: 'sumSquares',
      library: `${scope}/lifted-sum-squares`,
      main: 'src/main.ts',
      port: 4310,
    });
    const projects = workspaceProjects(tree);
    const serviceProject = projects.find((p) => p.root === service);
    const libraryProject = projects.find((p) => p.root === 'libs/lifted/sum-squares');
    expect(serviceProject?.config.tags).toContain('turbolift:service');
    expect(libraryProject?.config.tags).toContain('turbolift:lifted');
    expect(libraryProject?.name).toBe(layout === 'ts-solution' ? '@acme/lifted-sum-squares' : 'lifted-sum-squares');
    expect(readJson(tree, 'package.json').dependencies['@turbolift/runtime']).toBe('0.1.0');
    if (layout === 'ts-solution') {
      expect(readJson(tree, 'package.json').workspaces).toEqual(expect.arrayContaining(['libs/lifted/*', 'apps/lifted/*']));
      expect(readJson(tree, 'tsconfig.json').references).toEqual(
        expect.arrayContaining([{ path: './apps/lifted/sum-squares-service' }, { path: './libs/lifted/sum-squares' }]),
      );
      expect(readJson(tree, `${service}/package.json`).dependencies).toEqual({ '@turbolift/runtime': '0.1.0', '@acme/lifted-sum-squares': '*' });
      expect(readJson(tree, 'packages/calc/package.json').dependencies).toMatchObject({ '@acme/lifted-sum-squares': '*', '@turbolift/runtime': '0.1.0' });
      expect(readJson(tree, 'libs/lifted/sum-squares/package.json').dependencies).toMatchObject({ '@acme/shared-math': '*' });
      expect(readJson(tree, 'libs/lifted/sum-squares/package.json').exports['.']['@acme/source']).toBe('./src/index.ts');
    } else {
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths['@proj/lifted-sum-squares']).toEqual(['./libs/lifted/sum-squares/src/index.ts']);
    }
    expect(typeErrors(tree)).toEqual([]);
  });

  it('lifts every marked function of a project with --all, on distinct ports', async () => {
    await liftGenerator(tree, { all: true, project: calc, skipFormat: true });
    const ports = workspaceProjects(tree)
      .filter((p) => tree.exists(`${p.root}/turbolift.json`))
      .map((p) => readJson(tree, `${p.root}/turbolift.json`).port)
      .sort();
    expect(ports).toEqual([4310, 4311, 4312, 4313, 4314, 4315]);
    const functions = read(tree, `${src}/functions.ts`);
    expect(functions).not.toContain('@lift');
    // one block of stub handles after the imports, in the order the functions were lifted
    expect(functions).toMatch(/\nconst sumSquaresCall = [^\n]+\nconst padCall = [^\n]+\nconst histogramCall = /);
    expect(typeErrors(tree)).toEqual([]);
  });
});

describe('turbolift:lift in a pnpm workspace', () => {
  it('links the new packages with workspace:* and lists both new folders in pnpm-workspace.yaml', async () => {
    const { tree, calcSrc } = workspace('ts-solution');
    writeCalc(tree, 'ts-solution', calcSrc);
    updateJson(tree, 'package.json', (j) => ({ ...j, workspaces: undefined }));
    tree.write('pnpm-workspace.yaml', "packages:\n  - 'packages/*'\n\nonlyBuiltDependencies:\n  - esbuild\n");
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(readJson(tree, 'packages/calc/package.json').dependencies['@acme/lifted-sum-squares']).toBe('workspace:*');
    expect(readJson(tree, 'apps/lifted/sum-squares-service/package.json').dependencies['@acme/lifted-sum-squares']).toBe('workspace:*');
    const yaml = tree.read('pnpm-workspace.yaml', 'utf-8') ?? '';
    expect(yaml).toContain("  - 'apps/lifted/*'\n");
    expect(yaml).toMatch(/libs\/lifted\/\*/);
    expect(yaml).toContain('onlyBuiltDependencies:\n  - esbuild\n');
    expect(yaml.match(/apps\/lifted/g)).toHaveLength(1);
  });
});

describe('turbolift:lift in a workspace whose source condition is not named after its root package', () => {
  it("exports the library's source under the workspace's own condition, first, so a clean checkout resolves it unbuilt", async () => {
    const { tree, calcSrc } = workspace('ts-solution');
    writeCalc(tree, 'ts-solution', calcSrc);
    // @nx/js names its condition after the root package (`@acme/source` here); this workspace calls it otherwise.
    updateJson(tree, 'package.json', (j) => ({ ...j, name: 'shapes-workspace' }));
    updateJson(tree, 'tsconfig.base.json', (j) => ({ ...j, compilerOptions: { ...j.compilerOptions, customConditions: ['@other/source'] } }));
    for (const name of ['calc', 'shared-math']) {
      updateJson(tree, `packages/${name}/package.json`, (j) => ({ ...j, exports: { '.': { '@other/source': './src/index.ts', ...j.exports['.'] } } }));
    }
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const main = readJson(tree, 'libs/lifted/sum-squares/package.json').exports['.'];
    expect(Object.entries(main)[0]).toEqual(['@other/source', './src/index.ts']);
  });
});

describe('turbolift:lift package names', () => {
  const unscopedRoot = (tree: Tree) => updateJson(tree, 'package.json', (j) => ({ ...j, name: 'calc-workspace' }));

  it.each([
    { layout: 'ts-solution' as const, scope: '@acme' },
    { layout: 'paths' as const, scope: '@proj' },
  ])('takes the scope its $layout packages share when the root package has none', async ({ layout, scope }) => {
    const { tree, calcSrc } = workspace(layout);
    writeCalc(tree, layout, calcSrc);
    unscopedRoot(tree);
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const name = `${scope}/lifted-sum-squares`;
    expect(read(tree, `${calcSrc}/functions.ts`)).toContain(`import { sumSquares as sumSquaresImpl } from '${name}';`);
    expect(readJson(tree, 'apps/lifted/sum-squares-service/turbolift.json').library).toBe(name);
    expect(read(tree, 'apps/lifted/sum-squares-service/src/main.ts')).toContain(`from '${name}';`);
    if (layout === 'ts-solution') {
      expect(readJson(tree, 'libs/lifted/sum-squares/package.json').name).toBe(name);
      expect(readJson(tree, 'apps/lifted/sum-squares-service/package.json').name).toBe('@acme/sum-squares-service');
      expect(readJson(tree, 'packages/calc/package.json').dependencies).toMatchObject({ [name]: '*' });
    } else {
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths[name]).toEqual(['./libs/lifted/sum-squares/src/index.ts']);
    }
    expect(typeErrors(tree)).toEqual([]);
  });

  it('keeps the name unscoped in a workspace whose packages have no scope', async () => {
    const { tree, calcSrc } = workspace('paths');
    unscopedRoot(tree);
    updateJson(tree, 'tsconfig.base.json', (j) => ({ ...j, compilerOptions: { ...j.compilerOptions, paths: {} } }));
    tree.write(
      `${calcSrc}/cost.ts`,
      '/** @lift */\nexport function getTotalCost(prices: number[]): number {\n  return prices.reduce((a, b) => a + b, 0);\n}\n',
    );
    await liftGenerator(tree, { fn: 'getTotalCost', skipFormat: true });
    expect(read(tree, `${calcSrc}/cost.ts`)).toContain(`import { getTotalCost as getTotalCostImpl } from 'lifted-get-total-cost';`);
    expect(readJson(tree, 'apps/lifted/get-total-cost-service/turbolift.json').library).toBe('lifted-get-total-cost');
    expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths['lifted-get-total-cost']).toEqual(['./libs/lifted/get-total-cost/src/index.ts']);
    expect(typeErrors(tree)).toEqual([]);
  });
});

describe('turbolift:lift .gitignore', () => {
  const block = (line: string) => `# build output of the lifted libraries and services\n${line}\n`;

  it('appends the build output folder once, after the lines already there', async () => {
    const { tree, calcSrc } = workspace('paths');
    writeCalc(tree, 'paths', calcSrc);
    tree.write('.gitignore', 'node_modules\n# logs\n*.log');
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    await liftGenerator(tree, { fn: 'pad', skipFormat: true });
    expect(read(tree, '.gitignore')).toBe(`node_modules\n# logs\n*.log\n\n${block('/dist')}`);
  });

  it.each([
    { layout: 'paths' as const, ignores: '/dist' },
    { layout: 'paths' as const, ignores: 'dist/' },
    { layout: 'ts-solution' as const, ignores: 'dist' },
    { layout: 'ts-solution' as const, ignores: '**/dist/**' },
    // As git has it: nothing inside an excluded folder can be re-included.
    { layout: 'paths' as const, ignores: 'dist/\n!dist/apps' },
  ])('leaves a $layout .gitignore with $ignores as it is', async ({ layout, ignores }) => {
    const { tree, calcSrc } = workspace(layout);
    writeCalc(tree, layout, calcSrc);
    tree.write('.gitignore', `node_modules\n${ignores}\n`);
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(read(tree, '.gitignore')).toBe(`node_modules\n${ignores}\n`);
  });

  it('ignores the dist folders inside the projects of a TS-solution workspace that only ignores /dist', async () => {
    const { tree, calcSrc } = workspace('ts-solution');
    writeCalc(tree, 'ts-solution', calcSrc);
    tree.write('.gitignore', '/dist\n');
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(read(tree, '.gitignore')).toBe(`/dist\n\n${block('dist')}`);
  });

  it('creates a .gitignore when the workspace has none, and adds back a folder a negation un-ignores', async () => {
    const { tree, calcSrc } = workspace('paths');
    writeCalc(tree, 'paths', calcSrc);
    if (tree.exists('.gitignore')) tree.delete('.gitignore');
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(read(tree, '.gitignore')).toBe(block('/dist'));
    tree.write('.gitignore', 'dist/*\n!dist/apps\n');
    await liftGenerator(tree, { fn: 'pad', skipFormat: true });
    expect(read(tree, '.gitignore')).toBe(`dist/*\n!dist/apps\n\n${block('/dist')}`);
  });
});

/** A snapshot of every change the tree holds, to show that a refusal added none. */
function snapshot(tree: Tree): string[] {
  return tree.listChanges().map((c) => `${c.type} ${c.path} ${c.content?.toString('utf-8') ?? ''}`);
}

describe('turbolift:lift refusals', () => {
  const refused = [
    'import { createHash } from "node:crypto";',
    'let calls = 0;',
    'const cache: Record<string, number> = {};',
    'export class Calculator {',
    '  /** @lift */',
    '  add(a: number, b: number): number {', // line 6
    '    return a + b;',
    '  }',
    '}',
    '/** @lift */',
    'export function countCalls(x: number): number {', // line 11
    '  calls += 1;',
    '  return x + calls;',
    '}',
    '/** @lift */',
    'export function applyTwice(f: (x: number) => number, x: number): number {', // line 16
    '  return f(f(x));',
    '}',
    '/** @lift */',
    'export function* numbers(): Generator<number> {', // line 20
    '  yield 1;',
    '}',
    'export function outer(): number {',
    '  /** @lift */',
    '  function inner(): number {', // line 25
    '    return 1;',
    '  }',
    '  return inner();',
    '}',
    '/** @lift */',
    'export function usesThis(this: { n: number }): number {', // line 31
    '  return this.n;', // line 32: the use is what is named
    '}',
    'class Counter {',
    '  n = 0;',
    '  increment(): number {',
    '    return ++this.n;',
    '  }',
    '}',
    '/** @lift */',
    'export function makeCounter(): Counter {', // line 41
    '  return new Counter();',
    '}',
    '/** @lift */',
    'export function tag(s: symbol): string {', // line 45
    '  return String(s);',
    '}',
    '/** @lift */',
    'export function remember(key: string): number {', // line 49
    '  cache[key] = (cache[key] ?? 0) + 1;',
    '  return cache[key];',
    '}',
    '/** @lift */',
    'export function hash(s: string): string {',
    '  return createHash("sha256").update(s).digest("hex");',
    '}',
  ].join('\n');

  it.each([
    { fn: 'add', line: 6, reason: /method of class Calculator/ },
    { fn: 'countCalls', line: 11, reason: /mutable module state: `calls` \(let/ },
    { fn: 'applyTwice', line: 16, reason: /parameter `f` is a function .*cannot cross the wire/ },
    { fn: 'numbers', line: 20, reason: /generator function/ },
    { fn: 'inner', line: 25, reason: /nested function/ },
    { fn: 'usesThis', line: 32, reason: /uses `this`/ },
    { fn: 'makeCounter', line: 41, reason: /instance of class Counter, which has methods \(increment\)/ },
    { fn: 'tag', line: 45, reason: /parameter `s` is a symbol/ },
    { fn: 'remember', line: 49, reason: /mutates `cache`/ },
  ])('refuses $fn with file:line and the reason, touching nothing', async ({ fn, line, reason }) => {
    const { tree, calcSrc } = workspace('paths');
    tree.write(`${calcSrc}/refused.ts`, refused);
    const before = snapshot(tree);
    const error = await liftGenerator(tree, { fn, skipFormat: true }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('LiftError');
    expect(error?.message).toMatch(new RegExp(`^${calcSrc}/refused\\.ts:${line}:\\d+ `));
    expect(error?.message).toMatch(reason);
    expect(snapshot(tree)).toEqual(before);
  });

  it('accepts the one supported function of that file, to show the refusals are about the forms', async () => {
    const { tree, calcSrc } = workspace('paths');
    tree.write(`${calcSrc}/refused.ts`, refused);
    await liftGenerator(tree, { fn: 'hash', skipFormat: true });
    expect(read(tree, 'libs/lifted/hash/src/lib/refused.ts')).toBe(
      // The marker comment goes with the lift; the rest of the file is moved as it was.
      'import { createHash } from "node:crypto";\n\n' +
        'export function hash(s: string): string {\n  return createHash("sha256").update(s).digest("hex");\n}\n',
    );
  });
});

describe('turbolift:lift workspace handling', () => {
  let tree: Tree;
  let src: string;
  beforeEach(() => {
    ({ tree, calcSrc: src } = workspace('paths'));
    writeCalc(tree, 'paths', src);
  });

  it('refuses to lift the same function twice, touching nothing', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const before = snapshot(tree);
    await expect(liftGenerator(tree, { fn: 'sumSquares', skipFormat: true })).rejects.toThrow(
      /sumSquares is already lifted: apps\/lifted\/sum-squares-service\/turbolift\.json/,
    );
    expect(snapshot(tree)).toEqual(before);
  });

  it('recognises an earlier lift by its stub when the service marker is gone', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    tree.delete('apps/lifted/sum-squares-service');
    await expect(liftGenerator(tree, { fn: 'sumSquares', skipFormat: true })).rejects.toThrow(
      new RegExp(`sumSquares is already lifted: ${src}/functions\\.ts:\\d+ calls liftedStub\\('sumSquares'`),
    );
  });

  it('registers the plugin in nx.json once', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    await liftGenerator(tree, { fn: 'pad', skipFormat: true });
    expect(readNxJson(tree)?.plugins?.filter((p) => p === 'turbolift')).toHaveLength(1);
  });

  it('keeps an object-form plugin registration as it is', async () => {
    updateJson(tree, 'nx.json', (j) => ({ ...j, plugins: [{ plugin: 'turbolift', options: {} }] }));
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: 'turbolift', options: {} }]);
  });

  it('gives each service the first port no other service uses', async () => {
    writeJson(tree, 'apps/other/turbolift.json', { function: 'other', library: '@x/other', main: 'src/main.ts', port: 4310 });
    writeJson(tree, 'apps/third/turbolift.json', { function: 'third', library: '@x/third', main: 'src/main.ts', port: 4312 });
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    await liftGenerator(tree, { fn: 'pad', skipFormat: true });
    expect(readJson(tree, 'apps/lifted/sum-squares-service/turbolift.json').port).toBe(4311);
    expect(readJson(tree, 'apps/lifted/pad-service/turbolift.json').port).toBe(4313);
  });

  it('names every candidate with file:line when a name is ambiguous, and --project picks one', async () => {
    addProjectConfiguration(tree, 'other', { root: 'apps/other', sourceRoot: 'apps/other/src', targets: {} });
    tree.write('apps/other/src/sum.ts', '/** @lift */\nexport function sumSquares(xs: number[]): number {\n  return xs.length;\n}\n');
    await expect(liftGenerator(tree, { fn: 'sumSquares', skipFormat: true })).rejects.toThrow(
      /sumSquares is marked \/\*\* @lift \*\/ in 2 places[\s\S]*calc\/src\/functions\.ts:13 \(project calc\)[\s\S]*other\/src\/sum\.ts:2 \(project other\)/,
    );
    await liftGenerator(tree, { fn: 'sumSquares', project: 'other', skipFormat: true });
    expect(read(tree, 'libs/lifted/sum-squares/src/lib/sum.ts')).toContain('return xs.length;');
  });

  it('awaits calls in other projects and leaves calls that already handle promises alone', async () => {
    addProjectConfiguration(tree, 'web', { root: 'apps/web', sourceRoot: 'apps/web/src', targets: {} });
    updateJson(tree, 'tsconfig.base.json', (j) => ({
      ...j,
      compilerOptions: { ...j.compilerOptions, paths: { ...j.compilerOptions.paths, '@proj/calc': ['apps/calc/src/index.ts'] } },
    }));
    tree.write(
      'apps/web/src/page.ts',
      [
        `import { sumSquares } from '@proj/calc';`,
        `export async function render(): Promise<string> {`,
        `  const direct = sumSquares([1]).toFixed(1);`,
        `  const all = await Promise.all([[1], [2]].map((xs) => sumSquares(xs)));`,
        `  return direct + all.join();`,
        `}`,
      ].join('\n'),
    );
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const page = read(tree, 'apps/web/src/page.ts');
    expect(page).toContain('const direct = (await sumSquares([1])).toFixed(1);');
    expect(page).toContain('await Promise.all([[1], [2]].map((xs) => sumSquares(xs)));');
    expect(warnings.join('\n')).not.toContain('page.ts');
    expect(typeErrors(tree)).toEqual([]);
  });

  it("removes an exported helper of the function's own file that nothing else uses, and keeps one its file re-exports", async () => {
    tree.write(`${src}/tax.ts`, `export const RATE = 0.2;\n\n/** @lift */\nexport function withTax(x: number): number {\n  return x * (1 + RATE);\n}\n`);
    tree.write(`${src}/fee.ts`, `export const FEE = 2;\n\n/** @lift */\nexport function withFee(x: number): number {\n  return x + FEE;\n}\n`);
    tree.write(`${src}/fees.ts`, `export * from './fee';\n`);
    await liftGenerator(tree, { fn: 'withTax', skipFormat: true });
    await liftGenerator(tree, { fn: 'withFee', skipFormat: true });
    expect(read(tree, `${src}/tax.ts`)).not.toContain('RATE');
    expect(read(tree, `${src}/fee.ts`)).toContain('export const FEE = 2;');
    expect(infos).toContain(`kept FEE in ${src}/fee.ts: still used by ${src}/fees.ts:1`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('warns once when a project built for the browser bundles the function through another project', async () => {
    addProjectConfiguration(tree, 'ui', { root: 'libs/ui', sourceRoot: 'libs/ui/src', projectType: 'library', targets: {} });
    addProjectConfiguration(tree, 'web', { root: 'apps/web', sourceRoot: 'apps/web/src', targets: { build: { executor: '@nx/vite:build' } } });
    addProjectConfiguration(tree, 'api', { root: 'apps/api', sourceRoot: 'apps/api/src', targets: { build: { executor: '@nx/esbuild:esbuild' } } });
    updateJson(tree, 'tsconfig.base.json', (j) => ({
      ...j,
      compilerOptions: {
        ...j.compilerOptions,
        paths: { ...j.compilerOptions.paths, '@proj/calc': ['apps/calc/src/index.ts'], '@proj/ui': ['libs/ui/src/index.ts'] },
      },
    }));
    tree.write('libs/ui/src/index.ts', `export { sumSquares as total } from '@proj/calc';\n`);
    tree.write('apps/web/src/main.ts', `import { total } from '@proj/ui';\nexport const shown = async () => String(await total([1]));\n`);
    tree.write('apps/api/src/main.ts', `import { sumSquares } from '@proj/calc';\nexport const handler = async () => sumSquares([2]);\n`);
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    const browser = warnings.filter((w) => w.includes('bundled for the browser'));
    expect(browser).toEqual([expect.stringContaining('by web (target build: @nx/vite:build)')]);
    expect(browser[0]).toContain('TL_DISTRIBUTED_IN_BROWSER');
    expect(browser[0]).not.toContain('api');
  });

  it('says nothing about browsers when only Node projects use the function', async () => {
    await liftGenerator(tree, { fn: 'sumSquares', skipFormat: true });
    expect(warnings.join('\n')).not.toContain('browser');
  });

  it('moves the line comments that describe a declaration along with it', async () => {
    tree.write(
      `${src}/commented.ts`,
      `import { join } from 'node:path';\n\n// Joins two parts.\n// Pure.\n/** @lift */\n` +
        `export function joined(a: string, b: string): string {\n  return join(a, b);\n}\n`,
    );
    await liftGenerator(tree, { fn: 'joined', skipFormat: true });
    expect(read(tree, 'libs/lifted/joined/src/lib/commented.ts')).toBe(
      `import { join } from 'node:path';\n\n// Joins two parts.\n// Pure.\nexport function joined(a: string, b: string): string {\n  return join(a, b);\n}\n`,
    );
  });

  it('lifts an anonymous default export by its file name, and an unannotated async arrow', async () => {
    tree.write(
      `${src}/median-of.ts`,
      `/** @lift */\nexport default function (xs: number[]): number {\n  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];\n}\n`,
    );
    tree.write(
      `${src}/double.ts`,
      `/** @lift */\nexport const double = async (x: number) => x * 2;\n` +
        `export async function quadruple(x: number): Promise<number> {\n  return double(double(x) as unknown as number);\n}\n`,
    );
    await liftGenerator(tree, { fn: 'medianOf', skipFormat: true });
    await liftGenerator(tree, { fn: 'double', skipFormat: true });
    expect(read(tree, `${src}/median-of.ts`)).toContain('export default function medianOf(xs: number[]): Promise<number> {');
    expect(read(tree, 'libs/lifted/median-of/src/index.ts')).toBe(`export { default as medianOf } from './lib/median-of';\n`);
    expect(read(tree, `${src}/double.ts`)).toContain('export function double(x: number): Promise<Awaited<ReturnType<typeof doubleImpl>>> {');
    expect(typeErrors(tree)).toEqual([]);
  });

  it('recomputes relative imports of files outside the project, and --file picks the file', async () => {
    tree.write('tools/shared/units.ts', 'export const UNIT = 10;\n');
    tree.write(
      `${src}/deep/scaled.ts`,
      `import { UNIT } from '../../../../tools/shared/units';\n/** @lift */\nexport function scaled(x: number): number {\n  return x * UNIT;\n}\n`,
    );
    await liftGenerator(tree, { fn: 'scaled', file: 'deep/scaled.ts', skipFormat: true });
    expect(read(tree, 'libs/lifted/scaled/src/lib/deep/scaled.ts')).toContain(`import { UNIT } from '../../../../../../tools/shared/units';`);
    expect(read(tree, 'libs/lifted/scaled/src/index.ts')).toBe(`export { scaled } from './lib/deep/scaled';\n`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('follows namespace imports of project files and enums', async () => {
    tree.write(`${src}/units.ts`, `export const KM = 1000;\nexport const MILE = 1609;\nexport enum Unit {\n  Km,\n  Mile,\n}\n`);
    tree.write(
      `${src}/convert.ts`,
      `import * as units from './units';\n/** @lift */\n` +
        `export function toMeters(value: number, unit: units.Unit): number {\n  return value * (unit === units.Unit.Km ? units.KM : units.MILE);\n}\n`,
    );
    await liftGenerator(tree, { fn: 'toMeters', skipFormat: true });
    expect(read(tree, 'libs/lifted/to-meters/src/lib/convert.ts')).toContain(`import * as units from './units';`);
    const units = read(tree, 'libs/lifted/to-meters/src/lib/units.ts');
    expect(units).toContain('export const KM = 1000;');
    expect(units).toContain('export enum Unit');
    expect(read(tree, `${src}/convert.ts`)).toContain('export function toMeters(value: number, unit: units.Unit): Promise<number> {');
    expect(typeErrors(tree)).toEqual([]);
  });

  it("mirrors a library project's src/lib/ into the library's src/lib/, and files directly under src/ into it too", async () => {
    addProjectConfiguration(tree, 'store', { root: 'libs/store', sourceRoot: 'libs/store/src', projectType: 'library', targets: {} });
    tree.write('libs/store/src/config.ts', 'export const LIMIT = 10;\n');
    tree.write(
      'libs/store/src/lib/+state/selectors.ts',
      `import { LIMIT } from '../../config';\n/** @lift */\nexport function selectTop(xs: number[]): number[] {\n  return xs.slice(0, LIMIT);\n}\n`,
    );
    await liftGenerator(tree, { fn: 'selectTop', skipFormat: true });
    const lib = 'libs/lifted/select-top';
    expect(tree.exists(`${lib}/src/lib/lib`)).toBe(false);
    expect(read(tree, `${lib}/src/lib/+state/selectors.ts`)).toContain(`import { LIMIT } from '../config';`);
    expect(read(tree, `${lib}/src/lib/config.ts`)).toContain('export const LIMIT = 10;');
    expect(read(tree, `${lib}/src/index.ts`)).toBe(`export { selectTop } from './lib/+state/selectors';\n`);
    expect(typeErrors(tree)).toEqual([]);
  });

  it('says which name it could not find', async () => {
    await expect(liftGenerator(tree, { fn: 'nope', skipFormat: true })).rejects.toThrow(/no function named nope is marked/);
  });

  it('warns about side effects that move into the service', async () => {
    tree.write(
      `${src}/effects.ts`,
      [
        `import { writeFileSync } from 'node:fs';`,
        `/** @lift */`,
        `export async function save(text: string): Promise<number> {`,
        `  writeFileSync('/tmp/out.txt', text);`,
        `  process.env.LAST = text;`,
        `  const res = await fetch('http://127.0.0.1:1/x');`,
        `  console.log('saved');`,
        `  return res.status;`,
        `}`,
      ].join('\n'),
    );
    await liftGenerator(tree, { fn: 'save', skipFormat: true });
    const text = warnings.join('\n');
    expect(text).toMatch(/effects\.ts:4 save performs a file system write writeFileSync\(\)/);
    expect(text).toMatch(/effects\.ts:5 save performs a write to process\.env/);
    expect(text).toMatch(/effects\.ts:6 save performs a network call fetch\(\)/);
    expect(text).not.toMatch(/console/);
  });
});
