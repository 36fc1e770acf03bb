import { describe, expect, it } from 'vitest';
import { loadAllYaml } from '@kubernetes/client-node';
import { AUTH } from '@turbolift/runtime/contract';
import { COPIED_FROM_ANNOTATION, callersSecretComment, planCallersSecrets, renderCallersSecret } from './auth';
import { LABEL, managedObjectsSelector } from './labels';
import { RENDERED_KINDS, renderManifests } from './manifests';
import type { KubernetesManifest, ServiceDeploySpec } from './types';
import { renderYaml } from './yaml';

function spec(overrides: Partial<ServiceDeploySpec> = {}): ServiceDeploySpec {
  return {
    name: 'compress-all-service',
    namespace: 'demo',
    partOf: '@acme/source',
    image: { service: 'compress-all-service', image: '127.0.0.1:5000/compress-all-service', tag: 'abc123', digest: `sha256:${'ab'.repeat(32)}` },
    replicas: 1,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    autoscaling: { enabled: false, min: 1, max: 5, targetCPU: 80, scaleDownStabilizationSeconds: 300, scaleUpStabilizationSeconds: 0 },
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const deploymentOf = (objects: KubernetesManifest[]) => objects.find((object) => object.kind === 'Deployment') as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const policyOf = (objects: KubernetesManifest[]) => objects.find((object) => object.kind === 'NetworkPolicy') as any;
const base64 = (text: string) => Buffer.from(text).toString('base64');
/** Whether a label selector `k=v,k2=v2` matches `labels`. */
const selects = (selector: string, labels: Record<string, string> = {}) =>
  selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key] === value;
  });

