/**
 * build-image against the real Docker engine and the real loopback registry that tools/test-infra/up.sh
 * starts (it is idempotent: when they already answer, it only reports where they are). If they cannot be
 * started, beforeAll fails with up.sh's reason: nothing here is skipped.
 *
 * The test base image is node plus its libraries: no shell, no npm. The bundles here therefore have no
 * external npm packages (a Dockerfile with `RUN npm install` cannot build on it).
 */
import type { ExecutorContext } from '@nx/devkit';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTestInfra, type TestInfra } from '../../../../../tools/test-infra/infra.cjs';
import type { ImageRecord } from '../../service/image-record';
import { recordConsistency } from '../../docker/record-check';
import buildImageExecutor from './executor';
import type { BuildImageExecutorOptions } from './schema';
import { freePort } from '../../../../../tools/test-support/free-port';

const BUILD_TIMEOUT = 180_000;
let infra: TestInfra;
let workspace: string;
const services: string[] = [];

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const imageIdOf = (rec: ImageRecord) => docker('image', 'inspect', '--format', '{{.Id}}', `${rec.image}:${rec.tag}`);

function serviceMain(greeting: string): string {
  return `const http = require('node:http');
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ greeting: ${JSON.stringify(greeting)}, user: process.getuid(), env: process.env.NODE_ENV }));
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
}

/** A service project with a bundle, as the build target would leave it. */
function makeService(greeting = 'hello', withBundle = true): { name: string; root: string } {
  const name = `tl-test-${process.pid}-${services.length}-${Math.random().toString(36).slice(2, 7)}`;
  services.push(name);
  const root = `apps/lifted/${name}`;
  mkdirSync(join(workspace, root), { recursive: true });
  if (withBundle) writeBundle(root, greeting);
  return { name, root };
}

function writeBundle(root: string, greeting: string): void {
  const dir = join(workspace, 'dist', root, 'bundle');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.js'), serviceMain(greeting));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'svc', private: true, main: 'main.js', dependencies: {} }));
}

function contextFor(service: { name: string; root: string }): ExecutorContext {
  return {
    root: workspace,
    cwd: workspace,
    isVerbose: false,
    projectName: service.name,
    projectsConfigurations: { version: 2, projects: { [service.name]: { root: service.root } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as ExecutorContext;
}

/** Runs the executor and returns its result with what it printed. */
async function run(service: { name: string; root: string }, options: BuildImageExecutorOptions) {
  const out: string[] = [];
  const errors: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
  try {
    const result = await buildImageExecutor({ baseImage: infra.baseImage, ...options }, contextFor(service));
    return { ...result, out: out.join('\n'), errors };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function record(service: { root: string }): ImageRecord {
  return JSON.parse(readFileSync(join(workspace, 'dist', service.root, 'image.json'), 'utf8')) as ImageRecord;
}

async function manifest(repository: string, tag: string): Promise<{ status: number; digest?: string }> {
  const path = repository.slice(infra.registry.length + 1);
  const response = await request(`http://${infra.registry}/v2/${path}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    headersTimeout: 5000,
  });
  await response.body.dump();
  return { status: response.statusCode, digest: response.headers['docker-content-digest'] as string | undefined };
}

beforeAll(() => {
  infra = ensureTestInfra();
  workspace = mkdtempSync(join(tmpdir(), 'tl-build-image-'));
}, 15 * 60_000);

