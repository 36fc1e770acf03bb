// Pure renderers: the desired state of one lifted service as Kubernetes objects (data, no I/O).
import { createHash } from 'node:crypto';
import { CONTENT_HASH_ANNOTATION, LABEL, MANAGED_BY, commonLabels, selectorLabels } from './labels';
import { DEFAULT_CALL_TIMEOUT_MS, HEALTH_PATH, READY_PATH, SERVICE_ENV, workerPoolEnv } from '../service/runtime-settings';
import { applyPatches } from './patches';
import { callerAuthEnv, callerAuthVolumes, callerPodLabels } from './auth';
import { renderNetworkPolicy } from './network-policy';
import type { ImageRecord, KubernetesManifest, PullSecret, ServiceDeploySpec, TopologySpreadConstraint } from './types';

export const CONTAINER_PORT = 8080;
export const SERVICE_PORT = 80;
export const PORT_NAME = 'http';
/** Seconds the kubelet waits after SIGTERM beyond the drain and the calls in flight, so neither is cut short. */
export const TERMINATION_MARGIN_SECONDS = 10;
const RUN_AS_USER = 1000;

/**
 * Every kind deploy-k8s renders for a service (the Namespace aside: it may be shared), in the order undeploy deletes
 * them: the autoscaler and the budget before what they point at, the pull Secret after the pods that pull with it.
 * `optional` kinds are rendered only under some options, so a deploy prunes the ones its options no longer ask for.
 */
export const RENDERED_KINDS: ReadonlyArray<{ apiVersion: string; kind: string; plural: string; optional: boolean }> = [
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', optional: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', optional: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', optional: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', optional: false },
  // After the pods: while any is left, only callers reach it.
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', optional: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', optional: true },
];

export interface RenderedManifests {
  /**
   * In apply order: Namespace (optional), pull Secret (optional), NetworkPolicy (optional; before the pods, so that none
   * is open to every pod for a moment), Service, Deployment, HPA (optional), PDB (optional). The callers Secret is not
   * among them: it is made only when absent and never carries a service's labels (see `auth.ts`).
   */
  objects: KubernetesManifest[];
  /** sha256 of the desired state; stamped on every object but the Namespace as `turbolift.dev/content-hash`. */
  contentHash: string;
}

/** `repo@sha256:…` when the registry digest is known (what runs cannot drift from what was built), else `repo:tag`. */
export function imageReference(image: Pick<ImageRecord, 'image' | 'tag' | 'digest'>): string {
  return image.digest ? `${image.image}@${image.digest}` : `${image.image}:${image.tag}`;
}

/** Replicas that are always there: the autoscaler's floor when it is on, else the fixed count. */
export function minimumReplicas(spec: Pick<ServiceDeploySpec, 'replicas' | 'autoscaling'>): number {
  return spec.autoscaling.enabled ? spec.autoscaling.min : spec.replicas;
}

/** Most pods that may run at once: the autoscaler's ceiling when it is on, else the fixed count. */
export function maximumReplicas(spec: Pick<ServiceDeploySpec, 'replicas' | 'autoscaling'>): number {
  return spec.autoscaling.enabled ? spec.autoscaling.max : spec.replicas;
}

export function renderManifests(spec: ServiceDeploySpec): RenderedManifests {
  const rendered: KubernetesManifest[] = [];
  if (spec.createNamespace) rendered.push(renderNamespace(spec));
  if (spec.pullSecret) rendered.push(renderPullSecret(spec, spec.pullSecret));
  if (spec.networkPolicy) rendered.push(renderNetworkPolicy(spec, spec.networkPolicy, objectMetadata(spec), CONTAINER_PORT));
  rendered.push(renderService(spec), renderDeployment(spec));
  if (spec.autoscaling.enabled) rendered.push(renderHorizontalPodAutoscaler(spec));
  if (minimumReplicas(spec) > 1) rendered.push(renderPodDisruptionBudget(spec));
  // Patched before hashing: the hash covers what is applied, so an unchanged patched deploy still writes nothing.
  const objects = applyPatches(rendered, spec.patches);
  const contentHash = hashDesiredState(objects);
  return { objects: objects.map((object) => stampContentHash(object, contentHash)), contentHash };
}

/** Shared by many services, so none of one service's labels or annotations. */
export function renderNamespace(spec: Pick<ServiceDeploySpec, 'namespace'>): KubernetesManifest {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: spec.namespace, labels: { [LABEL.managedBy]: MANAGED_BY } },
  };
}