describe('the service pods with auth on (the default)', () => {
  const deployment = deploymentOf(renderManifests(spec()).objects);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('mount the callers Secret read-only at AUTH.mountDir, every key of it (previous may be absent)', () => {
    expect(pod.volumes).toContainEqual({ name: 'turbolift-callers', secret: { secretName: AUTH.secretName } });
    expect(pod.volumes.find((volume: { name: string }) => volume.name === 'turbolift-callers').secret.items).toBeUndefined();
    expect(container.volumeMounts).toContainEqual({ name: 'turbolift-callers', mountPath: AUTH.mountDir, readOnly: true });
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  it('point AUTH.tokenDirEnv at the mount and leave the check on', () => {
    expect(container.env).toContainEqual({ name: AUTH.tokenDirEnv, value: AUTH.mountDir });
    expect(container.env.map(({ name }: { name: string }) => name)).not.toContain(AUTH.authEnv);
  });

  it('carry the caller label on the pods only, beside the selector labels', () => {
    expect(deployment.spec.template.metadata.labels).toMatchObject({ [AUTH.callerLabel]: 'true', [LABEL.instance]: 'compress-all-service' });
    expect(deployment.spec.selector.matchLabels[AUTH.callerLabel]).toBeUndefined();
    expect(deployment.metadata.labels[AUTH.callerLabel]).toBeUndefined();
  });
});

describe('auth: false', () => {
  const { objects, contentHash } = renderManifests(spec({ auth: { enabled: false, callerNamespaces: [] } }));
  const pod = deploymentOf(objects).spec.template.spec;

  it('sets TURBOLIFT_AUTH=off and mounts nothing', () => {
    expect(pod.containers[0].env).toContainEqual({ name: AUTH.authEnv, value: 'off' });
    expect(pod.containers[0].env.map(({ name }: { name: string }) => name)).not.toContain(AUTH.tokenDirEnv);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    // The pods may still call other services.
    expect(deploymentOf(objects).spec.template.metadata.labels[AUTH.callerLabel]).toBe('true');
  });

  it('is another desired state: another content hash', () => {
    expect(contentHash).not.toBe(renderManifests(spec()).contentHash);
  });

  it('plans no Secret', () => {
    expect(planCallersSecrets(spec({ auth: { enabled: false, callerNamespaces: [] } }), undefined)).toEqual({ copies: [], warnings: [] });
  });
});

describe('planCallersSecrets', () => {
  const token = () => 'new-token';

  it('creates the Secret with a random token under AUTH.currentKey when the namespace has none', () => {
    const plan = planCallersSecrets(spec(), undefined);
    expect(plan.create).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: AUTH.secretName, namespace: 'demo' } });
    const value = Buffer.from((plan.create!.data as Record<string, string>)[AUTH.currentKey], 'base64').toString();
    // 32 random bytes as base64url: 43 characters, no padding.
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(plan.create!.data as object)).toEqual([AUTH.currentKey]);
    expect(planCallersSecrets(spec(), undefined).create!.data).not.toEqual(plan.create!.data);
  });

  it('never writes over an existing Secret: a rotation is the user’s', () => {
    const existing = { data: { [AUTH.currentKey]: base64('mine'), [AUTH.previousKey]: base64('old') } };
    const plan = planCallersSecrets(spec(), existing, new Map(), token);
    expect(plan.create).toBeUndefined();
    expect(plan.warnings).toEqual([]);
  });

  it('copies the current tokens (previous included, nothing else) to each callers namespace, sorted, not to its own', () => {
    const existing = { data: { [AUTH.currentKey]: base64('mine'), [AUTH.previousKey]: base64('old'), other: base64('x') } };
    const plan = planCallersSecrets(spec({ auth: { enabled: true, callerNamespaces: ['web', 'demo', 'batch'] } }), existing);
    expect(plan.copies.map((copy) => copy.metadata.namespace)).toEqual(['batch', 'web']);
    expect(plan.copies[0]).toMatchObject({
      kind: 'Secret',
      metadata: { name: AUTH.secretName, annotations: { [COPIED_FROM_ANNOTATION]: 'demo' } },
      data: { [AUTH.currentKey]: base64('mine'), [AUTH.previousKey]: base64('old') },
    });
    expect(plan.copies[0].data).not.toHaveProperty('other');
  });

  it('copies the token it creates', () => {
    const plan = planCallersSecrets(spec({ auth: { enabled: true, callerNamespaces: ['web'] } }), undefined, new Map(), token);
    expect(plan.copies[0].data).toEqual({ [AUTH.currentKey]: base64('new-token') });
  });

  it('updates its own copy, and refuses a callers namespace whose Secret is its own or copied from elsewhere', () => {
    const existing = { data: { [AUTH.currentKey]: base64('mine') } };
    const withCallers = spec({ auth: { enabled: true, callerNamespaces: ['web'] } });
    const ours = new Map([['web', { metadata: { annotations: { [COPIED_FROM_ANNOTATION]: 'demo' } } }]]);
    expect(planCallersSecrets(withCallers, existing, ours).copies).toHaveLength(1);
    expect(() => planCallersSecrets(withCallers, existing, new Map([['web', { data: {} }]]))).toThrow(/web, whose Secret\/turbolift-callers is its own/);
    const elsewhere = new Map([['web', { metadata: { annotations: { [COPIED_FROM_ANNOTATION]: 'other' } } }]]);
    expect(() => planCallersSecrets(withCallers, existing, elsewhere)).toThrow(/a copy from namespace other/);
  });

  it('warns about a Secret without a token', () => {
    expect(planCallersSecrets(spec(), { data: {} }).warnings).toEqual([expect.stringMatching(/has no key "token"/)]);
  });

  it('gives the Secret no service labels, so neither prune nor undeploy ever selects it', () => {
    const secret = renderCallersSecret('demo', 'x');
    expect(selects(managedObjectsSelector('compress-all-service'), secret.metadata.labels)).toBe(false);
    expect(secret.metadata.labels).toEqual({ [LABEL.managedBy]: 'turbolift', [LABEL.component]: 'callers' });
    for (const copy of planCallersSecrets(spec({ auth: { enabled: true, callerNamespaces: ['web'] } }), undefined).copies) {
      expect(selects(managedObjectsSelector('compress-all-service'), copy.metadata.labels)).toBe(false);
    }
  });

  it('is not among the rendered objects (it is never printed, nor hashed)', () => {
    expect(renderManifests(spec()).objects.map((object) => object.kind)).toEqual(['Service', 'Deployment']);
  });
});

