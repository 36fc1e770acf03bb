import { describe, expect, it } from 'vitest';
import { TurboliftError } from '../../errors';
import { servicePaths } from '../../service/paths';
import { normalizeServeOptions } from './normalize-options';

const project = {
  name: 'svc',
  root: 'apps/svc',
  workspaceRoot: '/ws',
  marker: { function: 'compressAll', main: 'src/main.ts', port: 4310 },
  paths: servicePaths('apps/svc'),
};

describe('serve options', () => {
  it('serves the bundle on loopback on a port chosen when it binds, functions run in process', () => {
    const options = normalizeServeOptions({ env: { EXTRA: '1', HOST: '0.0.0.0' } }, project);
    // No port: the session starts the service on PORT=0 and learns the port from it.
    expect(options).toMatchObject({ functionName: 'compressAll', host: '127.0.0.1', port: undefined, mainJs: '/ws/dist/apps/svc/bundle/main.js' });
    // The contract variables win over user env.
    expect(options.env).toEqual({
      EXTRA: '1',
      HOST: '127.0.0.1',
      TURBOLIFT_MODE: 'local',
      TURBOLIFT_DRAIN_MS: '1000',
      // Callers need the workspace's token, in its .turbolift folder.
      TURBOLIFT_TOKEN_DIR: '/ws/.turbolift',
    });
    expect(options.tokenFile).toBe('/ws/.turbolift/token');
  });

  it('hands the worker pool options to the service as its env, only those that are set', () => {
    const pool = normalizeServeOptions({ workers: 2, callTimeoutMs: 5000, maxQueue: 0, maxQueueWaitMs: 250 }, project).env;
    expect(pool).toMatchObject({ TURBOLIFT_WORKERS: '2', TURBOLIFT_CALL_TIMEOUT_MS: '5000', TURBOLIFT_MAX_QUEUE: '0', TURBOLIFT_MAX_QUEUE_WAIT_MS: '250' });
    expect(normalizeServeOptions({ workers: 0 }, project).env).toMatchObject({ TURBOLIFT_WORKERS: '0' });
    // Unset: the runtime's own defaults (one worker per CPU this machine gives the process).
    const defaults = normalizeServeOptions({}, project).env;
    expect(Object.keys(defaults).filter((name) => /WORKERS|CALL_TIMEOUT|MAX_QUEUE/.test(name))).toEqual([]);
    // The options win over the same variable in env, as the other contract variables do.
    expect(normalizeServeOptions({ workers: 1, env: { TURBOLIFT_WORKERS: '8' } }, project).env.TURBOLIFT_WORKERS).toBe('1');
  });

  it('refuses bad worker pool options, naming the option and the value', () => {
    expect(() => normalizeServeOptions({ workers: -2 }, project)).toThrow('serve options of svc: workers must be a whole number from 0 to 1024, got -2');
    expect(() => normalizeServeOptions({ callTimeoutMs: 0.5 }, project)).toThrow(
      'serve options of svc: callTimeoutMs must be a whole number from 0 to 2147483647, got 0.5',
    );
    expect(() => normalizeServeOptions({ maxQueue: -1 }, project)).toThrow(
      'serve options of svc: maxQueue must be a whole number from 0 to 9007199254740991, got -1',
    );
  });

  it('serves on the marker port with fixedPort, the option overriding it, and refuses a bad one', () => {
    expect(normalizeServeOptions({ fixedPort: true }, project)).toMatchObject({ port: 4310, portSetting: '"port" in apps/svc/turbolift.json' });
    // The inferred target passes the marker's port as its option: it is still the marker's to change.
    expect(normalizeServeOptions({ fixedPort: true, port: 4310 }, project)).toMatchObject({ port: 4310, portSetting: '"port" in apps/svc/turbolift.json' });
    expect(normalizeServeOptions({ fixedPort: true, port: 5000 }, project)).toMatchObject({ port: 5000, portSetting: 'the "port" option' });
    // Without fixedPort the port (the inferred target always passes one) is not used.
    expect(normalizeServeOptions({ port: 5000 }, project).port).toBeUndefined();
    expect(normalizeServeOptions({ port: 5000, fixedPort: false }, project).port).toBeUndefined();
    expect(() => normalizeServeOptions({ port: 70000 }, project)).toThrow('serve options of svc: port must be a whole number from 1 to 65535, got 70000');
    expect(() => normalizeServeOptions({ fixedPort: 'yes' as unknown as boolean }, project)).toThrow(
      'serve options of svc: fixedPort must be true or false, got "yes"',
    );
  });

  it('refuses options out of range as TL_BAD_OPTIONS', () => {
    expect(thrown(() => normalizeServeOptions({ port: 0 }, project))).toMatchObject({
      code: 'TL_BAD_OPTIONS',
      message: 'serve options of svc: port must be a whole number from 1 to 65535, got 0',
    });
  });

  it('runs the bundle in bundleDir when set', () => {
    expect(normalizeServeOptions({ bundleDir: 'out/svc' }, project).mainJs).toBe('/ws/out/svc/main.js');
  });

  it('refuses a project without turbolift.json', () => {
    const error = thrown(() => normalizeServeOptions({}, { ...project, marker: undefined }));
    expect(error).toMatchObject({ code: 'TL_NOT_A_SERVICE', message: 'apps/svc/turbolift.json is missing: serve runs lifted services only' });
  });
});

function thrown(run: () => unknown): TurboliftError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TurboliftError);
    return error as TurboliftError;
  }
  throw new Error('expected a TurboliftError');
}
