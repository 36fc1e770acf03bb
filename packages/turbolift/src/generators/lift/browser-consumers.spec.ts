import { describe, expect, it } from 'vitest';
import { browserBuildReason, browserWarning, dependentsOf, findBrowserConsumers, type ProjectBuildFacts } from './browser-consumers';

const facts = (name: string, more: Partial<ProjectBuildFacts> = {}): ProjectBuildFacts => ({ name, executors: {}, rootFiles: [], tsconfigLibs: [], ...more });

describe('browser builds', () => {
  it('are recognised by executor, by an inference plugin with its config file, or by a tsconfig lib with dom', () => {
    expect(browserBuildReason(facts('a', { executors: { build: '@nx/vite:build' } }), [])).toBe('target build: @nx/vite:build');
    expect(browserBuildReason(facts('b', { executors: { build: '@angular-devkit/build-angular:application' } }), [])).toBe(
      'target build: @angular-devkit/build-angular:application',
    );
    expect(browserBuildReason(facts('c', { executors: { build: '@nx/rsbuild:build' } }), [])).toBe('target build: @nx/rsbuild:build');
    expect(browserBuildReason(facts('d', { rootFiles: ['rsbuild.config.ts'] }), ['@nx/rsbuild/plugin'])).toBe('rsbuild.config.ts with @nx/rsbuild/plugin');
    expect(browserBuildReason(facts('e', { tsconfigLibs: [['es2022', 'DOM']] }), [])).toBe('its tsconfig lib includes "dom"');
  });

  it('are not Node builds, a config file without its plugin, or a vitest config', () => {
    expect(browserBuildReason(facts('a', { executors: { build: '@nx/esbuild:esbuild', test: '@nx/vite:test' } }), [])).toBeUndefined();
    expect(browserBuildReason(facts('b', { rootFiles: ['vite.config.ts'] }), [])).toBeUndefined();
    expect(browserBuildReason(facts('c', { rootFiles: ['vitest.config.mts'] }), ['@nx/vite/plugin'])).toBeUndefined();
    expect(browserBuildReason(facts('d', { tsconfigLibs: [['es2022']] }), [])).toBeUndefined();
  });

  it('count when they depend on the project through other projects, not when the project depends on them', () => {
    const dependencies = new Map([
      ['web', new Set(['ui'])],
      ['ui', new Set(['shared'])],
      ['api', new Set(['shared'])],
      ['shared', new Set(['icons'])],
      ['icons', new Set<string>()],
    ]);
    expect([...dependentsOf('shared', dependencies)].sort()).toEqual(['api', 'ui', 'web']);
    const projects = [
      facts('web', { executors: { build: '@nx/webpack:webpack' } }),
      facts('ui'),
      facts('api', { executors: { build: '@nx/esbuild:esbuild' } }),
      facts('icons', { executors: { build: '@nx/vite:build' } }),
    ];
    expect(findBrowserConsumers('shared', projects, dependencies, [])).toEqual([{ name: 'web', reason: 'target build: @nx/webpack:webpack' }]);
  });

  it('give one warning naming them, local mode only, TL_DISTRIBUTED_IN_BROWSER and the bundle', () => {
    expect(browserWarning('total', 'shared', [])).toBeUndefined();
    const text = browserWarning('total', 'shared', [{ name: 'web', reason: 'target build: @nx/webpack:webpack' }]);
    expect(text).toContain('bundled for the browser by web (target build: @nx/webpack:webpack)');
    expect(text).toContain('local mode only');
    expect(text).toContain('TL_DISTRIBUTED_IN_BROWSER');
    expect(text).toContain('stays in the browser bundle');
  });
});
