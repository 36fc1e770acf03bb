import { describe, expect, it } from 'vitest';
import { loadAllYaml, type V1PodDisruptionBudget, type V1Service, type V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { CONTENT_HASH_ANNOTATION, LABEL, toDnsLabel, toLabelValue } from './labels';
import { imageReference, renderManifests } from './manifests';
import type { AutoscalingSettings, KubernetesManifest, ServiceDeploySpec } from './types';
import { renderYaml } from './yaml';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function spec(overrides: Partial<ServiceDeploySpec> = {}): ServiceDeploySpec {
  return {
    name: 'compress-all-service',
    namespace: 'demo',
    partOf: '@acme/source',
    image: { service: 'compress-all-service', image: '127.0.0.1:5000/compress-all-service', tag: 'abc123', digest: DIGEST },
    replicas: 1,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    autoscaling: autoscaling({ enabled: false }),
    env: {},
    drainMs: 5000,
    workers: 1,
    createNamespace: false,
    placement: { topologySpread: true },
    metadata: { labels: {}, annotations: {} },
    patches: [],
    auth: { enabled: true, callerNamespaces: [] },
    ...overrides,
  };
}

/** Autoscaling on, with short windows (what a test can wait for). */
function autoscaling(overrides: Partial<AutoscalingSettings> = {}): AutoscalingSettings {
  return { enabled: true, min: 1, max: 5, targetCPU: 80, scaleDownStabilizationSeconds: 30, scaleUpStabilizationSeconds: 0, ...overrides };
}

const byKind = (objects: KubernetesManifest[], kind: string) => objects.find((object) => object.kind === kind);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const deploymentOf = (objects: KubernetesManifest[]) => byKind(objects, 'Deployment') as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podSpecOf = (objects: KubernetesManifest[]) => deploymentOf(objects).spec.template.spec as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const containerOf = (objects: KubernetesManifest[]) => deploymentOf(objects).spec.template.spec.containers[0] as any;

describe('renderManifests', () => {
  it('renders Service then Deployment, and no Namespace, HPA or PDB for one fixed replica', () => {
    const { objects } = renderManifests(spec());
    expect(objects.map((object) => object.kind)).toEqual(['Service', 'Deployment']);
  });

  it('renders the Namespace first only when asked to create it', () => {
    const { objects } = renderManifests(spec({ createNamespace: true }));
    expect(objects[0]).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
  });

  it('labels every object the recommended way and selects pods by name and instance only', () => {
    const { objects } = renderManifests(spec({ replicas: 2, autoscaling: autoscaling({ min: 2, max: 4, targetCPU: 70 }) }));
    for (const object of objects) {
      expect(object.metadata.namespace).toBe('demo');
      expect(object.metadata.labels).toEqual({
        [LABEL.name]: 'compress-all-service',
        [LABEL.instance]: 'compress-all-service',
        [LABEL.component]: 'lifted-function',
        [LABEL.partOf]: 'acme-source',
        [LABEL.managedBy]: 'turbolift',
        [LABEL.version]: 'abc123',
      });
    }
    const selector = { [LABEL.name]: 'compress-all-service', [LABEL.instance]: 'compress-all-service' };
    expect(deploymentOf(objects).spec.selector).toEqual({ matchLabels: selector });
    expect((byKind(objects, 'Service') as V1Service).spec!.selector).toEqual(selector);
    expect((byKind(objects, 'PodDisruptionBudget') as V1PodDisruptionBudget).spec!.selector).toEqual({ matchLabels: selector });
    expect(deploymentOf(objects).spec.template.metadata.labels).toMatchObject(selector);
  });

  it('pins the image by digest when the record has one, else uses the tag', () => {
    expect(containerOf(renderManifests(spec()).objects).image).toBe(`127.0.0.1:5000/compress-all-service@${DIGEST}`);
    const unpushed = spec({ image: { ...spec().image, digest: null } });
    expect(containerOf(renderManifests(unpushed).objects).image).toBe('127.0.0.1:5000/compress-all-service:abc123');
    expect(imageReference({ image: 'r/x', tag: 't', digest: null })).toBe('r/x:t');
  });

  it('calls other lifted functions through their Services unless the env says otherwise', () => {
    const modeOf = (env: Record<string, string>) =>
      (containerOf(renderManifests(spec({ env })).objects).env as Array<{ name: string; value: string }>).filter(({ name }) => name === 'TURBOLIFT_MODE');
    expect(modeOf({})).toEqual([{ name: 'TURBOLIFT_MODE', value: 'distributed' }]);
    expect(modeOf({ TURBOLIFT_MODE: 'local' })).toEqual([{ name: 'TURBOLIFT_MODE', value: 'local' }]);
  });

  it('probes /readyz and /healthz on the named port 8080 and sets the runtime env', () => {
    const container = containerOf(renderManifests(spec({ env: { TURBOLIFT_REMOTE_STACK: '1', PORT: '9999' } })).objects);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    // PORT is turbolift's: the probes and the Service point at it.
    expect(container.env).toEqual([
      { name: 'HOST', value: '0.0.0.0' },
      { name: 'PORT', value: '8080' },
      { name: 'TURBOLIFT_DRAIN_MS', value: '5000' },
      { name: 'TURBOLIFT_WORKERS', value: '1' },
      { name: 'TURBOLIFT_TOKEN_DIR', value: '/var/run/secrets/turbolift' },
      { name: 'TURBOLIFT_MODE', value: 'distributed' },
      { name: 'TURBOLIFT_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'TURBOLIFT_REMOTE_STACK', value: '1' },
    ]);
  });

  it('sets the call time limit and the queue bound only when they are given, and workers always', () => {
    const envOf = (overrides: Partial<ServiceDeploySpec>) =>
      (containerOf(renderManifests(spec(overrides)).objects).env as Array<{ name: string; value: string }>).filter(({ name }) =>
        /WORKERS|CALL_TIMEOUT|MAX_QUEUE/.test(name),
      );
    expect(envOf({ workers: 3 })).toEqual([{ name: 'TURBOLIFT_WORKERS', value: '3' }]);
    expect(envOf({ workers: 0, callTimeoutMs: 0, maxQueue: 0 })).toEqual([
      { name: 'TURBOLIFT_WORKERS', value: '0' },
      { name: 'TURBOLIFT_CALL_TIMEOUT_MS', value: '0' },
      { name: 'TURBOLIFT_MAX_QUEUE', value: '0' },
    ]);
    expect(envOf({ callTimeoutMs: 20_000, maxQueue: 64, maxQueueWaitMs: 3000 })).toEqual([
      { name: 'TURBOLIFT_WORKERS', value: '1' },
      { name: 'TURBOLIFT_CALL_TIMEOUT_MS', value: '20000' },
      { name: 'TURBOLIFT_MAX_QUEUE', value: '64' },
      { name: 'TURBOLIFT_MAX_QUEUE_WAIT_MS', value: '3000' },
    ]);
  });

  it('gives a slow answer under CPU load time before readiness or liveness act on it', () => {
    const container = containerOf(renderManifests(spec()).objects);
    const silentFor = (probe: { periodSeconds: number; failureThreshold: number }) => probe.periodSeconds * probe.failureThreshold;
    // A pod throttled at its CPU limit answers late, not never: a few late answers must not move its calls away.
    expect(container.readinessProbe.timeoutSeconds).toBeGreaterThanOrEqual(2);
    expect(silentFor(container.readinessProbe)).toBeGreaterThanOrEqual(6);
    // A restart loses every call in the pod: only a main thread silent for half a minute is restarted.
    expect(container.livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(5);
    expect(silentFor(container.livenessProbe)).toBeGreaterThanOrEqual(30);
    expect(silentFor(container.livenessProbe)).toBeGreaterThan(silentFor(container.readinessProbe));
  });

  it('rolls out one extra pod at a time without going below the wanted count, and outlasts the drain', () => {
    const deployment = deploymentOf(renderManifests(spec({ drainMs: 12_500 })).objects);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(12.5);
  });

  it("outlasts the drain plus one whole call, at the runtime's default time limit when none is set", () => {
    const graceOf = (overrides: Partial<ServiceDeploySpec>) =>
      deploymentOf(renderManifests(spec(overrides)).objects).spec.template.spec.terminationGracePeriodSeconds;
    expect(graceOf({ drainMs: 5000, callTimeoutMs: 30_000 })).toBeGreaterThan(35);
    expect(graceOf({ drainMs: 5000 }) - graceOf({ drainMs: 5000, callTimeoutMs: 30_000 })).toBe(30); // the default is 60 s
    // 0 is no limit: there is no call length to wait for, only the drain.
    expect(graceOf({ drainMs: 5000, callTimeoutMs: 0 })).toBeGreaterThan(5);
    expect(graceOf({ drainMs: 5000, callTimeoutMs: 0 })).toBeLessThan(graceOf({ drainMs: 5000, callTimeoutMs: 30_000 }));
  });

  it('runs the container locked down', () => {
    const container = containerOf(renderManifests(spec()).objects);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } });
  });

  it('exposes port 80 to the named container port through a ClusterIP Service', () => {
    const service = byKind(renderManifests(spec()).objects, 'Service') as V1Service & { spec: object };
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('sets replicas on the Deployment without autoscaling, and leaves them to the HPA with it', () => {
    const fixed = renderManifests(spec({ replicas: 3 })).objects;
    expect(deploymentOf(fixed).spec.replicas).toBe(3);
    expect(byKind(fixed, 'HorizontalPodAutoscaler')).toBeUndefined();

    const scaled = renderManifests(spec({ replicas: 3, autoscaling: autoscaling({ min: 2, max: 6, targetCPU: 65 }) })).objects;
    expect('replicas' in deploymentOf(scaled).spec).toBe(false);
    expect(byKind(scaled, 'HorizontalPodAutoscaler')).toMatchObject({
      apiVersion: 'autoscaling/v2',
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'compress-all-service' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } } }],
      },
    });
  });

  it('renders the stabilization windows into the autoscaler behaviour, leaving the rates to the API defaults', () => {
    const windows = autoscaling({ scaleDownStabilizationSeconds: 15, scaleUpStabilizationSeconds: 5 });
    const hpa = byKind(renderManifests(spec({ autoscaling: windows })).objects, 'HorizontalPodAutoscaler') as V2HorizontalPodAutoscaler & { spec: object };
    expect(hpa.spec.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 5 },
      scaleDown: { stabilizationWindowSeconds: 15 },
    });
  });

  it('adds a PodDisruptionBudget only when more than one replica is always there', () => {
    expect(byKind(renderManifests(spec({ replicas: 1 })).objects, 'PodDisruptionBudget')).toBeUndefined();
    expect(byKind(renderManifests(spec({ replicas: 2 })).objects, 'PodDisruptionBudget')).toMatchObject({
      apiVersion: 'policy/v1',
      spec: { maxUnavailable: 1 },
    });
    const autoscaledFromOne = spec({ replicas: 3, autoscaling: autoscaling({ min: 1, max: 3 }) });
    expect(byKind(renderManifests(autoscaledFromOne).objects, 'PodDisruptionBudget')).toBeUndefined();
  });
});

