import { describe, expect, it } from 'vitest';
import { normalizeDeployOptions, toDeploySpec } from './normalize-options';

const project = { projectName: '@acme/compress-all-service', projectRoot: 'apps/lifted/compress-all-service', workspaceRoot: '/ws', workspaceName: '@acme/source' };

describe('normalizeDeployOptions', () => {
  it('defaults everything from the project', () => {
    const options = normalizeDeployOptions({}, project);
    expect(options).toMatchObject({
      cluster: { kubeconfig: undefined, context: undefined, namespace: undefined },
      name: 'compress-all-service',
      partOf: '@acme/source',
      imageRecordPath: '/ws/dist/apps/lifted/compress-all-service/image.json',
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      autoscaling: { enabled: false },
      env: {},
      drainMs: 5000,
      createNamespace: false,
      timeoutMs: 180_000,
      dryRun: false,
    });
  });

  it('resolves paths against the workspace root, merges partial resources and stringifies env values', () => {
    const options = normalizeDeployOptions(
      { kubeconfig: 'tmp/kubeconfig', imageRecord: 'out/image.json', resources: { limits: { memory: '512Mi' } }, env: { RETRIES: 3, DEBUG: true } },
      project,
    );
    expect(options.cluster.kubeconfig).toBe('/ws/tmp/kubeconfig');
    expect(options.imageRecordPath).toBe('/ws/out/image.json');
    expect(options.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(options.env).toEqual({ RETRIES: '3', DEBUG: 'true' });
  });

  it('refuses options that would render invalid objects, naming the option', () => {
    expect(() => normalizeDeployOptions({ autoscaling: { enabled: true, min: 3, max: 2 } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: autoscaling.max (2) must be a whole number >= autoscaling.min (3)',
    );
    expect(() => normalizeDeployOptions({ resources: { requests: { cpu: 'lots' } } }, project)).toThrow(/resources\.requests\.cpu "lots"/);
    expect(() => normalizeDeployOptions({ namespace: 'Not_A_Name' }, project)).toThrow(/namespace "Not_A_Name"/);
    expect(() => normalizeDeployOptions({ env: { 'BAD NAME': 'x' } }, project)).toThrow(/env name "BAD NAME"/);
    expect(() => normalizeDeployOptions({ replicas: 1.5 }, project)).toThrow(/replicas/);
    expect(() => normalizeDeployOptions({ env: { PORT: '9000' } }, project)).toThrow(/env PORT is set by turbolift/);
  });

  it('builds the desired state once namespace and image are known', () => {
    const image = { service: 's', image: 'r/s', tag: 't', digest: null };
    const spec = toDeploySpec(normalizeDeployOptions({ replicas: 2 }, project), 'prod', image);
    expect(spec).toMatchObject({ name: 'compress-all-service', namespace: 'prod', replicas: 2, image });
  });
});
