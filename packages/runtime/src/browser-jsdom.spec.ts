// @vitest-environment jsdom
//
// A jsdom test suite of an app that holds a stub. jest's jsdom environment resolves packages with the
// `browser` export condition (its customExportConditions), so it loads the browser entry; this suite
// resolves `@turbolift/runtime` with jest's own resolver and those conditions (vitest, left to itself,
// resolves it with Node's conditions), then imports that entry here, in a jsdom window without the Node
// globals jest's jsdom environment lacks, and calls the stub.
import Resolver from 'jest-resolve';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RUNTIME_PACKAGE, assertBuilt } from '../test/built-package';
import type * as Browser from './browser';

type Runtime = typeof Browser;

/** The conditions jest 30's runtime resolves a `require()` with in jest-environment-jsdom (exportConditions: ['browser']). */
const JEST_JSDOM_REQUIRE_CONDITIONS = ['require', 'node', 'default', 'browser'];
const JEST_JSDOM_IMPORT_CONDITIONS = ['import', 'module-sync', 'default', 'browser'];

/** What undici and other Node-minded modules reach for at import time, and jest's jsdom window does not have. */
const MISSING_IN_JEST_JSDOM = ['ReadableStream', 'WritableStream', 'TextDecoder', 'TextEncoder', 'Buffer', 'setImmediate'];

const resolveAsJestJsdom = (conditions: string[]) => Resolver.findNodeModule('@turbolift/runtime', { basedir: __dirname, conditions });

describe('a stub in a jsdom test environment', () => {
  let runtime: Runtime;

  beforeAll(async () => {
    assertBuilt();
    for (const name of MISSING_IN_JEST_JSDOM) vi.stubGlobal(name, undefined);
    try {
      runtime = (await import(resolveAsJestJsdom(JEST_JSDOM_REQUIRE_CONDITIONS)!)) as Runtime;
    } finally {
      vi.unstubAllGlobals();
    }
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  it('runs in a jsdom window', () => {
    expect(typeof window).toBe('object');
    expect(document.createElement('div').tagName).toBe('DIV');
  });

  it('loads the browser entry, for require and for import alike', () => {
    expect(resolveAsJestJsdom(JEST_JSDOM_REQUIRE_CONDITIONS)).toBe(join(RUNTIME_PACKAGE, 'dist/browser.js'));
    expect(resolveAsJestJsdom(JEST_JSDOM_IMPORT_CONDITIONS)).toBe(join(RUNTIME_PACKAGE, 'dist/browser.js'));
    // Node's resolution of the same name gives the Node entry, which has the server.
    expect(require.resolve('@turbolift/runtime')).toBe(join(RUNTIME_PACKAGE, 'dist/index.js'));
    expect(
      Object.keys(runtime)
        .filter((name) => name !== 'default')
        .sort(),
    ).toEqual(['RemoteError', 'TurboliftCallError', 'closeConnections', 'currentMode', 'liftedStub']);
    expect('serve' in runtime).toBe(false);
  });

  it('calls the stub locally, with map and starmap, without the globals jest-jsdom lacks', async () => {
    for (const name of MISSING_IN_JEST_JSDOM) vi.stubGlobal(name, undefined);
    const add = runtime.liftedStub('add', (a: number, b: number) => a + b, { service: 'add-service' });
    const double = runtime.liftedStub('double', async (n: number) => n * 2, { service: 'double-service' });
    expect(runtime.currentMode()).toBe('local');
    expect(await add(2, 3)).toBe(5);
    expect(await double.map([1, 2, 3], { batchSize: 2 })).toEqual([2, 4, 6]);
    expect(
      await add.starmap([
        [1, 2],
        [3, 4],
      ]),
    ).toEqual([3, 7]);
    await runtime.closeConnections();
  });

  it('rejects a distributed call with TL_DISTRIBUTED_IN_BROWSER', async () => {
    vi.stubEnv('TURBOLIFT_MODE', 'distributed');
    const add = runtime.liftedStub('add', (a: number, b: number) => a + b, { service: 'add-service' });
    const error = await add(2, 3).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(runtime.TurboliftCallError);
    expect(error).toMatchObject({ code: 'TL_DISTRIBUTED_IN_BROWSER', fnName: 'add' });
    await expect(add.map([1, 2])).rejects.toMatchObject({ code: 'TL_DISTRIBUTED_IN_BROWSER' });
  });
});
