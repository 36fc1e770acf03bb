// A web app that holds a stub: bundled for the browser through the package's real exports (the built
// package, by its name), the bundle carries no Node built-in and no server or HTTP client, and it runs
// where there is no `process` and no `require`: local calls and maps work, distributed calls say why not.
import { realpathSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_PACKAGE, appWithRuntime, type App } from '../test/built-package';

const APP_SOURCE = `
import { currentMode, liftedStub, TurboliftCallError } from '@turbolift/runtime';

const add = liftedStub('add', (a, b) => a + b, { service: 'add-service' });
const double = liftedStub('double', async (n) => {
  if (n < 0) throw new RangeError('negative: ' + n);
  return n * 2;
}, { service: 'double-service' });

const failure = (error) => ({ name: error.name, code: error.code, message: error.message, isCallError: error instanceof TurboliftCallError });

globalThis.report = (async () => {
  const local = {
    hasProcess: typeof process !== 'undefined',
    mode: currentMode(),
    sum: await add(2, 3),
    doubled: await double.map([1, 2, 3, 4, 5], { batchSize: 2, concurrency: 2 }),
    unordered: (await double.map([1, 2, 3], { ordered: false })).sort(),
    pairs: await add.starmap([[1, 1], [2, 2]]),
    streamed: [],
    withErrors: (await double.map([1, -1], { returnErrors: true })).map((r) => (r instanceof Error ? r.message : r)),
    mapFailure: await double.map([1, -2]).then(() => 'resolved', (e) => e.message),
  };
  for await (const value of double.map((async function* () { yield 10; yield 20; })())) local.streamed.push(value);

  // A page has no process; a test environment or a shim may have one that asks for distributed mode.
  globalThis.process = { env: { TURBOLIFT_MODE: 'distributed' } };
  const distributed = {
    mode: currentMode(),
    call: await add(2, 3).then(() => 'resolved', failure),
    map: await double.map([1, 2]).then(() => 'resolved', failure),
  };
  delete globalThis.process;
  return JSON.stringify({ local, distributed });
})();
`;

describe('the browser build, bundled by esbuild for the browser', () => {
  let app: App;
  let code: string;
  let metafile: Metafile;

  beforeAll(async () => {
    app = appWithRuntime({ 'src/app.js': APP_SOURCE });
    const result = await build({
      absWorkingDir: app.dir,
      entryPoints: ['src/app.js'],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    code = result.outputFiles[0].text;
    metafile = result.metafile;
  });

  afterAll(() => app?.dispose());

  it('takes the browser entry and leaves out every Node built-in, the server and the HTTP client', () => {
    // Paths as esbuild read them: the link resolved, so the runtime's files are under packages/runtime.
    const inputs = Object.keys(metafile.inputs).map((input) => resolve(realpathSync(app.dir), input));
    const runtimeFiles = inputs.filter((input) => input.startsWith(`${RUNTIME_PACKAGE}/`)).map((input) => relative(RUNTIME_PACKAGE, input));
    // The stub's own code and the names of the service contract (server/paths.js: route constants), nothing else.
    expect(runtimeFiles.sort()).toEqual([
      'dist/browser.js',
      'dist/client/browser-stub.js',
      'dist/client/lifted.js',
      'dist/client/map.js',
      'dist/contract.js',
      'dist/errors.js',
      'dist/mode.js',
      'dist/server/paths.js',
    ]);
    // Besides the runtime's own files only the app: no third-party package at all.
    expect(inputs.filter((input) => !input.startsWith(`${RUNTIME_PACKAGE}/dist/`))).toEqual([join(realpathSync(app.dir), 'src/app.js')]);
    expect(code).not.toMatch(/\bnode:/);
    expect(code).not.toMatch(/\b(fastify|piscina|undici|msgpackr)\b/);
  });

  it('runs with no process and no require: local calls and maps give the results, distributed calls reject with TL_DISTRIBUTED_IN_BROWSER', async () => {
    // What a page has besides the language itself, and nothing of Node's.
    const context = createContext({ AbortController, AbortSignal, performance, console });
    expect(runInContext('typeof process + typeof require + typeof Buffer + typeof module', context)).toBe('undefinedundefinedundefinedundefined');
    runInContext(code, context);
    const report = JSON.parse(await (runInContext('report', context) as Promise<string>));

    expect(report.local).toEqual({
      hasProcess: false,
      mode: 'local',
      sum: 5,
      doubled: [2, 4, 6, 8, 10],
      unordered: [2, 4, 6],
      pairs: [2, 4],
      streamed: [20, 40],
      withErrors: [2, 'negative: -1'],
      mapFailure: 'negative: -2',
    });
    expect(report.distributed.mode).toBe('distributed');
    for (const [fnName, failure] of [
      ['add', report.distributed.call],
      ['double', report.distributed.map],
    ]) {
      expect(failure).toMatchObject({ name: 'TurboliftCallError', code: 'TL_DISTRIBUTED_IN_BROWSER', isCallError: true });
      expect(failure.message).toMatch(new RegExp(`^${fnName}: TURBOLIFT_MODE is "distributed", but this is the browser build`));
      expect(failure.message).toMatch(/no CORS headers, and their caller token must not be shipped to a page/);
      expect(failure.message).toMatch(/server-side code/);
    }
  });
});
