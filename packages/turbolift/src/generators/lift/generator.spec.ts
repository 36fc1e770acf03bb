import { addProjectConfiguration, readJson, readNxJson, updateJson, writeJson, logger, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import * as ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { liftGenerator } from './generator';
import { createWorkspaceProgram, listSourceFiles, workspaceProjects } from './workspace-program';

/** The runtime's public types as ARCHITECTURE.md fixes them: what generated code is compiled against here. */
const RUNTIME_TYPES = `
export interface LiftedStubOptions { service: string; namespace?: string; idempotent?: boolean; timeoutMs?: number; retries?: number }
export declare function liftedStub<A extends unknown[], R>(name: string, impl: (...args: A) => R, options: LiftedStubOptions): (...args: A) => Promise<Awaited<R>>;
export declare function serve<A extends unknown[], R>(fn: (...args: A) => R, options: { name: string }): Promise<void>;
`;

type Layout = 'paths' | 'ts-solution';

/** A workspace in one of the two layouts with an app `calc` and a library `shared-math` it imports. */
function workspace(layout: Layout): { tree: Tree; scope: string; calc: string; calcSrc: string } {
  const tree = createTreeWithEmptyWorkspace();
  writeJson(tree, 'node_modules/@turbolift/runtime/package.json', { name: '@turbolift/runtime', version: '0.1.0', types: './index.d.ts' });
  tree.write('node_modules/@turbolift/runtime/index.d.ts', RUNTIME_TYPES);
  writeJson(tree, 'node_modules/left-pad/package.json', { name: 'left-pad', version: '1.3.0', types: './index.d.ts' });
  tree.write('node_modules/left-pad/index.d.ts', 'export default function leftPad(s: string, n: number): string;\n');
  if (layout === 'ts-solution') {
    updateJson(tree, 'package.json', (j) => ({ ...j, name: '@acme/source', workspaces: ['packages/*'], dependencies: { 'left-pad': '^1.3.0' } }));
    writeJson(tree, 'tsconfig.base.json', {
      compilerOptions: { composite: true, declaration: true, module: 'nodenext', moduleResolution: 'nodenext', strict: true, target: 'es2022', customConditions: ['@acme/source'], noUnusedLocals: true },
    });
    writeJson(tree, 'tsconfig.json', { extends: './tsconfig.base.json', compilerOptions: {}, files: [], references: [{ path: './packages/calc' }, { path: './packages/shared-math' }] });
    updateJson(tree, 'nx.json', (j) => ({ ...j, plugins: [{ plugin: '@nx/js/typescript', options: { typecheck: { targetName: 'typecheck' } } }] }));
    for (const name of ['calc', 'shared-math']) {
      writeJson(tree, `packages/${name}/package.json`, {
        name: `@acme/${name}`,
        version: '0.0.1',
        type: 'module',
        exports: { '.': { '@acme/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
        dependencies: name === 'calc' ? { '@acme/shared-math': '*', 'left-pad': '^1.3.0' } : {},
      });
      writeJson(tree, `packages/${name}/tsconfig.json`, { extends: '../../tsconfig.base.json', files: [], include: [], references: [{ path: './tsconfig.lib.json' }] });
      writeJson(tree, `packages/${name}/tsconfig.lib.json`, { extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src/**/*.ts'] });
    }
    tree.write('packages/shared-math/src/index.ts', 'export function scale(x: number, by: number): number {\n  return x * by;\n}\n');
    return { tree, scope: '@acme', calc: '@acme/calc', calcSrc: 'packages/calc/src' };
  }
  updateJson(tree, 'package.json', (j) => ({ ...j, dependencies: { 'left-pad': '^1.3.0' } }));
  addProjectConfiguration(tree, 'calc', { root: 'apps/calc', sourceRoot: 'apps/calc/src', projectType: 'application', targets: {} });
  addProjectConfiguration(tree, 'shared-math', { root: 'libs/shared-math', sourceRoot: 'libs/shared-math/src', projectType: 'library', targets: {} });
  updateJson(tree, 'tsconfig.base.json', (j) => ({ ...j, compilerOptions: { ...j.compilerOptions, strict: true, paths: { '@proj/shared-math': ['libs/shared-math/src/index.ts'] } } }));
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
  tree.write(`${src}/stats.ts`, `/** @lift */\nexport default function spread(xs: number[]): { min: number; max: number; at: Date } {\n  return { min: Math.min(...xs), max: Math.max(...xs), at: new Date(0) };\n}\n`);
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
      `export function syncCaller(): unknown {`,
      `  return sumSquares([4]);`,
      `}`,
      ``,
    ].join('\n'),
  );
  tree.write(`${src}/index.ts`, `export * from './functions${ext}';\n`);
}

/** Type errors in the workspace's sources as the tree holds them (the generated code included). */
function typeErrors(tree: Tree): string[] {
  const program = createWorkspaceProgram(tree, listSourceFiles(tree), workspaceProjects(tree));
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

const read = (tree: Tree, path: string) => tree.read(path, 'utf-8') ?? '';

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(logger, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  vi.spyOn(logger, 'info').mockImplementation(() => undefined);
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
    console.log(lib, read(tree, `${src}/functions.ts`));
    expect(lib).toContain(`import { scale } from '${scope}/shared-math';`);
    expect(lib).toContain(`import { SCALE } from './shapes${ext}';`);
    expect(lib).toContain('function square(x: number)');
    expect(lib).toContain('const OFFSET = 1;');
    expect(lib).not.toContain('@lift');
    expect(read(tree, 'libs/lifted/sum-squares/src/lib/shapes.ts')).toContain('export const SCALE = 3;');
    expect(read(tree, 'libs/lifted/sum-squares/src/index.ts')).toBe(`export { sumSquares } from './lib/functions${ext}';\n`);
    expect(typeErrors(tree)).toEqual([]);
  });
});
