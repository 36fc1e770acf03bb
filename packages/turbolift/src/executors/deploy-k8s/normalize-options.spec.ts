import { describe, expect, it } from 'vitest';
import { normalizeDeployOptions, toDeploySpec } from './normalize-options';
import { servicePaths } from '../../service/paths';

const project = {
  name: '@acme/compress-all-service',
  workspaceRoot: '/ws',
  workspaceName: '@acme/source',
  paths: servicePaths('apps/lifted/compress-all-service'),
};

describe('normalizeDeployOptions', () => {
  it('defaults everything from the project', () => {
    const options = normalizeDeployOptions({}, project);
    expect(options).toMatchObject({
      cluster: { kubeconfig: undefined, context: undefined, namespace: undefined },
      name: 'compress-all-service',
      partOf: '@acme/source',
      imageRecordPath: '/ws/dist/apps/lifted/compress-all-service/image.json',
      replicas: 1,
      // A CPU-heavy pod gets the CPU its one worker uses: requests equal the limits.
      resources: { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      autoscaling: { enabled: false, scaleDownStabilizationSeconds: 300, scaleUpStabilizationSeconds: 0 },
      env: {},
      drainMs: 5000,
      workers: 1,
      callTimeoutMs: undefined,
      maxQueue: undefined,
      maxQueueWaitMs: undefined,
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

  it('defaults each request to its limit, and keeps a lower request the user sets (a small cluster)', () => {
    expect(normalizeDeployOptions({ resources: { limits: { cpu: '2', memory: '1Gi' } } }, project).resources).toEqual({
      requests: { cpu: '2', memory: '1Gi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect(normalizeDeployOptions({ resources: { requests: { cpu: '100m' } } }, project).resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    });
  });

  it('runs one worker per started core of the CPU limit, at least one, unless workers is set', () => {
    const workersFor = (cpu: string) => normalizeDeployOptions({ resources: { limits: { cpu } } }, project).workers;
    expect(workersFor('1')).toBe(1);
    expect(workersFor('1500m')).toBe(2);
    expect(workersFor('2.5')).toBe(3);
    expect(workersFor('2000m')).toBe(2);
    expect(workersFor('250m')).toBe(1);
    expect(normalizeDeployOptions({ workers: 0 }, project).workers).toBe(0);
    expect(normalizeDeployOptions({ workers: 4, resources: { limits: { cpu: '1' } } }, project).workers).toBe(4);
  });

  it('passes the call time limit and the queue bound on only when set, 0 included', () => {
    expect(normalizeDeployOptions({ callTimeoutMs: 0, maxQueue: 0 }, project)).toMatchObject({ callTimeoutMs: 0, maxQueue: 0 });
    expect(normalizeDeployOptions({ callTimeoutMs: 15_000, maxQueue: 32, maxQueueWaitMs: 4000 }, project)).toMatchObject({
      callTimeoutMs: 15_000,
      maxQueue: 32,
      maxQueueWaitMs: 4000,
    });
  });

  it('takes the autoscaler stabilization windows, 0 to 3600 s', () => {
    const windows = { scaleDownStabilizationSeconds: 15, scaleUpStabilizationSeconds: 3600 };
    expect(normalizeDeployOptions({ autoscaling: { enabled: true, ...windows } }, project).autoscaling).toMatchObject(windows);
    expect(() => normalizeDeployOptions({ autoscaling: { enabled: true, scaleDownStabilizationSeconds: 3601 } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: autoscaling.scaleDownStabilizationSeconds must be a whole number of seconds from 0 to 3600, got 3601',
    );
    expect(() => normalizeDeployOptions({ autoscaling: { enabled: true, scaleUpStabilizationSeconds: -1 } }, project)).toThrow(
      /autoscaling\.scaleUpStabilizationSeconds must be .* got -1$/,
    );
    expect(() => normalizeDeployOptions({ autoscaling: { enabled: true, scaleUpStabilizationSeconds: 2.5 } }, project)).toThrow(/got 2\.5$/);
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

  it('refuses bad worker pool options, naming the option and the value', () => {
    expect(() => normalizeDeployOptions({ workers: -1 }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: workers must be a whole number from 0 to 1024, got -1',
    );
    expect(() => normalizeDeployOptions({ callTimeoutMs: 1.5 }, project)).toThrow(/callTimeoutMs must be a whole number from 0 to 2147483647, got 1\.5$/);
    expect(() => normalizeDeployOptions({ maxQueue: Number.NaN }, project)).toThrow(/maxQueue must be a whole number from 0 to 9007199254740991, got NaN$/);
  });

  it('keeps the variables the options set out of env, pointing at the option', () => {
    expect(() => normalizeDeployOptions({ env: { TURBOLIFT_WORKERS: '8' } }, project)).toThrow(
      /env TURBOLIFT_WORKERS is set by turbolift \(use the workers option\)/,
    );
    expect(() => normalizeDeployOptions({ env: { TURBOLIFT_CALL_TIMEOUT_MS: '1' } }, project)).toThrow(/use the callTimeoutMs option/);
    expect(() => normalizeDeployOptions({ env: { TURBOLIFT_MAX_QUEUE: '1' } }, project)).toThrow(/use the maxQueue option/);
    expect(() => normalizeDeployOptions({ env: { TURBOLIFT_DRAIN_MS: '1' } }, project)).toThrow(/use the drainMs option/);
  });

  it('refuses requests above limits and a CPU target the limit never lets a pod reach', () => {
    expect(() => normalizeDeployOptions({ resources: { requests: { cpu: '2' } } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: resources.requests.cpu "2" is more than resources.limits.cpu "1"',
    );
    expect(() => normalizeDeployOptions({ resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } }, project)).toThrow(
      /resources\.requests\.memory "1Gi" is more than resources\.limits\.memory "512Mi"/,
    );
    // Request = limit: utilisation tops out at 100 %.
    expect(() => normalizeDeployOptions({ autoscaling: { enabled: true, targetCPU: 120 } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: autoscaling.targetCPU 120 can never be reached: a pod uses at most 100 % of resources.requests.cpu "1" under resources.limits.cpu "1"',
    );
    // A lower request lets utilisation go past 100 %.
    expect(
      normalizeDeployOptions({ autoscaling: { enabled: true, targetCPU: 120 }, resources: { requests: { cpu: '500m' } } }, project).autoscaling.targetCPU,
    ).toBe(120);
  });

  it('builds the desired state once namespace and image are known', () => {
    const image = { service: 's', image: 'r/s', tag: 't', digest: null };
    const spec = toDeploySpec(normalizeDeployOptions({ replicas: 2, workers: 3, callTimeoutMs: 1000 }, project), 'prod', image);
    expect(spec).toMatchObject({ name: 'compress-all-service', namespace: 'prod', replicas: 2, image, workers: 3, callTimeoutMs: 1000 });
  });
});
