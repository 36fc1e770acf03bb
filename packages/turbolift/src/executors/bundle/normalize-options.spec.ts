import { describe, expect, it } from 'vitest';
import { bundlePackageName, normalizeBundleOptions } from './normalize-options';

const project = { name: 'svc', root: 'apps/lifted/svc', workspaceRoot: '/ws' };

describe('bundle options', () => {
  it('defaults to the marker main and dist/<root>/bundle, source maps on, minify off', () => {
    expect(normalizeBundleOptions({}, { ...project, marker: { function: 'f', main: 'src/server.ts', port: 1 } })).toEqual({
      workspaceRoot: '/ws',
      main: 'apps/lifted/svc/src/server.ts',
      outputPath: 'dist/apps/lifted/svc/bundle',
      external: [],
      sourcemap: true,
      minify: false,
    });
    expect(normalizeBundleOptions({}, project).main).toBe('apps/lifted/svc/src/main.ts');
  });

  it('refuses a path where a package name belongs', () => {
    expect(() => normalizeBundleOptions({ external: ['./native.node'] }, project)).toThrow(
      'bundle options of svc: "external" must list package names, got "./native.node"',
    );
  });

  it('turns project names into npm package names', () => {
    expect(bundlePackageName('@acme/compress-all-service')).toBe('@acme/compress-all-service');
    expect(bundlePackageName('Compress All')).toBe('compress-all');
    expect(bundlePackageName('apps/x')).toBe('apps-x');
  });
});