describe('pod placement and extra metadata', () => {
  const SELECTOR = { [LABEL.name]: 'compress-all-service', [LABEL.instance]: 'compress-all-service' };
  const toleration = { key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' } as const;
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['cpu'] }] }] },
    },
  };

  it('renders the placement options into the pod template, and none of their fields when they are unset', () => {
    const placement = {
      topologySpread: true,
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      tolerations: [toleration],
      affinity,
      priorityClassName: 'batch-high',
      serviceAccountName: 'compress',
      imagePullSecrets: ['registry-a', 'registry-b'],
    };
    expect(podSpecOf(renderManifests(spec({ placement })).objects)).toMatchObject({
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      tolerations: [toleration],
      affinity,
      priorityClassName: 'batch-high',
      serviceAccountName: 'compress',
      imagePullSecrets: [{ name: 'registry-a' }, { name: 'registry-b' }],
      // A service account does not bring its token into the pod.
      automountServiceAccountToken: false,
    });
    const plain = podSpecOf(renderManifests(spec()).objects);
    for (const field of [
      'nodeSelector',
      'tolerations',
      'affinity',
      'priorityClassName',
      'topologySpreadConstraints',
      'serviceAccountName',
      'imagePullSecrets',
    ]) {
      expect(plain).not.toHaveProperty(field);
    }
  });

  it("spreads more than one pod across nodes by default, counting the service's own pods", () => {
    const spread = [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: SELECTOR } }];
    const spreadOf = (overrides: Partial<ServiceDeploySpec>) => podSpecOf(renderManifests(spec(overrides)).objects).topologySpreadConstraints;
    expect(spreadOf({ replicas: 3 })).toEqual(spread);
    expect(spreadOf({ replicas: 1 })).toBeUndefined();
    // An autoscaler that may add pods spreads them from the start.
    expect(spreadOf({ autoscaling: autoscaling({ min: 1, max: 3 }) })).toEqual(spread);
    expect(spreadOf({ autoscaling: autoscaling({ min: 1, max: 1 }) })).toBeUndefined();
    expect(spreadOf({ replicas: 3, placement: { topologySpread: false } })).toBeUndefined();
  });

  it("replaces the default spread with the user's constraints, each counting the service's pods unless it names its own", () => {
    const zone = { maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' } as const;
    const own = { ...zone, topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { tier: 'compute' } } };
    const constraints = podSpecOf(
      renderManifests(spec({ replicas: 3, placement: { topologySpread: true, topologySpreadConstraints: [zone, own] } })).objects,
    ).topologySpreadConstraints;
    expect(constraints).toEqual([{ ...zone, labelSelector: { matchLabels: SELECTOR } }, own]);
  });

  it("puts the user's labels and annotations on every object but the Namespace and on the pods, beside turbolift's", () => {
    const metadata = { labels: { team: 'search', 'example.com/cost-centre': '42' }, annotations: { 'example.com/owner': 'search@example.com' } };
    const { objects, contentHash } = renderManifests(spec({ createNamespace: true, replicas: 2, autoscaling: autoscaling({ min: 2 }), metadata }));
    expect(objects.map((object) => object.kind)).toEqual(['Namespace', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    for (const object of objects.filter((object) => object.kind !== 'Namespace')) {
      expect(object.metadata.labels).toMatchObject({ ...metadata.labels, ...SELECTOR, [LABEL.managedBy]: 'turbolift' });
      expect(object.metadata.annotations).toEqual({ ...metadata.annotations, [CONTENT_HASH_ANNOTATION]: contentHash });
    }
    expect(objects[0].metadata).toEqual({ name: 'demo', labels: { [LABEL.managedBy]: 'turbolift' } });
    const template = deploymentOf(objects).spec.template.metadata;
    expect(template.labels).toMatchObject({ ...metadata.labels, ...SELECTOR });
    // The pods get the user's annotations, never the hash (a Service change does not restart them).
    expect(template.annotations).toEqual(metadata.annotations);
    expect(deploymentOf(objects).spec.selector).toEqual({ matchLabels: SELECTOR });
  });

  it('renders any resource the options name, an extended one included', () => {
    const resources = { requests: { cpu: '1', memory: '256Mi', 'nvidia.com/gpu': '1' }, limits: { cpu: '1', memory: '256Mi', 'nvidia.com/gpu': '1' } };
    expect(containerOf(renderManifests(spec({ resources })).objects).resources).toEqual(resources);
  });
});

