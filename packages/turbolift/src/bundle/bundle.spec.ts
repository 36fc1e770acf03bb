import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needsInstalledCopy, packageNameOf } from './packages';
import { planBundle, prunedManifest, resolutionNote } from './plan';
import { chooseResolution, tsconfigCandidates } from './resolution';
import { bundleService, readWorkspaceResolution } from './run-bundle';

const RUNTIME_PACKAGE = join(__dirname, '../../../runtime');

/** Starts a bundled service on a free port, makes one call, stops it (bounded: 30 s). */
function callOnce(mainJs: string, env: Record<string, string>): Promise<{ startLine: string; body: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs], { env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => finish(new Error(`no answer within 30 s; output: ${output}`)), 30_000);
    const finish = (error?: Error, value?: { startLine: string; body: string }) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (error) reject(error);
      else resolve(value!);
    };
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => finish(new Error(`exited with ${code}; output: ${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = /^.* listening on (http:\S+).*$/m.exec(output);
      if (!line) return;
      child.stdout.removeAllListeners('data');
      fetch(`${line[1]}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' })
        .then((response) => response.text())
        .then(
          (body) => finish(undefined, { startLine: line[0], body }),
          (error: Error) => finish(error),
        );
    });
  });
}

describe('bundle plan', () => {
  it("bundles CommonJS for Node 20 into the output folder: main.js, the runtime's companions, its optional natives external", () => {
    const plan = planBundle(
      { workspaceRoot: '/ws', main: 'apps/svc/src/main.ts', outputPath: 'dist/apps/svc/bundle', external: ['sharp'], sourcemap: true, minify: false },
      { tsconfig: '/ws/tsconfig.base.json', conditions: ['@ws/source'] },
      { companions: { worker: '/ws/node_modules/piscina/dist/worker.js' }, optional: ['msgpackr-extract'] },
    );
    expect(plan).toMatchObject({
      entry: '/ws/apps/svc/src/main.ts',
      entryPoints: { main: '/ws/apps/svc/src/main.ts', worker: '/ws/node_modules/piscina/dist/worker.js' },
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
    expect(() => prunedManifest('svc', [{ name: 'gone', optional: false }])).toThrow(
      'gone is left out of the bundle of svc but is not installed in this workspace',
    );
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
  });
});

describe('workspace resolution', () => {
  it("looks at the entry's project tsconfigs first, folder by folder, then the workspace root's", () => {
    expect(tsconfigCandidates('/ws', '/ws/apps/svc/src/main.ts')).toEqual([
      '/ws/apps/svc/src/tsconfig.app.json',
      '/ws/apps/svc/src/tsconfig.lib.json',
      '/ws/apps/svc/src/tsconfig.json',
      '/ws/apps/svc/tsconfig.app.json',
      '/ws/apps/svc/tsconfig.lib.json',
      '/ws/apps/svc/tsconfig.json',
      '/ws/apps/tsconfig.app.json',
      '/ws/apps/tsconfig.lib.json',
      '/ws/apps/tsconfig.json',
      '/ws/tsconfig.base.json',
      '/ws/tsconfig.json',
    ]);
    expect(tsconfigCandidates('/ws', '/elsewhere/main.ts')).toEqual(['/ws/tsconfig.base.json', '/ws/tsconfig.json']);
  });

  it('takes the conditions from the nearest file whose chain sets them, and paths from the root tsconfig', () => {
    const resolution = chooseResolution('/ws', [
      { file: '/ws/apps/svc/tsconfig.app.json', customConditions: ['@other/source', '@other/source'] },
      { file: '/ws/tsconfig.base.json', customConditions: ['@acme/source'] },
    ]);
    expect(resolution).toEqual({ tsconfig: '/ws/tsconfig.base.json', conditions: ['@other/source'], conditionsFrom: '/ws/apps/svc/tsconfig.app.json' });
    // A file that sets no conditions leaves the decision to the next one; the root's tsconfig.json stands in for a missing base.
    expect(chooseResolution('/ws', [{ file: '/ws/apps/svc/tsconfig.json' }, { file: '/ws/tsconfig.json', customConditions: ['dev'] }])).toEqual({
      tsconfig: '/ws/tsconfig.json',
      conditions: ['dev'],
      conditionsFrom: '/ws/tsconfig.json',
    });
    // A project that sets an empty list turns the root's conditions off.
    expect(
      chooseResolution('/ws', [
        { file: '/ws/svc/tsconfig.json', customConditions: [] },
        { file: '/ws/tsconfig.base.json', customConditions: ['x'] },
      ]),
    ).toEqual({
      tsconfig: '/ws/tsconfig.base.json',
      conditions: [],
    });
    expect(chooseResolution('/ws', [])).toEqual({ conditions: [] });
  });

  it('says which conditions a failed lookup used, and where they came from', () => {
    expect(resolutionNote({ conditions: ['@acme/source'], conditionsFrom: '/ws/tsconfig.base.json', absWorkingDir: '/ws' })).toBe(
      'export conditions @acme/source (customConditions of tsconfig.base.json), then the built output',
    );
    expect(resolutionNote({ conditions: [], absWorkingDir: '/ws' })).toMatch(/^no tsconfig of the workspace sets customConditions/);
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
      'tsconfig.base.json':
        '{\n  // comments are allowed here\n  "compilerOptions": { "baseUrl": ".", "paths": { "@paths/greet": ["libs/greet/src/index.ts"] } }\n}\n',
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

  /** A TS-solution workspace whose package `@sol/greet` is linked into node_modules, its exports keyed by `sourceCondition`. */
  function solutionWorkspace(sourceCondition: string, files: Record<string, string>): string {
    const ws = workspace({
      'package.json': JSON.stringify({ name: '@acme/source', private: true, workspaces: ['packages/*'] }),
      'packages/greet/package.json': JSON.stringify({
        name: '@sol/greet',
        type: 'module',
        exports: { '.': { [sourceCondition]: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
      }),
      'packages/greet/src/index.ts': 'export const greet = (name: string): string => `from source ${name}`;\n',
      'apps/svc/src/main.ts': "import { greet } from '@sol/greet';\nconsole.log(greet('svc'));\n",
      ...files,
    });
    mkdirSync(join(ws, 'node_modules/@sol'), { recursive: true });
    symlinkSync(join(ws, 'packages/greet'), join(ws, 'node_modules/@sol/greet'));
    return ws;
  }

  const bundleSvc = (ws: string) =>
    bundleService({ workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: false }, 'svc');

  it('finds a condition unrelated to the root package name through an extends chain: an array, a relative file and a package', async () => {
    const ws = solutionWorkspace('@other/source', {
      'tsconfig.base.json':
        '{\n  // the workspace keeps its compiler settings in shared files\n  "extends": ["@org/tsconfig/base.json", "./tsconfig.conditions.json"]\n}\n',
      'tsconfig.conditions.json': JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', customConditions: ['@other/source'] },
      }),
      'node_modules/@org/tsconfig/package.json': JSON.stringify({ name: '@org/tsconfig', version: '1.0.0' }),
      'node_modules/@org/tsconfig/base.json': JSON.stringify({ compilerOptions: { strict: true, customConditions: ['@org/overridden'] } }),
      'apps/svc/tsconfig.json': JSON.stringify({ extends: '../../tsconfig.base.json', files: [], references: [{ path: './tsconfig.app.json' }] }),
      'apps/svc/tsconfig.app.json': JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src/**/*.ts'] }),
    });
    expect(readWorkspaceResolution(ws, join(ws, 'apps/svc/src/main.ts'))).toEqual({
      tsconfig: join(ws, 'tsconfig.base.json'),
      conditions: ['@other/source'],
      conditionsFrom: join(ws, 'apps/svc/tsconfig.app.json'),
    });
    expect(runBundle((await bundleSvc(ws)).outfile)).toBe('from source svc');
  });

  it('reads the root tsconfig.json when the workspace has no tsconfig.base.json', async () => {
    const ws = solutionWorkspace('dev-source', {
      'tsconfig.json': JSON.stringify({ compilerOptions: { moduleResolution: 'bundler', module: 'esnext', customConditions: ['dev-source'] } }),
    });
    expect(runBundle((await bundleSvc(ws)).outfile)).toBe('from source svc');
  });

  it("takes a library whose exports miss the workspace's condition from its built output, and says what it looked up when that is not built", async () => {
    const ws = solutionWorkspace('@acme/source', {
      'tsconfig.base.json': JSON.stringify({ compilerOptions: { moduleResolution: 'bundler', module: 'esnext', customConditions: ['@other/source'] } }),
    });
    await expect(bundleSvc(ws)).rejects.toThrow(
      /Could not resolve "@sol\/greet".*; looked up with export conditions @other\/source \(customConditions of tsconfig.base.json\), then the built output$/,
    );
    // What the build target's ^build dependency makes first.
    mkdirSync(join(ws, 'packages/greet/dist'));
    writeFileSync(join(ws, 'packages/greet/dist/index.js'), 'export const greet = (name) => `from dist ${name}`;\n');
    expect(runBundle((await bundleSvc(ws)).outfile)).toBe('from dist svc');
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

  it('carries the worker pool: a bundled service runs its function in worker threads, with no node_modules', async () => {
    const ws = workspace({
      'apps/svc/src/main.ts': [
        "import { threadId } from 'node:worker_threads';",
        "import { serve } from '@turbolift/runtime';",
        'export function whichThread(): number { return threadId; }',
        "void serve(whichThread, { name: 'whichThread' });",
        '',
      ].join('\n'),
    });
    mkdirSync(join(ws, 'node_modules/@turbolift'), { recursive: true });
    symlinkSync(RUNTIME_PACKAGE, join(ws, 'node_modules/@turbolift/runtime'));
    const result = await bundleService(
      { workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: true },
      'svc',
    );
    // What an image gets: the bundle folder alone, away from every node_modules.
    const alone = mkdtempSync(join(tmpdir(), 'turbolift-bundle-alone-'));
    try {
      cpSync(dirname(result.outfile), alone, { recursive: true });
      expect(readdirSync(alone).sort()).toEqual(['main.js', 'package.json', 'pool-task.js', 'worker.js']);
      const answer = await callOnce(join(alone, 'main.js'), { TURBOLIFT_WORKERS: '2' });
      expect(answer.startLine).toMatch(/whichThread listening on http:\/\/127\.0\.0\.1:\d+ \(2 workers;/);
      // Thread 0 is the main thread: the call ran in a worker.
      expect(answer.body).toMatch(/^[1-9]\d*$/);
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });

  it('names the missing entry in one line', async () => {
    const ws = workspace({ 'apps/svc/project.json': '{}' });
    await expect(
      bundleService({ workspaceRoot: ws, main: 'apps/svc/src/main.ts', outputPath: 'dist/svc', external: [], sourcemap: false, minify: false }, 'svc'),
    ).rejects.toThrow('apps/svc/src/main.ts: the service entry of svc does not exist');
  });
});
