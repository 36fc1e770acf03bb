import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE_TAG } from '../service/marker';
import {
  createNodes,
  createNodesV2,
  createServiceTargets,
  packagesInLockfile,
  recordConsistencyCommand,
  targetDefaultsOf,
  undeployDefaults,
} from './create-nodes';
import type { CreateNodesContextV2 } from '@nx/devkit';

const marker = { function: 'compressAll', library: '@acme/lifted-compress-all', main: 'src/main.ts', port: 4310 };

describe('createServiceTargets', () => {
  const targets = createServiceTargets('apps/lifted/compress-all-service', marker, undefined);

  it('infers the five targets, each described', () => {
    expect(Object.keys(targets)).toEqual(['build', 'serve', 'build-image', 'deploy-k8s', 'undeploy-k8s']);
    for (const [name, target] of Object.entries(targets)) {
      expect(target.metadata?.description, name).toMatch(/\w/);
    }
  });

  it('bundles into its own folder, so the bundle and the image record never overlap', () => {
    expect(targets.build).toMatchObject({
      executor: 'turbolift:bundle',
      cache: true,
      inputs: ['production', '^production', { externalDependencies: ['esbuild'] }],
      outputs: ['{options.outputPath}'],
      options: { main: 'apps/lifted/compress-all-service/src/main.ts', outputPath: 'dist/apps/lifted/compress-all-service/bundle', minify: true },
    });
    expect(targets['build-image'].outputs).toEqual(['{workspaceRoot}/dist/{projectRoot}/image.json']);
  });

  it('builds the libraries it depends on first, so a clean checkout bundles without their dist/ being there', () => {
    expect(targets.build.dependsOn).toEqual(['^build']);
    // The libraries' build target keeps its name when the service's is renamed.
    expect(createServiceTargets('svc', marker, { buildTargetName: 'bundle' }).bundle.dependsOn).toEqual(['^build']);
  });

  it('serves continuously after a build, on a free port: the marker port is for fixedPort, and the description says so', () => {
    expect(targets.serve).toMatchObject({ executor: 'turbolift:serve', continuous: true, dependsOn: ['build'] });
    expect(targets.serve.options).toEqual({ bundleDir: 'dist/apps/lifted/compress-all-service/bundle' });
    expect(targets.serve.metadata?.description).toBe(
      'Run the compressAll service on a free 127.0.0.1 port (4310 with fixedPort) and register its URL and pid in .turbolift/endpoints.json.',
    );
  });

  it('caches the image build but never a deploy', () => {
    expect(targets['build-image']).toMatchObject({ executor: 'turbolift:build-image', cache: true, dependsOn: ['build'] });
    expect(targets['deploy-k8s']).toMatchObject({ executor: 'turbolift:deploy-k8s', cache: false, dependsOn: ['build-image'] });
    expect(targets['undeploy-k8s']).toMatchObject({ executor: 'turbolift:undeploy-k8s', cache: false });
  });

  it('uses the configured target names, also in dependsOn', () => {
    const renamed = createServiceTargets('svc', marker, { buildTargetName: 'bundle', buildImageTargetName: 'image', deployTargetName: 'deploy' });
    expect(Object.keys(renamed)).toEqual(['bundle', 'serve', 'image', 'deploy', 'undeploy-k8s']);
    expect(renamed.serve.dependsOn).toEqual(['bundle']);
    expect(renamed.image.dependsOn).toEqual(['bundle']);
    expect(renamed.deploy.dependsOn).toEqual(['image']);
  });

  it('falls back to the default named input when the workspace has no production input', () => {
    const bare = createServiceTargets('svc', marker, undefined, { hasProductionInput: false, lockedPackages: ['esbuild', 'turbolift'] });
    expect(bare.build.inputs?.slice(0, 2)).toEqual(['default', '^default']);
  });

  it('finds packages in npm, pnpm and yarn lockfiles, not inside longer names', () => {
    expect(packagesInLockfile('{"packages":{"node_modules/esbuild": {}}}', ['esbuild', 'turbolift'])).toEqual(['esbuild']);
    expect(packagesInLockfile('packages:\n  /turbolift@0.1.0:\n  esbuild@0.25.9:\n', ['esbuild', 'turbolift'])).toEqual(['esbuild', 'turbolift']);
    expect(packagesInLockfile('"turbolift@^0.1.0":\n  version "0.1.0"\n', ['turbolift'])).toEqual(['turbolift']);
    expect(packagesInLockfile('{"packages":{"node_modules/@types/esbuild-x": {}, "node_modules/xesbuild": {}}} xesbuild@1', ['esbuild'])).toEqual([]);
  });

  it('hashes external packages only when the lockfile lets Nx find them', () => {
    const onlyEsbuild = createServiceTargets('svc', marker, undefined, { hasProductionInput: true, lockedPackages: ['esbuild'] });
    expect(onlyEsbuild.build.inputs).toEqual(['production', '^production', { externalDependencies: ['esbuild'] }]);
    expect(onlyEsbuild['build-image'].inputs).toEqual(['production', '^production', { env: 'DOCKER_HOST' }, { runtime: recordConsistencyCommand('svc') }]);
    const noLockfile = createServiceTargets('svc', marker, undefined, { hasProductionInput: true, lockedPackages: [] });
    expect(noLockfile.build.inputs).toEqual(['production', '^production']);
    expect(noLockfile['build-image'].inputs).toEqual(['production', '^production', { env: 'DOCKER_HOST' }, { runtime: recordConsistencyCommand('svc') }]);
    expect(targets['build-image'].inputs).toEqual([
      'production',
      '^production',
      { externalDependencies: ['turbolift'] },
      { env: 'DOCKER_HOST' },
      { runtime: `node -e "require('turbolift/record-consistency')" dist/apps/lifted/compress-all-service/image.json` },
    ]);
  });
});