describe('content hash', () => {
  it('is the same for the same input, whatever the order of env keys', () => {
    const a = renderManifests(spec({ env: { A: '1', B: '2' } }));
    const b = renderManifests(spec({ env: { B: '2', A: '1' } }));
    expect(a.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.contentHash).toBe(a.contentHash);
    expect(b.objects).toEqual(a.objects);
  });

  it('changes with the image digest, the replicas, the env and the worker pool', () => {
    const base = renderManifests(spec()).contentHash;
    expect(renderManifests(spec({ image: { ...spec().image, digest: `sha256:${'cd'.repeat(32)}` } })).contentHash).not.toBe(base);
    expect(renderManifests(spec({ replicas: 2 })).contentHash).not.toBe(base);
    expect(renderManifests(spec({ env: { X: '1' } })).contentHash).not.toBe(base);
    expect(renderManifests(spec({ workers: 2 })).contentHash).not.toBe(base);
    expect(renderManifests(spec({ maxQueue: 8 })).contentHash).not.toBe(base);
  });

  it('changes with the placement, the extra metadata and extended resources, and not when they are the same', () => {
    const placed = (placement: Partial<ServiceDeploySpec['placement']>) =>
      renderManifests(spec({ placement: { topologySpread: true, ...placement } })).contentHash;
    const base = renderManifests(spec()).contentHash;
    const changed = [
      placed({ nodeSelector: { pool: 'cpu' } }),
      placed({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }),
      placed({ affinity: { podAntiAffinity: {} } }),
      placed({ priorityClassName: 'high' }),
      placed({ serviceAccountName: 'compress' }),
      placed({ imagePullSecrets: ['registry'] }),
      placed({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }] }),
      renderManifests(spec({ metadata: { labels: { team: 'a' }, annotations: {} } })).contentHash,
      renderManifests(spec({ metadata: { labels: {}, annotations: { note: 'a' } } })).contentHash,
      renderManifests(spec({ resources: { ...spec().resources, limits: { ...spec().resources.limits, 'nvidia.com/gpu': '1' } } })).contentHash,
    ];
    for (const hash of changed) expect(hash).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
    // Spread on or off only matters once a second pod may run.
    expect(placed({ topologySpread: false })).toBe(base);
    expect(renderManifests(spec({ replicas: 2, placement: { topologySpread: false } })).contentHash).not.toBe(
      renderManifests(spec({ replicas: 2 })).contentHash,
    );
    expect(placed({ nodeSelector: { pool: 'cpu' } })).toBe(placed({ nodeSelector: { pool: 'cpu' } }));
  });

  it('is stamped on every object but the shared Namespace, and not on the pod template (no restart for a Service change)', () => {
    const { objects, contentHash } = renderManifests(spec({ createNamespace: true, replicas: 2 }));
    for (const object of objects) {
      expect(object.metadata.annotations?.[CONTENT_HASH_ANNOTATION]).toBe(object.kind === 'Namespace' ? undefined : contentHash);
    }
    expect(deploymentOf(objects).spec.template.metadata.annotations).toBeUndefined();
  });
});

