import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TurboliftError } from '../errors';
import { pullSecretFor, registryOfImage } from './pull-secret';

const basic = (user: string, pass: string) => Buffer.from(`${user}:${pass}`).toString('base64');

describe('registryOfImage', () => {
  it('takes the first path part when it looks like a host, else docker.io', () => {
    expect(registryOfImage('127.0.0.1:5001/team/fn-service')).toBe('127.0.0.1:5001');
    expect(registryOfImage('registry.internal/team/fn-service')).toBe('registry.internal');
    expect(registryOfImage('localhost/fn-service')).toBe('localhost');
    expect(registryOfImage('team/fn-service')).toBe('docker.io');
    expect(registryOfImage('fn-service')).toBe('docker.io');
    expect(registryOfImage('index.docker.io/team/fn-service')).toBe('docker.io');
  });
});

describe('pullSecretFor', () => {
  let dir: string;
  let file: string;
  const writeConfig = (config: object) => writeFileSync(file, JSON.stringify(config));
  const auths = (secret: { dockerConfigJson: string }) => JSON.parse(secret.dockerConfigJson).auths as Record<string, Record<string, string>>;
  const noHelper = () => {
    throw new Error('no helper expected');
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'turbolift-pull-secret-'));
    file = join(dir, 'config.json');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds the image's registry only, with user, password and their auth", () => {
    writeConfig({
      auths: { '127.0.0.1:5001': { auth: basic('ci', 'p:ss') }, 'other.internal': { auth: basic('x', 'y') } },
      credsStore: 'desktop',
      credHelpers: { 'third.internal': 'ecr-login' },
    });
    const secret = pullSecretFor('fn-service', '127.0.0.1:5001/team/fn-service', { dockerConfig: file, runHelper: noHelper });
    expect(secret.name).toBe('fn-service-pull');
    expect(JSON.parse(secret.dockerConfigJson)).toEqual({ auths: { '127.0.0.1:5001': { username: 'ci', password: 'p:ss', auth: basic('ci', 'p:ss') } } });
  });

  it('finds an entry docker login stored under a URL, and writes it under the registry host', () => {
    writeConfig({ auths: { 'https://registry.internal': { username: 'u', password: 'p' } } });
    expect(auths(pullSecretFor('svc', 'registry.internal/svc', { dockerConfig: file }))).toEqual({
      'registry.internal': { username: 'u', password: 'p', auth: basic('u', 'p') },
    });
  });

  it('refuses an identity token, which the kubelet cannot pull with, before anything is applied', () => {
    writeConfig({ auths: { 'registry.internal': { identitytoken: 'tok' } } });
    expect(() => pullSecretFor('svc', 'registry.internal/svc', { dockerConfig: file })).toThrow(
      /^createPullSecret: the credentials for registry registry\.internal \(.+\) are an identity token, which the kubelet cannot pull with; name a Secret/,
    );
  });

  it("asks the registry's credential helper, else the credential store, for that registry", () => {
    writeConfig({ credsStore: 'pass', credHelpers: { 'registry.internal': 'ecr-login' } });
    const asked: string[] = [];
    const runHelper = (helper: string, registry: string) => {
      asked.push(`${helper} ${registry}`);
      return helper === 'ecr-login' ? { Username: 'AWS', Secret: 'helper-secret' } : { Username: '<token>', Secret: 'store-token' };
    };
    expect(auths(pullSecretFor('svc', 'registry.internal/team/svc', { dockerConfig: file, runHelper }))).toEqual({
      'registry.internal': { username: 'AWS', password: 'helper-secret', auth: basic('AWS', 'helper-secret') },
    });
    expect(() => pullSecretFor('svc', 'other.internal/svc', { dockerConfig: file, runHelper })).toThrow(/identity token/);
    expect(asked).toEqual(['ecr-login registry.internal', 'pass other.internal']);
  });

  it('writes docker.io credentials under the key the kubelet and docker login use', () => {
    writeConfig({ auths: { 'https://index.docker.io/v1/': { auth: basic('me', 'pw') } } });
    expect(Object.keys(auths(pullSecretFor('svc', 'team/svc', { dockerConfig: file })))).toEqual(['https://index.docker.io/v1/']);
  });

  it('reads $DOCKER_CONFIG/config.json by default, as build-image does', () => {
    writeConfig({ auths: { '127.0.0.1:5001': { auth: basic('ci', 'pw') } } });
    vi.stubEnv('DOCKER_CONFIG', dir);
    expect(auths(pullSecretFor('svc', '127.0.0.1:5001/svc'))['127.0.0.1:5001'].username).toBe('ci');
  });

  it('refuses, naming the registry, the file and the login to run, when the config has nothing for the registry', () => {
    writeConfig({ auths: { '127.0.0.1:5000': { auth: basic('ci', 'pw') } } });
    let thrown: unknown;
    try {
      pullSecretFor('svc', '127.0.0.1:5001/team/svc', { dockerConfig: file });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TurboliftError);
    expect((thrown as TurboliftError).code).toBe('TL_PULL_SECRET_NO_CREDENTIALS');
    expect((thrown as Error).message).toBe(
      `createPullSecret: no credentials for registry 127.0.0.1:5001 in ${file} (auths, credHelpers, credsStore); ` +
        'run `docker login 127.0.0.1:5001` with the DOCKER_CONFIG this deploy reads, or drop createPullSecret and name an existing Secret in imagePullSecrets',
    );
  });

  it('refuses when there is no config file at all', () => {
    expect(() => pullSecretFor('svc', '127.0.0.1:5001/svc', { dockerConfig: join(dir, 'absent.json') })).toThrow(
      /no credentials for registry 127\.0\.0\.1:5001 in .*absent\.json/,
    );
  });

  it('says why the credential helper gave nothing, on the same line', () => {
    writeConfig({ credsStore: 'pass' });
    const failing = () => {
      throw Object.assign(new Error('exit 1'), { stderr: 'pass store is locked\nmore' });
    };
    expect(() => pullSecretFor('svc', 'registry.internal/svc', { dockerConfig: file, runHelper: failing })).toThrow(
      'createPullSecret: no credentials for registry registry.internal in ' +
        `${file} (auths, credHelpers, credsStore) (docker-credential-pass get failed for registry.internal (pass store is locked)); run`,
    );
    expect(() => pullSecretFor('svc', 'registry.internal/svc', { dockerConfig: file, runHelper: () => ({}) })).toThrow(
      '(docker-credential-pass has no credentials for registry.internal); run `docker login registry.internal`',
    );
  });
});
