import { describe, expect, it } from 'vitest';
import type { ApplyOutcome } from './apply';
import { renderManifests } from './manifests';
import { extractFields, planRollback, restorableState, stripServerFields, type FieldSet, type LiveObject } from './rollback-plan';
import type { KubernetesManifest, ServiceDeploySpec } from './types';

const spec: ServiceDeploySpec = {
  name: 'echo-service',
  namespace: 'apps',
  partOf: 'acme',
  image: { service: 'echo-service', image: '127.0.0.1:5000/echo', tag: 'v1', digest: 'sha256:' + 'a'.repeat(64), pushed: true },
  replicas: 2,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
  autoscaling: { enabled: false, min: 1, max: 5, targetCPU: 80, scaleDownStabilizationSeconds: 300, scaleUpStabilizationSeconds: 0 },
  env: {},
  drainMs: 5000,
  workers: 1,
  createNamespace: false,
  placement: { topologySpread: true },
  metadata: { labels: {}, annotations: {} },
  patches: [],
  auth: { enabled: true, callerNamespaces: [] },
};

/** A Deployment as the API server returns it after turbolift applied it and the controller rolled it out. */
function liveDeployment(options: { contentHash: string; env: Array<{ name: string; value: string }>; replicas: number; ownsReplicas: boolean }): LiveObject {
  const turboliftFields: FieldSet = {
    'f:metadata': { 'f:annotations': { 'f:turbolift.dev/content-hash': {} }, 'f:labels': { 'f:app.kubernetes.io/name': {} } },
    'f:spec': {
      ...(options.ownsReplicas ? { 'f:replicas': {} } : {}),
      'f:template': {
        'f:spec': {
          'f:containers': {
            'k:{"name":"echo-service"}': {
              '.': {},
              'f:env': Object.fromEntries(options.env.map(({ name }) => [`k:{"name":"${name}"}`, { '.': {}, 'f:name': {}, 'f:value': {} }])),
              'f:image': {},
              'f:name': {},
              'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {} } },
              'f:securityContext': { 'f:capabilities': { 'f:drop': {} } },
            },
          },
          'f:volumes': { 'k:{"name":"tmp"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } },
        },
      },
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'echo-service',
      namespace: 'apps',
      uid: '1234',
      resourceVersion: '99',
      generation: 3,
      creationTimestamp: '2026-12-01T00:00:00Z',
      labels: { 'app.kubernetes.io/name': 'echo-service' },
      annotations: { 'turbolift.dev/content-hash': options.contentHash, 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/note': 'theirs' },
      managedFields: [
        { manager: 'turbolift', operation: 'Apply', fieldsV1: turboliftFields },
        ...(options.ownsReplicas ? [] : [{ manager: 'turbolift-replicas', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }]),
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } }, 'f:status': { 'f:replicas': {} } },
        },
        { manager: 'kubectl-annotate', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:kubectl.kubernetes.io/note': {} } } } },
      ],
    },
    spec: {
      replicas: options.replicas,
      progressDeadlineSeconds: 600,
      template: {
        metadata: { creationTimestamp: null },
        spec: {
          dnsPolicy: 'ClusterFirst',
          containers: [
            {
              name: 'echo-service',
              image: 'echo@sha256:old',
              env: options.env,
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              securityContext: { capabilities: { drop: ['ALL'] } },
              terminationMessagePath: '/dev/termination-log',
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
    status: { replicas: options.replicas, observedGeneration: 3 },
  };
}

const outcomesOf = (objects: readonly KubernetesManifest[], action: ApplyOutcome['action']): ApplyOutcome[] =>
  objects.map((object) => ({ kind: object.kind, name: object.metadata.name, action }));

describe('extractFields', () => {
  it('picks map fields, keyed list items (with their keys), set items and whole values', () => {
    const value = {
      a: 1,
      b: { c: 2, d: 3 },
      list: [
        { name: 'x', value: '1', other: true },
        { name: 'y', value: '2' },
      ],
      set: ['p', 'q'],
      atomic: { m: 1, n: 2 },
    };
    const fields: FieldSet = {
      'f:a': {},
      'f:b': { 'f:d': {} },
      'f:list': { 'k:{"name":"y"}': { '.': {}, 'f:value': {} }, 'k:{"name":"gone"}': {} },
      'f:set': { 'v:"q"': {} },
      'f:atomic': {},
      'f:missing': {},
    };
    expect(extractFields(value, fields)).toEqual({ a: 1, b: { d: 3 }, list: [{ name: 'y', value: '2' }], set: ['q'], atomic: { m: 1, n: 2 } });
  });

  it('keeps the list order of the live object', () => {
    expect(extractFields([{ k: 1 }, { k: 2 }, { k: 3 }], { 'k:{"k":3}': {}, 'k:{"k":1}': {} })).toEqual([{ k: 1 }, { k: 3 }]);
    expect(extractFields(['a', 'b'], { 'i:1': {} })).toEqual(['b']);
  });
});

describe('restorableState', () => {
  it("is turbolift's own fields with their values before the deploy, the content hash included, nothing the server or others wrote", () => {
    const prior = liveDeployment({ contentHash: 'good', env: [{ name: 'HOST', value: '0.0.0.0' }], replicas: 2, ownsReplicas: true });
    const manifest = restorableState(prior, 'Deployment');
    expect(manifest).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'echo-service',
        namespace: 'apps',
        annotations: { 'turbolift.dev/content-hash': 'good' },
        labels: { 'app.kubernetes.io/name': 'echo-service' },
      },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              {
                name: 'echo-service',
                image: 'echo@sha256:old',
                env: [{ name: 'HOST', value: '0.0.0.0' }],
                ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
                securityContext: { capabilities: { drop: ['ALL'] } },
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    });
  });

  it("leaves an autoscaled Deployment's replica count to its owner", () => {
    const prior = liveDeployment({ contentHash: 'good', env: [], replicas: 4, ownsReplicas: false });
    expect((restorableState(prior, 'Deployment').spec as { replicas?: number }).replicas).toBeUndefined();
  });

  it('without an apply of ours, is the whole object less status, server metadata, the revision and the replica count', () => {
    const prior = liveDeployment({ contentHash: 'good', env: [], replicas: 2, ownsReplicas: true });
    prior.metadata!.managedFields = [];
    const manifest = restorableState(prior, 'Deployment');
    expect(manifest.metadata).toEqual({
      name: 'echo-service',
      namespace: 'apps',
      labels: { 'app.kubernetes.io/name': 'echo-service' },
      annotations: { 'turbolift.dev/content-hash': 'good', 'kubectl.kubernetes.io/note': 'theirs' },
    });
    expect(manifest).not.toHaveProperty('status');
    expect(manifest.spec).not.toHaveProperty('replicas');
    expect((manifest.spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds).toBe(600);
    expect(stripServerFields({ kind: 'Service', metadata: { annotations: { 'deployment.kubernetes.io/revision': '1' } } })).toEqual({
      kind: 'Service',
      metadata: {},
    });
  });
});

describe('planRollback', () => {
  const { objects } = renderManifests(spec);
  const before = new Map<string, LiveObject>([
    [
      'Service/echo-service',
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo-service', namespace: 'apps', managedFields: [] }, spec: { type: 'ClusterIP' } },
    ],
    ['Deployment/echo-service', liveDeployment({ contentHash: 'good', env: [], replicas: 2, ownsReplicas: true })],
  ]);

  it('has nothing to do for an unchanged deploy', () => {
    expect(planRollback(outcomesOf(objects, 'unchanged'), before, objects)).toEqual({ steps: [], kept: [], restoresDeployment: false });
  });

  it('restores what the deploy configured, in render order, and waits for the Deployment; what was not there before goes', () => {
    const plan = planRollback(outcomesOf(objects, 'configured'), before, objects);
    expect(plan.steps.map((step) => `${step.action} ${step.kind}`)).toEqual(['delete PodDisruptionBudget', 'restore Service', 'restore Deployment']);
    expect(plan.restoresDeployment).toBe(true);
    const deployment = plan.steps.find((step) => step.kind === 'Deployment');
    expect(deployment).toMatchObject({ manifest: { metadata: { annotations: { 'turbolift.dev/content-hash': 'good' } } } });
    expect(deployment).not.toHaveProperty('handOverReplicas');
  });

  it('deletes what a first deploy created, the Deployment before the Service, and keeps the Namespace', () => {
    const first = renderManifests({ ...spec, createNamespace: true }).objects;
    const plan = planRollback(outcomesOf(first, 'created'), new Map(), first);
    expect(plan.steps).toEqual([
      { action: 'delete', kind: 'PodDisruptionBudget', name: 'echo-service', apiVersion: 'policy/v1', namespace: 'apps' },
      { action: 'delete', kind: 'Deployment', name: 'echo-service', apiVersion: 'apps/v1', namespace: 'apps' },
      { action: 'delete', kind: 'Service', name: 'echo-service', apiVersion: 'v1', namespace: 'apps' },
    ]);
    expect(plan.kept).toEqual(['Namespace/apps']);
    expect(plan.restoresDeployment).toBe(false);
  });

  it('recreates what the deploy pruned, and deletes an autoscaler it added before restoring the Deployment', () => {
    const autoscaled = renderManifests({ ...spec, autoscaling: { ...spec.autoscaling, enabled: true, min: 2, max: 4 } }).objects;
    const withPdb = new Map(before).set('PodDisruptionBudget/echo-service', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: 'echo-service',
        namespace: 'apps',
        managedFields: [{ manager: 'turbolift', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:maxUnavailable': {} } } }],
      },
      spec: { maxUnavailable: 1 },
    });
    const outcomes: ApplyOutcome[] = [
      { kind: 'Service', name: 'echo-service', action: 'configured' },
      { kind: 'Deployment', name: 'echo-service', action: 'configured' },
      { kind: 'HorizontalPodAutoscaler', name: 'echo-service', action: 'created' },
      { kind: 'PodDisruptionBudget', name: 'echo-service', action: 'pruned' },
    ];
    const plan = planRollback(outcomes, withPdb, autoscaled);
    expect(plan.steps.map((step) => `${step.action} ${step.kind}`)).toEqual([
      'delete HorizontalPodAutoscaler',
      'restore Service',
      'restore Deployment',
      'recreate PodDisruptionBudget',
    ]);
    expect(plan.steps[3]).toMatchObject({ manifest: { apiVersion: 'policy/v1', spec: { maxUnavailable: 1 } } });
  });

  it('hands the replica count to its own manager when a fixed-size deploy of an autoscaled Deployment is undone', () => {
    const autoscaledBefore = new Map(before).set('Deployment/echo-service', liveDeployment({ contentHash: 'good', env: [], replicas: 3, ownsReplicas: false }));
    const plan = planRollback(outcomesOf(objects, 'configured'), autoscaledBefore, objects);
    expect(plan.steps.find((step) => step.kind === 'Deployment')).toMatchObject({ action: 'restore', handOverReplicas: 3 });
  });

  it('skips a pruned object it never read', () => {
    const plan = planRollback([{ kind: 'Secret', name: 'pull', action: 'pruned' }], new Map(), objects);
    expect(plan.steps).toEqual([]);
  });
});
