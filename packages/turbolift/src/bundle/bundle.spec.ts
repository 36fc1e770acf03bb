import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needsInstalledCopy, packageNameOf } from './packages';
import { conditionsFromTsconfig, planBundle, prunedManifest } from './plan';
import { bundleService } from './run-bundle';

describe('bundle plan', () => {
  it('bundles one CommonJS file for Node 20 into the output folder, msgpackr-extract always external', () => {
    const plan = planBundle(
      { workspaceRoot: '/ws', main: 'apps/svc/src/main.ts', outputPath: 'dist/apps/svc/bundle', external: ['sharp'], sourcemap: true, minify: false },
      { tsconfig: '/ws/tsconfig.base.json', conditions: ['@ws/source'] },
    );
    expect(plan).toMatchObject({
      entry: '/ws/apps/svc/src/main.ts',
      outfile: '/ws/dist/apps/svc/bundle/main.js',
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      tsconfig: '/ws/tsconfig.base.json',
      conditions: ['@ws/source'],
      external: ['msgpackr-extract', 'sharp'],
      optional: ['msgpackr-extract'],
    });
  });

  it('lists only external packages, pinned, with optional ones left out when not installed', () => {
    const manifest = prunedManifest('svc', [
      { name: 'zeta', version: '2.0.0', optional: false },
      { name: 'alpha', version: '1.2.3', optional: false },
      { name: 'msgpackr-extract', version: undefined, optional: true },
    ]);
    expect(manifest).toEqual({
      name: 'svc',
      private: true,
      description: expect.any(String),
      main: 'main.js',
      dependencies: { alpha: '1.2.3', zeta: '2.0.0' },
    });
    expect(Object.keys(manifest.dependencies)).toEqual(['alpha', 'zeta']);
  });

  it('refuses an external package that is not installed, naming it', () => {
    expect(() => prunedManifest('svc', [{ name: 'gone', optional: false }])).toThrow('gone is left out of the bundle of svc but is not installed in this workspace');
  });

  it('knows package names and native packages', () => {
    expect(packageNameOf('@scope/name/sub/path')).toBe('@scope/name');
    expect(packageNameOf('name/sub')).toBe('name');
    expect(packageNameOf('./local')).toBeUndefined();
    expect(packageNameOf('node:fs')).toBeUndefined();
    expect(packageNameOf('fs')).toBeUndefined();
    expect(needsInstalledCopy({ gypfile: true }, false)).toBe(true);
    expect(needsInstalledCopy({}, true)).toBe(true);
    expect(needsInstalledCopy({ binary: { module_name: 'x' } }, false)).toBe(true);
    expect(needsInstalledCopy({ name: 'plain' }, false)).toBe(false);
    expect(conditionsFromTsconfig({ compilerOptions: { customConditions: ['@acme/source', 3] } })).toEqual(['@acme/source']);
  });
});

describe('bundleService with esbuild', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function workspace(files: Record<string, string>): string {
    root = mkdtempSync(join(tmpdir(), 'turbolift-bundle-'));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return root;
  }

  const runBundle = (file: string) => execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim();

  it('resolves a workspace library through tsconfig paths from source', async () => {
    const ws = workspace({
      'tsconfig.base.json': '{\n  // comments are allowed here\n  "compilerOptions": { "baseUrl": ".", "paths": { "@paths/greet": ["libs/greet/src/index.ts"] } }\n}\n',
      'libs/greet/src/index.ts': 'export const greet = (name: string): string => `hello ${name}`;\n',
      'apps/svc/src/main.ts': "import { greet } from '@paths/greet';\nconsole.log(greet('paths'));\n",
    });
    const result = await bundleService(
      { workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/apps/svc/bundle', external: [], sourcemap: true, minify: false },
      'svc',
    );
    expect(runBundle(result.outfile)).toBe('hello paths');
    expect(result.inputs).toContain('libs/greet/src/index.ts');
    expect(readFileSync(join(ws, 'dist/apps/svc/bundle/main.js.map'), 'utf8')).toContain('greet');
    expect(JSON.parse(readFileSync(join(ws, 'dist/apps/svc/bundle/package.json'), 'utf8')).dependencies).toEqual({});
  });

  it('resolves a TS-solution library through its source export condition, not its unbuilt dist', async () => {
    const ws = workspace({
      'tsconfig.base.json': JSON.stringify({ compilerOptions: { customConditions: ['@sol/source'] } }),
      'packages/greet/package.json': JSON.stringify({
        name: '@sol/greet',
        type: 'module',
        exports: { '.': { '@sol/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
      }),
      'packages/greet/src/index.ts': "export { greet } from './greet.js';\n",
      'packages/greet/src/greet.ts': 'export const greet = (name: string): string => `hi ${name}`;\n',
      'apps/svc/src/main.ts': "import { greet } from '@sol/greet';\nconsole.log(greet('solution'));\n",
    });
    mkdirSync(join(ws, 'node_modules/@sol'), { recursive: true });
    symlinkSync(join(ws, 'packages/greet'), join(ws, 'node_modules/@sol/greet'));
    const result = await bundleService(
      { workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: false },
      'svc',
    );
    expect(runBundle(result.outfile)).toBe('hi solution');
    expect(result.inputs).toContain('packages/greet/src/greet.ts');
  });

  it('keeps native packages out with their installed version, and tolerates a missing optional msgpackr-extract', async () => {
    const ws = workspace({
      'node_modules/addon/package.json': JSON.stringify({ name: 'addon', version: '4.5.6', main: 'index.js' }),
      'node_modules/addon/binding.gyp': '{}',
      'node_modules/addon/index.js': "module.exports = 'from the installed addon';\n",
      'node_modules/plain/package.json': JSON.stringify({ name: 'plain', version: '1.0.0', main: 'index.js' }),
      'node_modules/plain/index.js': "module.exports = 'plain';\n",
      'apps/svc/src/main.ts': [
        "import addon from 'addon';",
        "import plain from 'plain';",
        'let accelerated = false;',
        "try { require('msgpackr-extract'); accelerated = true; } catch { accelerated = false; }",
        'console.log([addon, plain, accelerated].join(","));',
        '',
      ].join('\n'),
    });
    const result = await bundleService(
      { workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: false },
      'svc',
    );
    // The bundle still finds the addon in the workspace's node_modules; in an image, npm installs it beside main.js.
    expect(runBundle(result.outfile)).toBe('from the installed addon,plain,false');
    expect(result.inputs).toContain('node_modules/plain/index.js');
    expect(result.inputs).not.toContain('node_modules/addon/index.js');
    expect(JSON.parse(readFileSync(join(ws, 'dist/svc/package.json'), 'utf8'))).toMatchObject({ private: true, dependencies: { addon: '4.5.6' } });
    expect(JSON.parse(readFileSync(join(ws, 'dist/svc/package.json'), 'utf8')).optionalDependencies).toBeUndefined();
  });

  it('names the missing entry in one line', async () => {
    const ws = workspace({ 'apps/svc/project.json': '{}' });
    await expect(
      bundleService({ workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: false }, 'svc'),
    ).rejects.toThrow('apps/svc/src/main.ts: the service entry of svc does not exist');
  });
});