describe('the NetworkPolicy', () => {
  it('is rendered only when asked for, before the Service and the Deployment, and pruned, rolled back and undeployed like the others', () => {
    expect(policyOf(renderManifests(spec()).objects)).toBeUndefined();
    const { objects } = renderManifests(spec({ networkPolicy: { namespaces: [] }, createNamespace: true }));
    expect(objects.map((object) => object.kind)).toEqual(['Namespace', 'NetworkPolicy', 'Service', 'Deployment']);
    expect(RENDERED_KINDS).toContainEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', optional: true });
  });

  it('lets in caller-labelled pods of its own namespace only, to the container port', () => {
    const policy = policyOf(renderManifests(spec({ networkPolicy: { namespaces: [] } })).objects);
    expect(policy.metadata).toMatchObject({ name: 'compress-all-service', namespace: 'demo', labels: { [LABEL.instance]: 'compress-all-service' } });
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { [LABEL.name]: 'compress-all-service', [LABEL.instance]: 'compress-all-service' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { [AUTH.callerLabel]: 'true' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    });
  });

  it('and caller-labelled pods of the chosen namespaces, selected by kubernetes.io/metadata.name', () => {
    const policy = policyOf(renderManifests(spec({ networkPolicy: { namespaces: ['batch', 'web'] } })).objects);
    expect(policy.spec.ingress[0].from[1]).toEqual({
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['batch', 'web'] }] },
      podSelector: { matchLabels: { [AUTH.callerLabel]: 'true' } },
    });
  });

  it('changes the content hash, and its namespaces do too', () => {
    const hashes = [undefined, { namespaces: [] }, { namespaces: ['web'] }].map((networkPolicy) => renderManifests(spec({ networkPolicy })).contentHash);
    expect(new Set(hashes).size).toBe(3);
  });

  it('may be patched, but not its podSelector', () => {
    const patched = (patch: Record<string, unknown>) => () =>
      renderManifests(spec({ networkPolicy: { namespaces: [] }, patches: [{ kind: 'NetworkPolicy', patch }] }));
    expect(patched({ spec: { policyTypes: ['Ingress', 'Egress'] } })).not.toThrow();
    expect(patched({ spec: { podSelector: { matchLabels: { other: 'x' } } } })).toThrow(/spec\.podSelector/);
  });
});

describe('the dry run YAML', () => {
  it('says which Secret is created when absent, prints no token, and still parses as the objects', () => {
    const desired = spec({ networkPolicy: { namespaces: ['web'] }, auth: { enabled: true, callerNamespaces: ['web'] } });
    const yaml = `${callersSecretComment(desired)}${renderYaml(renderManifests(desired).objects)}`;
    expect(yaml).toMatch(/^# Secret\/turbolift-callers in namespace demo \(key token, a random token\) is created when absent/);
    expect(yaml).toMatch(/^# Its token and previous are copied to Secret\/turbolift-callers in web\.$/m);
    expect(loadAllYaml(yaml).map((object) => (object as KubernetesManifest).kind)).toEqual(['NetworkPolicy', 'Service', 'Deployment']);
    expect(yaml).not.toMatch(/kind: Secret/);
  });

  it('with auth off, says so instead', () => {
    expect(callersSecretComment(spec({ auth: { enabled: false, callerNamespaces: [] } }))).toBe(
      '# compress-all-service: warning: auth is off (TURBOLIFT_AUTH=off): any pod that can reach Service/compress-all-service in demo may call it\n',
    );
  });
});
