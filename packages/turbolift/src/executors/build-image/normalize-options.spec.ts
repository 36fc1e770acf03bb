import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeBuildImageOptions, repositoryName } from './normalize-options';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'tl-normalize-'));
afterAll(() => rmSync(workspaceRoot, { recursive: true, force: true }));
const project = { name: '@acme/compress-all-service', root: 'apps/lifted/compress-all-service', workspaceRoot, nodeVersion: 'v22.3.0' };

describe('normalizeBuildImageOptions', () => {
  it('defaults: repository in the registry, push on, base image of the running Node major, keep 3', () => {
    const options = normalizeBuildImageOptions({ registry: '127.0.0.1:5000' }, project);
    expect(options).toMatchObject({
      service: '@acme/compress-all-service',
      repository: '127.0.0.1:5000/acme/compress-all-service',
      registry: '127.0.0.1:5000',
      push: true,
      baseImage: 'node:22-slim',
      keep: 3,
      extraTags: [],
      bundleDir: join(workspaceRoot, 'dist/apps/lifted/compress-all-service/bundle'),
      recordFile: join(workspaceRoot, 'dist/apps/lifted/compress-all-service/image.json'),
      dockerfile: undefined,
    });
  });

  it('a bundleDir option moves the bundle, not the image record', () => {
    expect(normalizeBuildImageOptions({ bundleDir: 'out/bundle' }, project)).toMatchObject({
      bundleDir: join(workspaceRoot, 'out/bundle'),
      recordFile: join(workspaceRoot, 'dist/apps/lifted/compress-all-service/image.json'),
    });
  });

  it('without a registry the image stays local', () => {
    expect(normalizeBuildImageOptions({}, project)).toMatchObject({ repository: 'acme/compress-all-service', push: false, registry: undefined });
  });

  it('finds a Dockerfile in the project root', () => {
    mkdirSync(join(workspaceRoot, project.root), { recursive: true });
    writeFileSync(join(workspaceRoot, project.root, 'Dockerfile'), 'FROM x\n');
    expect(normalizeBuildImageOptions({}, project).dockerfile).toBe(join(workspaceRoot, project.root, 'Dockerfile'));
    rmSync(join(workspaceRoot, project.root, 'Dockerfile'));
  });

  it('rejects options that cannot work, naming the option', () => {
    expect(() => normalizeBuildImageOptions({ push: true }, project)).toThrow('"push" needs a "registry"');
    expect(() => normalizeBuildImageOptions({ tags: ['no spaces'] }, project)).toThrow('"no spaces" is not a valid image tag');
    expect(() => normalizeBuildImageOptions({ keep: 0 }, project)).toThrow('"keep" must be a whole number');
    expect(() => normalizeBuildImageOptions({ dockerfile: 'nope/Dockerfile' }, project)).toThrow(
      'Dockerfile nope/Dockerfile (option "dockerfile" of @acme/compress-all-service) does not exist',
    );
    expect(() => normalizeBuildImageOptions({ registry: 'a.io', repository: 'b.io/x' }, project)).toThrow('repository b.io/x is not in registry a.io');
  });

  it('makes a valid repository name from an npm-scoped project name', () => {
    expect(repositoryName('@Acme/Compress All')).toBe('acme/compress-all');
  });
});
