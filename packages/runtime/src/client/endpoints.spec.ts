// Endpoint discovery order: env var, then the endpoints file, then the in-cluster service name.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearEndpointsCache, constantCase, endpointEnvVar, findEndpoint, resolveEndpoint } from './endpoints';
import { isProcessAlive, registerEndpoint, unregisterEndpoint } from './endpoints-file';

const target = { service: 'compress-all-service' };

describe('endpoint discovery', () => {
  let root: string;
  let nested: string;
  let file: string;
  beforeEach(() => {
    clearEndpointsCache();
    root = mkdtempSync(join(tmpdir(), 'turbolift-endpoints-'));
    nested = join(root, 'apps', 'web', 'src');
    mkdirSync(nested, { recursive: true });
    file = join(root, '.turbolift', 'endpoints.json');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names the env var in CONSTANT_CASE', () => {
    expect(endpointEnvVar('compressAll')).toBe('TURBOLIFT_COMPRESS_ALL_URL');
    expect(constantCase('parseHTTPResponse')).toBe('PARSE_HTTP_RESPONSE');
    expect(constantCase('toUtf8String')).toBe('TO_UTF8_STRING');
    expect(constantCase('add')).toBe('ADD');
  });

  it('prefers the env var, then the file, then the cluster', () => {
    registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310');
    const cluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', TURBOLIFT_NAMESPACE: 'shop' };
    expect(findEndpoint('compressAll', target, { ...cluster, TURBOLIFT_COMPRESS_ALL_URL: 'http://127.0.0.1:9999' }, nested)).toEqual({
      url: 'http://127.0.0.1:9999',
      source: 'env',
      from: 'TURBOLIFT_COMPRESS_ALL_URL',
    });
    expect(findEndpoint('compressAll', target, cluster, nested)).toEqual({ url: 'http://127.0.0.1:4310', source: 'file', from: file });
    expect(findEndpoint('compressAll', target, cluster, root)).toMatchObject({ source: 'file' });
    expect(findEndpoint('otherFn', target, cluster, nested)).toEqual({
      url: 'http://compress-all-service.shop.svc:80',
      source: 'cluster',
      from: 'KUBERNETES_SERVICE_HOST',
    });
  });

  it('uses $TURBOLIFT_ENDPOINTS instead of searching', () => {
    const elsewhere = join(root, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify({ endpoints: { compressAll: 'http://127.0.0.1:5000' } }));
    registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310');
    expect(resolveEndpoint('compressAll', target, { TURBOLIFT_ENDPOINTS: elsewhere }, nested)).toBe('http://127.0.0.1:5000');
  });

  it('picks the namespace from the option, then TURBOLIFT_NAMESPACE, else default', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    expect(resolveEndpoint('f', { service: 's', namespace: 'team' }, { ...env, TURBOLIFT_NAMESPACE: 'shop' }, root)).toBe('http://s.team.svc:80');
    expect(resolveEndpoint('f', { service: 's' }, { ...env, TURBOLIFT_NAMESPACE: 'shop' }, root)).toBe('http://s.shop.svc:80');
    // This machine is no pod: no service account namespace file.
    expect(resolveEndpoint('f', { service: 's' }, env, root)).toBe('http://s.default.svc:80');
  });

  it('sees the file change', async () => {
    registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310');
    expect(resolveEndpoint('compressAll', target, {}, nested)).toBe('http://127.0.0.1:4310');
    registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4999');
    // The file is checked again at most every 200 ms.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(resolveEndpoint('compressAll', target, {}, nested)).toBe('http://127.0.0.1:4999');
  });

  it('unregisters an entry only while it still names the same URL', () => {
    registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310');
    expect(unregisterEndpoint(file, 'compressAll', 'http://127.0.0.1:4999')).toBe(false);
    expect(resolveEndpoint('compressAll', target, {}, nested)).toBe('http://127.0.0.1:4310');
    expect(unregisterEndpoint(file, 'compressAll', 'http://127.0.0.1:4310')).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).endpoints).toEqual({});
  });

  it('says what to set when nothing is found', () => {
    expect(() => resolveEndpoint('compressAll', target, {}, nested)).toThrow(
      new RegExp(
        'no endpoint for compressAll in distributed mode: set TURBOLIFT_COMPRESS_ALL_URL, ' +
          'or start its service \\(`nx serve compress-all-service` writes \\.turbolift/endpoints\\.json\\); no \\.turbolift/endpoints\\.json in .* or above',
      ),
    );
  });

  describe('an entry whose process is gone', () => {
    /** The pid of a real process that has exited (and been reaped): nothing runs under it. */
    const deadPid = () => {
      const { pid, status } = spawnSync(process.execPath, ['-e', '']);
      expect(status).toBe(0);
      expect(isProcessAlive(pid)).toBe(false);
      return pid;
    };
    const staleMessage = (pid: number) =>
      `no endpoint for compressAll in distributed mode: compressAll's entry in ${file} belongs to process ${pid}, which is no longer running: ` +
      'start its service (nx serve compress-all-service), or set TURBOLIFT_COMPRESS_ALL_URL';

    it('is skipped, and when nothing else resolves the error says the entry is stale', () => {
      const pid = deadPid();
      registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', undefined, pid);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ endpoints: { compressAll: 'http://127.0.0.1:4310' }, pids: { compressAll: pid } });
      expect(thrownBy(() => findEndpoint('compressAll', target, {}, nested))).toMatchObject({ code: 'TL_NO_ENDPOINT', message: staleMessage(pid) });
      // What else there is still resolves: the env var, the cluster's service name.
      expect(resolveEndpoint('compressAll', target, { TURBOLIFT_COMPRESS_ALL_URL: 'http://127.0.0.1:9999' }, nested)).toBe('http://127.0.0.1:9999');
      expect(resolveEndpoint('compressAll', target, { KUBERNETES_SERVICE_HOST: '10.0.0.1', TURBOLIFT_NAMESPACE: 'shop' }, nested)).toBe(
        'http://compress-all-service.shop.svc:80',
      );
      // The stub does not touch the file.
      expect(JSON.parse(readFileSync(file, 'utf8')).pids).toEqual({ compressAll: pid });
    });

    it('is used while its process runs, and skipped once it has exited', async () => {
      const service = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => service.once('exit', resolve));
      try {
        await new Promise((resolve, reject) => service.once('spawn', resolve).once('error', reject));
        const pid = service.pid as number;
        registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', undefined, pid);
        registerEndpoint(file, 'other', 'http://127.0.0.1:4311', undefined, process.pid);
        expect(findEndpoint('compressAll', target, {}, nested)).toEqual({ url: 'http://127.0.0.1:4310', source: 'file', from: file });
        service.kill('SIGKILL');
        await exited;
        // The stub looks again within 200 ms; the file itself has not changed.
        const deadline = Date.now() + 10_000;
        while (!thrownBy(() => findEndpoint('compressAll', target, {}, nested), false)) {
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(thrownBy(() => findEndpoint('compressAll', target, {}, nested))).toMatchObject({ message: staleMessage(pid) });
        expect(resolveEndpoint('other', target, {}, nested)).toBe('http://127.0.0.1:4311');
      } finally {
        service.kill('SIGKILL');
        await exited;
      }
    });

    it('never applies to an entry without a pid (deploy-k8s), nor to a process of another user (EPERM)', () => {
      const pid = deadPid();
      registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', undefined, pid);
      // A later register without a pid (a deploy replacing the local entry) drops the pid.
      registerEndpoint(file, 'compressAll', 'http://10.0.0.7:80', '/ws/.turbolift/tokens/compressAll');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
        endpoints: { compressAll: 'http://10.0.0.7:80' },
        tokenFiles: { compressAll: '/ws/.turbolift/tokens/compressAll' },
      });
      expect(resolveEndpoint('compressAll', target, {}, nested)).toBe('http://10.0.0.7:80');
      // Process 1 always runs; signalling it may be refused (EPERM), which still means it runs.
      expect(isProcessAlive(1)).toBe(true);
      registerEndpoint(file, 'other', 'http://127.0.0.1:4311', undefined, 1);
      expect(resolveEndpoint('other', target, {}, root)).toBe('http://127.0.0.1:4311');
    });

    it('is removed with its pid by unregister, and only while it names that pid', () => {
      registerEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', undefined, 4242);
      registerEndpoint(file, 'other', 'http://127.0.0.1:4311', undefined, 4343);
      expect(unregisterEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', 999)).toBe(false);
      expect(unregisterEndpoint(file, 'compressAll', 'http://127.0.0.1:4310', 4242)).toBe(true);
      expect(unregisterEndpoint(file, 'other')).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ endpoints: {} });
    });

    it('refuses pids that are no process ids', () => {
      mkdirSync(join(root, '.turbolift'));
      writeFileSync(file, JSON.stringify({ endpoints: { compressAll: 'http://127.0.0.1:4310' }, pids: { compressAll: 'x' } }));
      expect(() => resolveEndpoint('compressAll', target, {}, nested)).toThrow(`${file}: "pids" must be an object mapping function names to process ids`);
    });
  });

  it('names a broken endpoints file', () => {
    mkdirSync(join(root, '.turbolift'));
    writeFileSync(file, '{"endpoints": ');
    expect(() => resolveEndpoint('compressAll', target, {}, nested)).toThrow(new RegExp(`^${file}: not valid JSON`));
  });
});

describe('registerEndpoint / unregisterEndpoint', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'turbolift-endpoints-file-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('merges entries, keeps unknown keys and removes only a matching URL', () => {
    const file = join(root, '.turbolift', 'endpoints.json');
    registerEndpoint(file, 'a', 'http://127.0.0.1:1');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), note: 'kept' }));
    registerEndpoint(file, 'b', 'http://127.0.0.1:2');
    unregisterEndpoint(file, 'a', 'http://127.0.0.1:9'); // replaced meanwhile by another start: keep
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ note: 'kept', endpoints: { a: 'http://127.0.0.1:1', b: 'http://127.0.0.1:2' } });
    unregisterEndpoint(file, 'a', 'http://127.0.0.1:1');
    unregisterEndpoint(file, 'b');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ note: 'kept', endpoints: {} });
    expect(readFileSync(join(root, '.turbolift', '.gitignore'), 'utf8')).toBe('*\n');
  });
});

/** The error `run` throws; undefined when it throws none and `expectThrow` is false. */
function thrownBy(run: () => unknown, expectThrow = true): (Error & { code?: string }) | undefined {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  if (expectThrow) throw new Error('expected an error');
  return undefined;
}
