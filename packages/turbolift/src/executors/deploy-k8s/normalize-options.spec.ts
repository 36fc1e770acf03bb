import { describe, expect, it } from 'vitest';
import { normalizeDeployOptions, toDeploySpec } from './normalize-options';
import { servicePaths } from '../../service/paths';
import type { DeployK8sExecutorOptions } from './schema';

const project = {
  name: '@acme/compress-all-service',
  workspaceRoot: '/ws',
  workspaceName: '@acme/source',
  paths: servicePaths('apps/lifted/compress-all-service'),
};

describe('normalizeDeployOptions: auth, callers, networkPolicy', () => {
  const normalized = (options: DeployK8sExecutorOptions) => normalizeDeployOptions(options, project);

  it('has auth on, no callers namespaces and no NetworkPolicy by default', () => {
    const options = normalized({});
    expect(options.auth).toEqual({ enabled: true, callerNamespaces: [] });
    expect(options.networkPolicy).toBeUndefined();
    expect(normalized({ networkPolicy: false }).networkPolicy).toBeUndefined();
  });

  it('takes the callers namespaces sorted and once each, and lets them through the NetworkPolicy too', () => {
    const options = normalized({ callers: { namespaces: ['web', 'batch', 'web'] }, networkPolicy: { namespaces: ['jobs', 'batch'] } });
    expect(options.auth).toEqual({ enabled: true, callerNamespaces: ['batch', 'web'] });
    expect(options.networkPolicy).toEqual({ namespaces: ['batch', 'jobs', 'web'] });
    expect(normalized({ networkPolicy: true }).networkPolicy).toEqual({ namespaces: [] });
    expect(normalized({ networkPolicy: true, callers: { namespaces: ['web'] } }).networkPolicy).toEqual({ namespaces: ['web'] });
  });

  it('leaves the service namespace out once it is known', () => {
    const options = normalized({ callers: { namespaces: ['prod', 'web'] }, networkPolicy: { namespaces: ['prod'] } });
    const spec = toDeploySpec(options, 'prod', { service: 's', image: 'r/s', tag: 't' });
    expect(spec.auth).toEqual({ enabled: true, callerNamespaces: ['web'] });
    expect(spec.networkPolicy).toEqual({ namespaces: ['web'] });
  });

  it('refuses what cannot be', () => {
    expect(() => normalized({ auth: false, callers: { namespaces: ['web'] } })).toThrow(
      /callers\.namespaces gets copies of the callers Secret, which auth: false/,
    );
    expect(() => normalized({ callers: { namespaces: ['Web'] } })).toThrow(/callers\.namespaces\[0\] "Web" is not a namespace name/);
    expect(() => normalized({ callers: { namespaces: 'web' as unknown as string[] } })).toThrow(/callers\.namespaces must be a list/);
    expect(() => normalized({ callers: { names: [] } as never })).toThrow(/callers has no field "names"/);
    expect(() => normalized({ networkPolicy: { namespaces: ['a_b'] } })).toThrow(/networkPolicy\.namespaces\[0\]/);
    expect(() => normalized({ networkPolicy: 'yes' as never })).toThrow(/networkPolicy must be true, false or/);
    expect(() => normalized({ auth: 'no' as never })).toThrow(/auth must be true or false/);
    expect(() => normalized({ env: { TURBOLIFT_AUTH: 'off' } })).toThrow(/env TURBOLIFT_AUTH is set by turbolift \(use the auth option\)/);
    expect(() => normalized({ env: { TURBOLIFT_TOKEN_DIR: '/x' } })).toThrow(/env TURBOLIFT_TOKEN_DIR is set by turbolift/);
    expect(() => normalized({ labels: { 'turbolift.dev/caller': 'false' } })).toThrow(/labels may not set turbolift\.dev\/caller/);
  });
});

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
      placement: { topologySpread: true },
      metadata: { labels: {}, annotations: {} },
      timeoutMs: 180_000,
      dryRun: false,
      patches: [],
      createPullSecret: false,
      atomic: false,
      recordFile: '/ws/dist/apps/lifted/compress-all-service/deploy.json',
      json: false,
    });
  });

  it('keeps patches in order and refuses one without a kind or a patch object', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'compress-all-service', stdin: true }] } } } };
    expect(
      normalizeDeployOptions(
        {
          patches: [
            { kind: 'Deployment', patch },
            { kind: 'Service', name: 'x', patch: {} },
          ],
        },
        project,
      ).patches,
    ).toEqual([
      { kind: 'Deployment', patch },
      { kind: 'Service', name: 'x', patch: {} },
    ]);
    expect(() => normalizeDeployOptions({ patches: [{ kind: 'deployment', patch: {} }] }, project)).toThrow(
      /patches\[0\]\.kind must be a kind such as "Deployment"/,
    );
    expect(() => normalizeDeployOptions({ patches: [{ kind: 'Deployment', patch: [] as never }] }, project)).toThrow(/patches\[0\]\.patch must be an object/);
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
      'deploy-k8s options of @acme/compress-all-service: ' +
        'autoscaling.targetCPU 120 can never be reached: a pod uses at most 100 % of resources.requests.cpu "1" under resources.limits.cpu "1"',
    );
    // A lower request lets utilisation go past 100 %.
    expect(
      normalizeDeployOptions({ autoscaling: { enabled: true, targetCPU: 120 }, resources: { requests: { cpu: '500m' } } }, project).autoscaling.targetCPU,
    ).toBe(120);
  });

  it('keeps any resource the options name, an extended one requested at its limit, and sizes workers by the CPU limit only', () => {
    const options = normalizeDeployOptions({ resources: { limits: { cpu: '1500m', 'nvidia.com/gpu': 1, 'ephemeral-storage': '1Gi' } } }, project);
    expect(options.resources).toEqual({
      requests: { cpu: '1500m', memory: '256Mi', 'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi' },
      limits: { cpu: '1500m', memory: '256Mi', 'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi' },
    });
    expect(options.workers).toBe(2);
    expect(normalizeDeployOptions({ resources: { limits: { 'nvidia.com/gpu': 4 } } }, project).workers).toBe(1);
    // ephemeral-storage is overcommitted like memory: a lower request is fine.
    expect(
      normalizeDeployOptions({ resources: { requests: { 'ephemeral-storage': '100Mi' }, limits: { 'ephemeral-storage': '1Gi' } } }, project).resources.requests,
    ).toMatchObject({ 'ephemeral-storage': '100Mi' });
  });

  it('refuses a resource that is not a quantity, a bad resource name, and an extended resource requested apart from its limit', () => {
    expect(() => normalizeDeployOptions({ resources: { limits: { 'nvidia.com/gpu': 'one' } } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: resources.limits.nvidia.com/gpu "one" is not a Kubernetes quantity (e.g. 250m, 1, 128Mi)',
    );
    expect(() => normalizeDeployOptions({ resources: { limits: { 'bad name': '1' } } }, project)).toThrow(
      /resources\.limits "bad name" is not a resource name/,
    );
    expect(() => normalizeDeployOptions({ resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '2' } } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: ' +
        'resources.requests.nvidia.com/gpu "1" must equal resources.limits.nvidia.com/gpu "2": Kubernetes does not overcommit nvidia.com/gpu',
    );
    expect(() => normalizeDeployOptions({ resources: { requests: { 'example.com/widget': '1' } } }, project)).toThrow(
      /resources\.requests\.example\.com\/widget "1" must equal resources\.limits\.example\.com\/widget: /,
    );
  });

  it('takes the placement options as Kubernetes spells them', () => {
    const toleration = { key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoExecute', tolerationSeconds: 60 } as const;
    const affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } };
    const zone = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' } as const;
    const options = normalizeDeployOptions(
      {
        nodeSelector: { 'kubernetes.io/arch': 'arm64', gpu: true },
        tolerations: [toleration, { operator: 'Exists' }, { key: 'spot' }],
        affinity,
        priorityClassName: 'batch-high',
        topologySpreadConstraints: [zone],
        serviceAccountName: 'compress',
        imagePullSecrets: ['registry-a'],
      },
      project,
    );
    expect(options.placement).toEqual({
      nodeSelector: { 'kubernetes.io/arch': 'arm64', gpu: 'true' },
      tolerations: [toleration, { operator: 'Exists' }, { key: 'spot', operator: 'Equal' }],
      affinity,
      priorityClassName: 'batch-high',
      topologySpreadConstraints: [zone],
      topologySpread: true,
      serviceAccountName: 'compress',
      imagePullSecrets: ['registry-a'],
    });
    expect(normalizeDeployOptions({ topologySpread: false }, project).placement.topologySpread).toBe(false);
  });

  it('refuses placement options the API server would refuse, naming the option', () => {
    const refusal = (options: DeployK8sExecutorOptions) => () => normalizeDeployOptions(options, project);
    expect(refusal({ nodeSelector: { pool: 'not ok' } })).toThrow(
      'deploy-k8s options of @acme/compress-all-service: ' +
        'nodeSelector.pool "not ok" is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)',
    );
    expect(refusal({ nodeSelector: { '-pool': 'a' } })).toThrow(/nodeSelector key "-pool" is not a valid key/);
    expect(refusal({ tolerations: [{ key: 'a', operator: 'Is' as 'Equal' }] })).toThrow(/tolerations\[0\]\.operator must be one of Exists, Equal, got "Is"/);
    expect(refusal({ tolerations: [{ key: 'a', effect: 'NoExecute', tolerationSecond: 5 } as never] })).toThrow(
      /tolerations\[0\] has no field "tolerationSecond"/,
    );
    expect(refusal({ tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] })).toThrow(/tolerations\[0\] has operator Exists and a value/);
    expect(refusal({ tolerations: [{ value: 'b' }] })).toThrow(/tolerations\[0\] has no key: that tolerates every taint and needs operator Exists/);
    expect(refusal({ tolerations: [{ key: 'a', effect: 'NoSchedule', tolerationSeconds: 5 }] })).toThrow(
      /tolerations\[0\]\.tolerationSeconds only applies with effect NoExecute/,
    );
    expect(refusal({ affinity: { nodeAffinty: {} } as never })).toThrow(
      /affinity has no field "nodeAffinty" \(known: nodeAffinity, podAffinity, podAntiAffinity\)/,
    );
    expect(refusal({ topologySpreadConstraints: [{ maxSkew: 0, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }] })).toThrow(
      /topologySpreadConstraints\[0\]\.maxSkew must be a whole number >= 1, got 0/,
    );
    expect(refusal({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'Never' as 'ScheduleAnyway' }] })).toThrow(
      /topologySpreadConstraints\[0\]\.whenUnsatisfiable must be one of DoNotSchedule, ScheduleAnyway, got "Never"/,
    );
    expect(refusal({ topologySpread: false, topologySpreadConstraints: [] })).toThrow(/topologySpread is false but topologySpreadConstraints are set/);
    expect(refusal({ serviceAccountName: 'Compress_SA' })).toThrow(/serviceAccountName "Compress_SA" is not a Kubernetes object name/);
    expect(refusal({ priorityClassName: '' })).toThrow(/priorityClassName "" is not a Kubernetes object name/);
    expect(refusal({ imagePullSecrets: ['ok', 'Not OK'] })).toThrow(/imagePullSecrets\[1\] "Not OK" is not a Kubernetes object name/);
  });

  it('takes extra labels and annotations, and refuses the keys turbolift sets itself', () => {
    expect(
      normalizeDeployOptions({ labels: { team: 'search', 'app.kubernetes.io/created-by': 'ci' }, annotations: { note: 'a b: c', n: 1 } }, project).metadata,
    ).toEqual({
      labels: { team: 'search', 'app.kubernetes.io/created-by': 'ci' },
      annotations: { note: 'a b: c', n: '1' },
    });
    expect(() => normalizeDeployOptions({ labels: { 'app.kubernetes.io/instance': 'other' } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: ' +
        'labels may not set app.kubernetes.io/instance: turbolift sets it (its selectors and undeploy-k8s use it)',
    );
    expect(() => normalizeDeployOptions({ labels: { 'app.kubernetes.io/version': '2' } }, project)).toThrow(/labels may not set app\.kubernetes\.io\/version/);
    expect(() => normalizeDeployOptions({ annotations: { 'turbolift.dev/content-hash': 'x' } }, project)).toThrow(
      'deploy-k8s options of @acme/compress-all-service: ' +
        'annotations may not set turbolift.dev/content-hash: turbolift sets it (it tells whether an object changed)',
    );
    expect(() => normalizeDeployOptions({ labels: { team: 'search team' } }, project)).toThrow(/labels\.team "search team" is not a label value/);
    expect(() => normalizeDeployOptions({ annotations: { 'no spaces': 'x' } }, project)).toThrow(/annotations key "no spaces" is not a valid key/);
  });

  it('builds the desired state once namespace and image are known', () => {
    const image = { service: 's', image: 'r/s', tag: 't', digest: null };
    const spec = toDeploySpec(normalizeDeployOptions({ replicas: 2, workers: 3, callTimeoutMs: 1000 }, project), 'prod', image);
    expect(spec).toMatchObject({ name: 'compress-all-service', namespace: 'prod', replicas: 2, image, workers: 3, callTimeoutMs: 1000 });
    const placed = normalizeDeployOptions({ nodeSelector: { pool: 'cpu' }, labels: { team: 'a' } }, project);
    expect(toDeploySpec(placed, 'prod', image)).toMatchObject({ placement: { nodeSelector: { pool: 'cpu' } }, metadata: { labels: { team: 'a' } } });
  });
});