/** The user's labels under turbolift's own (normalisation refuses a clash; turbolift's would win anyway). */
function labelsOf(spec: ServiceDeploySpec): Record<string, string> {
  return { ...spec.metadata.labels, ...commonLabels(spec) };
}

/** The user's annotations, only when there are any (the content hash is stamped on top later). */
function annotationsOf(spec: ServiceDeploySpec): { annotations?: Record<string, string> } {
  return Object.keys(spec.metadata.annotations).length > 0 ? { annotations: { ...spec.metadata.annotations } } : {};
}

function objectMetadata(spec: ServiceDeploySpec): KubernetesManifest['metadata'] {
  return { name: spec.name, namespace: spec.namespace, labels: labelsOf(spec), ...annotationsOf(spec) };
}

/**
 * The user's constraints, each counting the service's own pods unless it says otherwise; else, when more than one
 * pod may run, one across nodes, so that losing a node does not take every replica with it. ScheduleAnyway: on a
 * cluster with fewer nodes than pods the extra pods still run, stacked.
 */
export function topologySpreadConstraints(spec: ServiceDeploySpec): TopologySpreadConstraint[] | undefined {
  const ownPods = { matchLabels: selectorLabels(spec) };
  const { placement } = spec;
  if (placement.topologySpreadConstraints) {
    return placement.topologySpreadConstraints.map((constraint) => ({ labelSelector: ownPods, ...constraint }));
  }
  if (!placement.topologySpread || maximumReplicas(spec) <= 1) return undefined;
  return [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: ownPods }];
}

/** The placement fields that are set, in the pod spec's own names. */
function renderPlacement(spec: ServiceDeploySpec): Record<string, unknown> {
  const { nodeSelector, tolerations, affinity, priorityClassName, serviceAccountName } = spec.placement;
  const fields: Record<string, unknown> = {
    nodeSelector: nodeSelector && { ...nodeSelector },
    tolerations,
    affinity,
    priorityClassName,
    topologySpreadConstraints: topologySpreadConstraints(spec),
    serviceAccountName,
    imagePullSecrets: pullSecretNames(spec)?.map((name) => ({ name })),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The named Secrets, then the one createPullSecret made. */
function pullSecretNames(spec: ServiceDeploySpec): string[] | undefined {
  const names = [...(spec.placement.imagePullSecrets ?? []), ...(spec.pullSecret ? [spec.pullSecret.name] : [])];
  return names.length > 0 ? [...new Set(names)] : undefined;
}

/** The credentials for the image's registry only, as the kubelet reads them. */
export function renderPullSecret(spec: ServiceDeploySpec, secret: PullSecret): KubernetesManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...objectMetadata(spec), name: secret.name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(secret.dockerConfigJson).toString('base64') },
  };
}

