import { describe, expect, it } from 'vitest';
import { normalizeServeOptions } from './normalize-options';

const project = { projectName: 'svc', projectRoot: 'apps/svc', workspaceRoot: '/ws', marker: { function: 'compressAll', main: 'src/main.ts', port: 4310 } };

describe('serve options', () => {
  it('serves the bundle on loopback at the marker port, functions run in process', () => {
    const options = normalizeServeOptions({ env: { EXTRA: '1', PORT: '1' } }, project);
    expect(options).toMatchObject({ functionName: 'compressAll', port: 4310, baseUrl: 'http://127.0.0.1:4310', mainJs: '/ws/dist/apps/svc/bundle/main.js' });
    // The contract variables win over user env.
    expect(options.env).toEqual({ EXTRA: '1', HOST: '127.0.0.1', PORT: '4310', TURBOLIFT_MODE: 'local', TURBOLIFT_DRAIN_MS: '1000' });
  });

  it('lets the option override the marker port, and refuses a bad one', () => {
    expect(normalizeServeOptions({ port: 5000 }, project).baseUrl).toBe('http://127.0.0.1:5000');
    expect(() => normalizeServeOptions({ port: 70000 }, project)).toThrow('serve options of svc: port must be a whole number from 1 to 65535, got 70000');
  });

  it('refuses a project without turbolift.json', () => {
    expect(() => normalizeServeOptions({}, { ...project, marker: undefined })).toThrow('serve options of svc: apps/svc/turbolift.json is missing: serve runs lifted services only');
  });
});