describe('createNodesV2', () => {
  let workspaceRoot: string | undefined;
  afterEach(() => {
    if (workspaceRoot) rmSync(workspaceRoot, { recursive: true, force: true });
  });

  function workspaceWith(files: Record<string, string>): string {
    workspaceRoot = mkdtempSync(join(tmpdir(), 'turbolift-nodes-'));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(workspaceRoot, path, '..'), { recursive: true });
      writeFileSync(join(workspaceRoot, path), content);
    }
    return workspaceRoot;
  }

  const context = (root: string): CreateNodesContextV2 => ({
    workspaceRoot: root,
    nxJsonConfiguration: { namedInputs: { default: ['{projectRoot}/**/*'], production: ['default'] } },
  });

  it('matches turbolift.json anywhere and is the same entry under both export names', () => {
    expect(createNodesV2[0]).toBe('**/turbolift.json');
    expect(createNodes).toBe(createNodesV2);
  });

  it('tags every marked project as a service and gives it the inferred targets', async () => {
    const root = workspaceWith({
      'apps/lifted/a-service/turbolift.json': JSON.stringify({ function: 'a', main: 'src/main.ts', port: 4311 }),
      'apps/lifted/a-service/project.json': '{"name":"a-service"}',
      'apps/lifted/b-service/turbolift.json': JSON.stringify({ function: 'b', port: 4312 }),
    });
    const results = await createNodesV2[1](['apps/lifted/a-service/turbolift.json', 'apps/lifted/b-service/turbolift.json'], {}, context(root));
    const projects = Object.assign({}, ...results.map(([, result]) => result.projects));
    expect(projects['apps/lifted/a-service'].tags).toEqual([SERVICE_TAG]);
    expect(projects['apps/lifted/a-service'].name).toBeUndefined();
    expect(projects['apps/lifted/a-service'].targets.serve.metadata.description).toContain('(4311 with fixedPort)');
    // No project.json or package.json: the folder names the project.
    expect(projects['apps/lifted/b-service'].name).toBe('b-service');
    expect(projects['apps/lifted/b-service'].targets.build.options.main).toBe('apps/lifted/b-service/src/main.ts');
  });

  it('hashes esbuild for the bundle when the workspace lockfile lists it', async () => {
    const root = workspaceWith({
      'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/esbuild': { version: '0.25.12' } } }),
      'svc/turbolift.json': JSON.stringify({ function: 'f' }),
    });
    const [[, result]] = await createNodesV2[1](['svc/turbolift.json'], {}, context(root));
    expect(result.projects?.svc.targets?.build.inputs).toEqual(['production', '^production', { externalDependencies: ['esbuild'] }]);
  });

  it('names the marker file when it is wrong', async () => {
    const root = workspaceWith({ 'apps/bad/turbolift.json': JSON.stringify({ function: 'x', port: 'eighty' }) });
    // Nx gathers per-file errors into one aggregate error and reports each with its file.
    const failure = await createNodesV2[1](['apps/bad/turbolift.json'], {}, context(root)).then(
      () => undefined,
      (error: { errors?: Array<[string, Error]> }) => error,
    );
    expect(failure?.errors?.[0]?.[0]).toBe('apps/bad/turbolift.json');
    expect(failure?.errors?.[0]?.[1].message).toBe('apps/bad/turbolift.json: "port" must be a whole number from 1 to 65535, got "eighty"');
  });
});

describe('undeploy follows the cluster of deploy in each configuration', () => {
  const targetDefaults = {
    'turbolift:deploy-k8s': {
      options: { kubeconfig: 'k8s/config', namespace: 'dev', replicas: 2 },
      configurations: { staging: { context: 'stage', namespace: 'stage' }, production: { context: 'prod', autoscaling: { enabled: true } } },
    },
    'deploy-k8s': { configurations: { production: { namespace: 'prod' } } },
  };

  it('merges the defaults by executor and by target name, the name winning', () => {
    expect(targetDefaultsOf(targetDefaults, 'deploy-k8s', 'turbolift:deploy-k8s')).toEqual({
      options: { kubeconfig: 'k8s/config', namespace: 'dev', replicas: 2 },
      configurations: {
        staging: { context: 'stage', namespace: 'stage' },
        production: { context: 'prod', autoscaling: { enabled: true }, namespace: 'prod' },
      },
    });
    expect(targetDefaultsOf({ build: {} }, 'deploy-k8s', 'turbolift:deploy-k8s')).toBeUndefined();
  });

  it("gives undeploy the cluster selection of deploy's options and of each of its configurations, nothing else", () => {
    const deployDefaults = targetDefaultsOf(targetDefaults, 'deploy-k8s', 'turbolift:deploy-k8s');
    const undeploy = createServiceTargets('svc', marker, undefined, { hasProductionInput: true, lockedPackages: [], deployDefaults })['undeploy-k8s'];
    expect(undeploy.options).toEqual({ kubeconfig: 'k8s/config', namespace: 'dev' });
    expect(undeploy.configurations).toEqual({ staging: { context: 'stage', namespace: 'stage' }, production: { context: 'prod', namespace: 'prod' } });
    expect(undeployDefaults(undefined)).toEqual({ options: {} });
  });
});