describe('renderYaml', () => {
  it('renders one document per object that reads back to the same objects', () => {
    const { objects } = renderManifests(spec({ createNamespace: true, replicas: 2, autoscaling: autoscaling({ min: 2, max: 3 }) }));
    const yaml = renderYaml(objects);
    expect(yaml.match(/^---$/gm)).toHaveLength(objects.length);
    const back = loadAllYaml(yaml).map((object) => JSON.parse(JSON.stringify(object)));
    expect(back).toEqual(JSON.parse(JSON.stringify(objects)));
  });
});

describe('names', () => {
  it('makes DNS-1123 labels from project names, dropping the npm scope', () => {
    expect(toDnsLabel('@acme/compress-all-service')).toBe('compress-all-service');
    expect(toDnsLabel('Compress_All.Service')).toBe('compress-all-service');
    expect(toDnsLabel(`x${'-y'.repeat(40)}`).length).toBeLessThanOrEqual(63);
    expect(() => toDnsLabel('@acme/___')).toThrow(/no letters or digits/);
  });

  it('makes label values from tags', () => {
    expect(toLabelValue('1.2.3+build/7')).toBe('1.2.3-build-7');
    expect(toLabelValue('-x-')).toBe('x');
  });
});

describe('renderManifests with patches', () => {
  const ownContainer = (patch: Record<string, unknown>) => ({
    kind: 'Deployment',
    patch: { spec: { template: { spec: { containers: [{ name: 'compress-all-service', ...patch }] } } } },
  });

  it('applies a strategic-merge patch to the Deployment, and hashes what is applied', () => {
    const plain = renderManifests(spec());
    const patched = renderManifests(spec({ patches: [ownContainer({ stdin: true, env: [{ name: 'EXTRA', value: '1' }] })] }));
    expect(containerOf(patched.objects)).toMatchObject({ stdin: true, name: 'compress-all-service' });
    expect(containerOf(patched.objects).env.map((entry: { name: string }) => entry.name)).toEqual([
      ...containerOf(plain.objects).env.map((entry: { name: string }) => entry.name),
      'EXTRA',
    ]);
    expect(patched.contentHash).not.toBe(plain.contentHash);
    expect(renderManifests(spec({ patches: [ownContainer({ stdin: true, env: [{ name: 'EXTRA', value: '1' }] })] })).contentHash).toBe(patched.contentHash);
    expect(deploymentOf(patched.objects).metadata.annotations[CONTENT_HASH_ANNOTATION]).toBe(patched.contentHash);
  });

  it('patches only the kind and name it names, in order', () => {
    const { objects } = renderManifests(
      spec({
        patches: [
          { kind: 'Service', name: 'compress-all-service', patch: { metadata: { annotations: { 'prometheus.io/scrape': 'true' } } } },
          { kind: 'Service', patch: { metadata: { annotations: { 'prometheus.io/scrape': 'false' } } } },
        ],
      }),
    );
    expect(byKind(objects, 'Service')?.metadata.annotations?.['prometheus.io/scrape']).toBe('false');
    expect(deploymentOf(objects).metadata.annotations['prometheus.io/scrape']).toBeUndefined();
  });

  it('may tune the probes but not remove them or move them', () => {
    const tuned = renderManifests(spec({ patches: [ownContainer({ readinessProbe: { periodSeconds: 5 } })] }));
    expect(containerOf(tuned.objects).readinessProbe).toMatchObject({ periodSeconds: 5, httpGet: { path: '/readyz' } });
    expect(() => renderManifests(spec({ patches: [ownContainer({ livenessProbe: null })] }))).toThrow(
      "patches[0] (Deployment) would change the container's livenessProbe, which deploy-k8s relies on; use the options for it, or patch other fields",
    );
    expect(() => renderManifests(spec({ patches: [ownContainer({ readinessProbe: { httpGet: { path: '/' } } })] }))).toThrow(/readinessProbe\.httpGet/);
  });

  it('refuses a patch that changes the selector, the selected labels or the name, or matches nothing', () => {
    const refused =
      (patch: Record<string, unknown>, kind = 'Deployment') =>
      () =>
        renderManifests(spec({ patches: [{ kind, patch }] }));
    expect(refused({ spec: { selector: { matchLabels: { app: 'x' } } } })).toThrow(/would change spec\.selector/);
    expect(refused({ spec: { template: { metadata: { labels: { [LABEL.instance]: 'other' } } } } })).toThrow(
      /spec\.template\.metadata\.labels\["app\.kubernetes\.io\/instance"\]/,
    );
    expect(refused({ spec: { selector: { app: 'x' } } }, 'Service')).toThrow(/patches\[0\] \(Service\) would change spec\.selector/);
    expect(refused({ metadata: { name: 'renamed' } })).toThrow(/metadata\.name/);
    expect(refused({}, 'HorizontalPodAutoscaler')).toThrow(
      'patches[0] (HorizontalPodAutoscaler) matches no rendered object (rendered: Service/compress-all-service, Deployment/compress-all-service)',
    );
    expect(refused({ spec: { template: { spec: { containers: [{ name: 'compress-all-service', $patch: 'delete' }] } } } })).toThrow(
      /would change the container "compress-all-service"/,
    );
  });
});