afterAll(() => {
  for (const service of services) {
    const ids = docker('images', '-q', '--filter', `label=dev.turbolift.service=${service}`).split('\n').filter(Boolean);
    if (ids.length) docker('rmi', '-f', ...new Set(ids));
  }
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe('build-image with a real engine and registry', () => {
  it(
    'builds, pushes and records an image that runs the service as a non-root user',
    async () => {
      const service = makeService('hello from the image');
      const result = await run(service, { registry: infra.registry });
      expect(result.errors).toEqual([]);
      expect(result.success).toBe(true);

      const rec = record(service);
      expect(rec).toMatchObject({ service: service.name, image: `${infra.registry}/${service.name}`, pushed: true, baseImage: infra.baseImage });
      expect(rec.tag).toMatch(/^[0-9a-f]{12}$/);
      expect(rec.tags).toEqual([rec.tag]);
      expect(rec.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(docker('image', 'inspect', '--format', '{{index .Config.Labels "dev.turbolift.content-hash"}}', `${rec.image}:${rec.tag}`)).toBe(rec.tag);
      expect(await manifest(rec.image, rec.tag)).toEqual({ status: 200, digest: rec.digest });

      // Measured, not asserted: what the image adds on top of its base for a trivial function.
      console.info(
        `[measure] image ${rec.size} B, base ${rec.baseImageSize} B, added ${rec.size - (rec.baseImageSize ?? 0)} B for a ${
          serviceMain('hello from the image').length
        } B main.js`,
      );

      const port = await freePort();
      const container = docker('run', '-d', '--rm', '--network', 'host', '-e', `PORT=${port}`, `${rec.image}:${rec.tag}`);
      try {
        let body: unknown;
        for (let attempt = 0; attempt < 60 && body === undefined; attempt++) {
          try {
            const response = await request(`http://127.0.0.1:${port}/`, { headersTimeout: 2000, bodyTimeout: 2000 });
            body = await response.body.json();
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
        expect(body).toEqual({ greeting: 'hello from the image', user: 1000, env: 'production' });
      } finally {
        docker('rm', '-f', container);
      }
    },
    BUILD_TIMEOUT,
  );

  it(
    'gives the same tag for the same bundle and a new tag when the bundle changes',
    async () => {
      const service = makeService('one');
      expect((await run(service, {})).success).toBe(true);
      const first = record(service);

      const again = await run(service, {});
      expect(again.success).toBe(true);
      expect(again.out).toContain(`image ${first.image}:${first.tag} is up to date (verified in the engine)`);
      expect(again.out).not.toContain('building');
      expect(record(service)).toEqual(first);

      writeBundle(service.root, 'two');
      expect((await run(service, {})).success).toBe(true);
      const second = record(service);
      expect(second.tag).not.toBe(first.tag);
      expect(imageIdOf(second)).not.toBe(imageIdOf(first));
    },
    BUILD_TIMEOUT,
  );

  it(
    'does not trust a record whose image is gone from the engine: it rebuilds',
    async () => {
      const service = makeService();
      expect((await run(service, {})).success).toBe(true);
      const before = record(service);
      docker('rmi', '-f', `${before.image}:${before.tag}`);

      const result = await run(service, {});
      expect(result.success).toBe(true);
      expect(result.out).toContain(`image ${before.image}:${before.tag} is gone from the engine, rebuilding`);
      expect(imageIdOf(record(service))).toMatch(/^sha256:/);
    },
    BUILD_TIMEOUT,
  );

  it(
    'reports a record whose image is gone as inconsistent, so the Nx hash of build-image changes',
    async () => {
      const service = makeService();
      const recordFile = join(workspace, 'dist', service.root, 'image.json');
      expect(await recordConsistency(recordFile)).toBe('consistent');
      expect((await run(service, {})).success).toBe(true);
      expect(await recordConsistency(recordFile)).toBe('consistent');
      const built = record(service);
      docker('rmi', '-f', `${built.image}:${built.tag}`);
      const gone = `image ${built.image}:${built.tag} is gone from the engine, rebuilding`;
      const firstCheck = await recordConsistency(recordFile);
      expect(firstCheck).toMatch(new RegExp(`^${gone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(checked `));
      // A second check of the same stale record hashes differently, so no earlier cache entry can match it.
      expect(await recordConsistency(recordFile)).not.toBe(firstCheck);
    },
    BUILD_TIMEOUT,
  );

  it(
    'does not trust a record whose image is gone from the registry: it pushes again',
    async () => {
      const service = makeService();
      expect((await run(service, { registry: infra.registry, tags: ['latest'] })).success).toBe(true);
      const before = record(service);
      expect(before.tags).toEqual([before.tag, 'latest']);
      expect((await manifest(before.image, 'latest')).status).toBe(200);

      const path = before.image.slice(infra.registry.length + 1);
      const deleted = await request(`http://${infra.registry}/v2/${path}/manifests/${before.digest}`, { method: 'DELETE', headersTimeout: 5000 });
      await deleted.body.dump();
      expect(deleted.statusCode).toBe(202);
      expect((await manifest(before.image, before.tag)).status).toBe(404);

      const result = await run(service, { registry: infra.registry, tags: ['latest'] });
      expect(result.success).toBe(true);
      expect(result.out).toContain(`image ${before.image}@${before.digest} is gone from the registry ${infra.registry}, rebuilding`);
      expect((await manifest(before.image, before.tag)).status).toBe(200);
    },
    BUILD_TIMEOUT,
  );

  it(
    'keeps only the newest images of a service, never the one just built',
    async () => {
      const service = makeService('v0');
      const ids: string[] = [];
      for (let version = 0; version < 4; version++) {
        writeBundle(service.root, `v${version}`);
        expect((await run(service, { keep: 2 })).success).toBe(true);
        ids.push(imageIdOf(record(service)));
      }
      const remaining = docker('images', '-q', '--no-trunc', '--filter', `label=dev.turbolift.service=${service.name}`).split('\n').filter(Boolean);
      expect(new Set(remaining)).toEqual(new Set([ids[3], ids[2]]));
    },
    BUILD_TIMEOUT,
  );

  it(
    'uses a Dockerfile in the project root instead of the rendered one',
    async () => {
      const service = makeService('custom');
      writeFileSync(
        join(workspace, service.root, 'Dockerfile'),
        `FROM ${infra.baseImage}\nWORKDIR /srv\nCOPY bundle/ ./\nENV GREETING_SOURCE=custom\nCMD ["node","main.js"]\n`,
      );
      const result = await run(service, {});
      expect(result.success).toBe(true);
      expect(result.out).toContain(`from ${service.root}/Dockerfile`);
      const rec = record(service);
      expect(docker('image', 'inspect', '--format', '{{.Config.WorkingDir}}', `${rec.image}:${rec.tag}`)).toBe('/srv');
    },
    BUILD_TIMEOUT,
  );
});

describe('build-image failures: one line, non-zero', () => {
  it(
    'names the failing step of a broken Dockerfile override and the engine message',
    async () => {
      const service = makeService();
      writeFileSync(join(workspace, service.root, 'Dockerfile'), `FROM ${infra.baseImage}\nCOPY no-such-file /app/\n`);
      const result = await run(service, {});
      expect(result.success).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).not.toContain('\n');
      // The engine counts the label steps it appends, so the total is not asserted.
      expect(result.errors[0]).toMatch(new RegExp(`\\(Dockerfile ${service.root}/Dockerfile\\) at Step 2/\\d+ : COPY no-such-file /app/: COPY failed`));
      expect(result.errors[0]).toContain('no-such-file');
      expect(existsSync(join(workspace, 'dist', service.root, 'image.json'))).toBe(false);
    },
    BUILD_TIMEOUT,
  );

  it(
    'reports a Dockerfile the engine cannot parse',
    async () => {
      const service = makeService();
      writeFileSync(join(workspace, service.root, 'Dockerfile'), `FROM ${infra.baseImage}\nCOPPY bundle/ ./\n`);
      const result = await run(service, {});
      expect(result.success).toBe(false);
      expect(result.errors).toEqual([
        `build-image: image build failed (Dockerfile ${service.root}/Dockerfile): dockerfile parse error line 2: unknown instruction: COPPY`,
      ]);
    },
    BUILD_TIMEOUT,
  );

  it(
    'names an unreachable registry',
    async () => {
      const service = makeService();
      const registry = `127.0.0.1:${await freePort()}`;
      const result = await run(service, { registry });
      expect(result.success).toBe(false);
      expect(result.errors).toEqual([`build-image: registry ${registry} is unreachable (ECONNREFUSED): start it or fix the "registry" option`]);
    },
    BUILD_TIMEOUT,
  );

  it('says where it looked for the engine when none answers', async () => {
    const service = makeService();
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///nonexistent.sock';
    try {
      const result = await run(service, {});
      expect(result.success).toBe(false);
      expect(result.errors).toEqual(['build-image: no Docker engine at unix:///nonexistent.sock (ENOENT): start dockerd or set DOCKER_HOST']);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('tells to run the build target when the bundle is missing', async () => {
    const service = makeService('x', false);
    const result = await run(service, {});
    expect(result.success).toBe(false);
    expect(result.errors).toEqual([`build-image: bundle dist/${service.root}/bundle/main.js is missing: run "nx run ${service.name}:build" first`]);
  });
});

/**
 * A second real registry, on its own loopback port, that wants a user name and password (htpasswd, the
 * distribution server's basic auth). The hash is bcrypt (cost 4) of the password below.
 */
describe('build-image pushing to a registry that wants credentials', () => {
  const user = 'turbolift';
  const password = 's3cret-test';
  const htpasswd = `${user}:$2b$04$NZb7APw03YfazPzQJUCawO9O4sETV1q2.WItFeTSQJ2GLSG9mFreC\n`;
  let registry: string;
  let registryProcess: ChildProcess | undefined;
  let dir: string;
  const savedEnv = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, PATH: process.env.PATH };

  function useDockerConfig(config: object): string {
    const configDir = mkdtempSync(join(dir, 'docker-config-'));
    writeFileSync(join(configDir, 'config.json'), JSON.stringify(config));
    process.env.DOCKER_CONFIG = configDir;
    return configDir;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tl-auth-registry-'));
    registry = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'htpasswd'), htpasswd);
    writeFileSync(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log:\n  level: warn',
        `storage:\n  filesystem:\n    rootdirectory: ${dir}/data`,
        `http:\n  addr: ${registry}`,
        `auth:\n  htpasswd:\n    realm: turbolift-test\n    path: ${dir}/htpasswd`,
        '',
      ].join('\n'),
    );
    registryProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    registryProcess.stderr?.on('data', (chunk) => (stderr += chunk));
    for (let attempt = 0; attempt < 80; attempt++) {
      try {
        const response = await request(`http://${registry}/v2/`, { headersTimeout: 1000 });
        await response.body.dump();
        if (response.statusCode === 401) return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error(`docker-registry with htpasswd auth did not answer on ${registry}: ${stderr}`);
  }, 60_000);

  afterAll(async () => {
    process.env.DOCKER_CONFIG = savedEnv.DOCKER_CONFIG;
    if (savedEnv.DOCKER_CONFIG === undefined) delete process.env.DOCKER_CONFIG;
    process.env.PATH = savedEnv.PATH;
    if (registryProcess?.pid && registryProcess.exitCode === null) {
      const exited = new Promise((resolve) => registryProcess!.once('exit', resolve));
      process.kill(registryProcess.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'says which registry refused the push, and which credentials it used',
    async () => {
      const configDir = useDockerConfig({});
      const service = makeService();
      const result = await run(service, { registry });
      expect(result.success).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(new RegExp(`^build-image: registry ${registry} refused the push of ${registry}/${service.name}:[0-9a-f]{12}: `));
      console.info(`[example] ${result.errors[0]}`);
      expect(result.errors[0]).toContain(`(credentials: none for ${registry} in ${configDir}/config.json; run docker login ${registry})`);
    },
    BUILD_TIMEOUT,
  );

  it(
    'pushes with the credentials docker login stored, and verifies a cache hit with them',
    async () => {
      useDockerConfig({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });
      const service = makeService();
      const first = await run(service, { registry });
      expect(first.errors).toEqual([]);
      expect(first.success).toBe(true);
      const rec = record(service);
      expect(rec.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

      const again = await run(service, { registry });
      expect(again.success).toBe(true);
      expect(again.out).toContain(`image ${rec.image}:${rec.tag} is up to date (verified in the engine and the registry)`);
    },
    BUILD_TIMEOUT,
  );

  it(
    'asks the credential helper named in the Docker config',
    async () => {
      const bin = mkdtempSync(join(dir, 'bin-'));
      const helper = join(bin, 'docker-credential-turbolift-test');
      writeFileSync(
        helper,
        [
          '#!/bin/sh',
          'read -r server',
          `[ "$1" = get ] && [ "$server" = "${registry}" ] && printf '{"ServerURL":"%s","Username":"${user}","Secret":"${password}"}' "$server" && exit 0`,
          'echo "credentials not found in native keychain" >&2; exit 1',
          '',
        ].join('\n'),
      );
      chmodSync(helper, 0o755);
      process.env.PATH = `${bin}:${savedEnv.PATH}`;
      useDockerConfig({ credHelpers: { [registry]: 'turbolift-test' } });
      const service = makeService();
      const result = await run(service, { registry });
      expect(result.errors).toEqual([]);
      expect(result.success).toBe(true);
      expect(record(service).pushed).toBe(true);
    },
    BUILD_TIMEOUT,
  );
});