export function renderDeployment(spec: ServiceDeploySpec): KubernetesManifest {
  const env = renderEnv(spec);
  const callers = callerAuthVolumes(spec.auth);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMetadata(spec),
    spec: {
      // With an autoscaler the replica count is its field: setting it here would make every apply fight it.
      ...(spec.autoscaling.enabled ? {} : { replicas: spec.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(spec) },
      // Never below the wanted count during a rollout: one new pod at a time, an old one goes when it is ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        // The user's annotations only: the content hash stays off the template, so a change to another object
        // (the Service, the autoscaler) does not restart the pods.
        // The caller label lets the pods through NetworkPolicies of other services: functions call functions.
        metadata: { labels: { ...labelsOf(spec), ...callerPodLabels() }, ...annotationsOf(spec) },
        spec: {
          // Even with a serviceAccountName: the function has no use for the API, and a token would be one more secret in the pod.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: terminationGracePeriodSeconds(spec),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS_USER,
            runAsGroup: RUN_AS_USER,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...renderPlacement(spec),
          containers: [
            {
              name: spec.name,
              image: imageReference(spec.image),
              ...(spec.image.digest ? { imagePullPolicy: 'IfNotPresent' } : {}),
              ports: [{ name: PORT_NAME, containerPort: CONTAINER_PORT, protocol: 'TCP' }],
              env,
              // The function runs on worker threads, so the main thread answers probes even with every
              // worker busy; what can still slow an answer is the node: CFS throttling of the pod at its CPU
              // limit (the main thread waits for the next 100 ms period), a busy kubelet, GC pauses.
              // Readiness decides where calls go: a busy pod that briefly answered late and left the Service
              // would push its load onto the others, so it takes 3 missed probes (6 s) to leave. Draining needs
              // no probe: a terminating pod leaves the endpoints at once.
              readinessProbe: {
                httpGet: { path: READY_PATH, port: PORT_NAME },
                periodSeconds: 2,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              // Liveness restarts the container and loses every call in it, so it only acts on a main thread
              // that has not answered for 30 s (3 probes, 5 s each to answer), never on a merely busy pod.
              // With workers 0 the function runs on the main thread: a call longer than that restarts the pod.
              livenessProbe: {
                httpGet: { path: HEALTH_PATH, port: PORT_NAME },
                initialDelaySeconds: 5,
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 3,
              },
              resources: {
                requests: { ...spec.resources.requests },
                limits: { ...spec.resources.limits },
              },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: RUN_AS_USER,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              // The root filesystem is read-only; Node and libraries that need scratch space get /tmp. The callers
              // Secret (auth on) holds the tokens the service accepts, and the one its own stubs send.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...callers.volumeMounts],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...callers.volumes],
        },
      },
    },
  };
}

/**
 * The runtime lets the calls in flight finish before it exits, and ends a call at its time limit (its
 * default when unset). The grace period covers the drain plus one whole call, so a rollout never kills a
 * call the limit allows; with 0 (no limit) there is no call length to wait for and it covers the drain only.
 * The pod still exits as soon as its calls are done: a long grace period costs nothing when they are short.
 */
function terminationGracePeriodSeconds(spec: Pick<ServiceDeploySpec, 'drainMs' | 'callTimeoutMs'>): number {
  return Math.ceil((spec.drainMs + (spec.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS)) / 1000) + TERMINATION_MARGIN_SECONDS;
}

type EnvVar = { name: string; value: string } | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

function renderEnv(spec: ServiceDeploySpec): EnvVar[] {
  const fixed: Record<string, string> = {
    [SERVICE_ENV.host]: '0.0.0.0',
    [SERVICE_ENV.port]: String(CONTAINER_PORT),
    [SERVICE_ENV.drainMs]: String(spec.drainMs),
    ...workerPoolEnv(spec),
    ...callerAuthEnv(spec.auth),
  };
  // Calls the function makes to other lifted functions go through their Services, as any caller's in the
  // cluster do (with the token mounted above), unless the user's env says otherwise.
  const defaults: Record<string, string> = { [SERVICE_ENV.mode]: 'distributed' };
  const own = { ...fixed, ...Object.fromEntries(Object.entries(defaults).filter(([name]) => !(name in spec.env))) };
  const extra = Object.keys(spec.env)
    .filter((name) => !(name in fixed))
    .sort()
    .map((name) => ({ name, value: spec.env[name] }));
  // Service pods mount no service account token, so the stub cannot read its namespace from one: the
  // downward API gives it, and calls to other lifted functions stay in the pod's own namespace.
  const namespace: EnvVar[] =
    SERVICE_ENV.namespace in spec.env ? [] : [{ name: SERVICE_ENV.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }];
  return [...Object.entries(own).map(([name, value]) => ({ name, value })), ...namespace, ...extra];
}

export function renderService(spec: ServiceDeploySpec): KubernetesManifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMetadata(spec),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(spec),
      ports: [{ name: PORT_NAME, port: SERVICE_PORT, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
}

export function renderHorizontalPodAutoscaler(spec: ServiceDeploySpec): KubernetesManifest {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMetadata(spec),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: spec.name },
      minReplicas: spec.autoscaling.min,
      maxReplicas: spec.autoscaling.max,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.autoscaling.targetCPU } },
        },
      ],
      // Only the windows: the API server fills in its default rates (up: double or +4 pods per 15 s; down:
      // any surplus per 15 s), which suit pods that drain before they go. The scale-down window is what keeps a
      // bursty load from removing pods between bursts and paying their start again.
      behavior: {
        scaleUp: { stabilizationWindowSeconds: spec.autoscaling.scaleUpStabilizationSeconds },
        scaleDown: { stabilizationWindowSeconds: spec.autoscaling.scaleDownStabilizationSeconds },
      },
    },
  };
}

/** Only rendered with more than one replica: a budget over a single pod would block every node drain. */
export function renderPodDisruptionBudget(spec: ServiceDeploySpec): KubernetesManifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMetadata(spec),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(spec) } },
  };
}

/** sha256 over the objects with their keys sorted, so the same desired state always gives the same hash. */
export function hashDesiredState(objects: readonly KubernetesManifest[]): string {
  return createHash('sha256').update(canonicalJson(objects)).digest('hex');
}

function stampContentHash(object: KubernetesManifest, contentHash: string): KubernetesManifest {
  // The Namespace may be shared by many services: it carries no per-service hash.
  if (object.kind === 'Namespace') return object;
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [CONTENT_HASH_ANNOTATION]: contentHash } },
  };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
