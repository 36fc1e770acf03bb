import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeBuildImageOptions, repositoryName } from './normalize-options';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'tl-normalize-'));
afterAll(() => rmSync(workspaceRoot, { recursive: true, force: true }));
const facts = { projectName: '@acme/compress-all-service', projectRoot: 'apps/lifted/compress-all-service', workspaceRoot, nodeVersion: 'v22.3.0' };

describe('normalizeBuildImageOptions', () => {
  it('defaults: repository in the registry, push on, base image of the running Node major, keep 3', () => {
    const options = normalizeBuildImageOptions({ registry: '127.0.0.1:5000' }, facts);
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

  it('without a registry the image stays local', () => {
    expect(normalizeBuildImageOptions({}, facts)).toMatchObject({ repository: 'acme/compress-all-service', push: false, registry: undefined });
  });

  it('finds a Dockerfile in the project root', () => {
    mkdirSync(join(workspaceRoot, facts.projectRoot), { recursive: true });
    writeFileSync(join(workspaceRoot, facts.projectRoot, 'Dockerfile'), 'FROM x\n');
    expect(normalizeBuildImageOptions({}, facts).dockerfile).toBe(join(workspaceRoot, facts.projectRoot, 'Dockerfile'));
    rmSync(join(workspaceRoot, facts.projectRoot, 'Dockerfile'));
  });

  it('rejects options that cannot work, naming the option', () => {
    expect(() => normalizeBuildImageOptions({ push: true }, facts)).toThrow('"push" needs a "registry"');
    expect(() => normalizeBuildImageOptions({ tags: ['no spaces'] }, facts)).toThrow('"no spaces" is not a valid image tag');
    expect(() => normalizeBuildImageOptions({ keep: 0 }, facts)).toThrow('"keep" must be a whole number');
    expect(() => normalizeBuildImageOptions({ dockerfile: 'nope/Dockerfile' }, facts)).toThrow('Dockerfile nope/Dockerfile (option "dockerfile" of @acme/compress-all-service) does not exist');
    expect(() => normalizeBuildImageOptions({ registry: 'a.io', repository: 'b.io/x' }, facts)).toThrow('repository b.io/x is not in registry a.io');
  });

  it('makes a valid repository name from an npm-scoped project name', () => {
    expect(repositoryName('@Acme/Compress All')).toBe('acme/compress-all');
  });
});