describe('renderManifests with a pull Secret', () => {
  const pullSecret = { name: 'compress-all-service-pull', dockerConfigJson: '{"auths":{"127.0.0.1:5001":{"auth":"dTpw"}}}' };

  it('renders the Secret before the Deployment and pulls with it after the named Secrets', () => {
    const { objects } = renderManifests(spec({ pullSecret, placement: { topologySpread: true, imagePullSecrets: ['team-registry'] } }));
    expect(objects.map((object) => object.kind)).toEqual(['Secret', 'Service', 'Deployment']);
    expect(objects[0]).toMatchObject({
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: 'compress-all-service-pull', namespace: 'demo', labels: { [LABEL.instance]: 'compress-all-service' } },
      data: { '.dockerconfigjson': Buffer.from(pullSecret.dockerConfigJson).toString('base64') },
    });
    expect(podSpecOf(objects).imagePullSecrets).toEqual([{ name: 'team-registry' }, { name: 'compress-all-service-pull' }]);
  });

  it('changes the hash when the credentials change, but not the pod template', () => {
    const before = renderManifests(spec({ pullSecret }));
    const after = renderManifests(spec({ pullSecret: { ...pullSecret, dockerConfigJson: '{"auths":{"127.0.0.1:5001":{"auth":"dTpx"}}}' } }));
    expect(after.contentHash).not.toBe(before.contentHash);
    expect(deploymentOf(after.objects).spec.template).toEqual(deploymentOf(before.objects).spec.template);
  });
});
