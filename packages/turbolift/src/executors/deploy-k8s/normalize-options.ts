// Pure: the executor's options, checked and defaulted once, in the shapes the kubernetes module takes.
import { isAbsolute, resolve } from 'node:path';
import { TurboliftError, type Fail } from '../../errors';
import type { ClusterSelection } from '../../kubernetes/kubeconfig';
import { isQualifiedName, toDnsLabel } from '../../kubernetes/labels';
import { parseQuantity } from '../../kubernetes/quantity';
import { SERVICE_ENV, checkWorkerPoolSettings } from '../../service/runtime-settings';
import { AUTH } from '@turbolift/runtime/contract';
import type {
  AutoscalingSettings,
  ImageRecord,
  CallerAuth,
  ManifestPatch,
  NetworkPolicySettings,
  PullSecret,
  ResourceQuantities,
  ResourceSettings,
  ServiceDeploySpec,
} from '../../kubernetes/types';
import type { ServiceProject } from '../../service/project';
import { normalizeMetadata, normalizePlacement } from './placement-options';
import type { DeployK8sExecutorOptions } from './schema';

export interface DeployProject extends Pick<ServiceProject, 'name' | 'workspaceRoot' | 'paths'> {
  /** The workspace's package name, for `app.kubernetes.io/part-of`. */
  workspaceName?: string;
}

/** The desired state of the service (less the namespace and image, known once the cluster and record are read), plus how to deploy it. */
export interface NormalizedDeployOptions extends Pick<
  ServiceDeploySpec,
  | 'name'
  | 'partOf'
  | 'replicas'
  | 'resources'
  | 'autoscaling'
  | 'env'
  | 'drainMs'
  | 'workers'
  | 'callTimeoutMs'
  | 'maxQueue'
  | 'maxQueueWaitMs'
  | 'createNamespace'
  | 'placement'
  | 'metadata'
  | 'patches'
  | 'auth'
  | 'networkPolicy'
> {
  cluster: ClusterSelection;
  imageRecordPath: string;
  timeoutMs: number;
  dryRun: boolean;
  /** Where a dry run also writes its YAML. */
  outputFile?: string;
  registerEndpoint: boolean;
  /** Make a pull Secret from build-image's credentials for the image's registry. */
  createPullSecret: boolean;
  /** On a failed rollout, restore the pod template that ran before. */
  atomic: boolean;
  /** Where the deploy record is written. */
  recordFile: string;
  /** Print the deploy record as JSON on stdout. */
  json: boolean;
}

/**
 * Requests default to these limits. A pod runs one worker thread per core of its CPU limit, so with the
 * request equal to the limit the scheduler places it only where the CPU its workers will use is free, and
 * the autoscaler's targetCPU (a percentage of the request) reads as a percentage of what the pod can do.
 */
export const DEFAULT_LIMITS: ResourceQuantities = { cpu: '1', memory: '256Mi' };
export const DEFAULT_AUTOSCALING: AutoscalingSettings = {
  enabled: false,
  min: 1,
  max: 5,
  targetCPU: 80,
  // The HorizontalPodAutoscaler's own defaults.
  scaleDownStabilizationSeconds: 300,
  scaleUpStabilizationSeconds: 0,
};
export const DEFAULT_DRAIN_MS = 5000;
export const DEFAULT_TIMEOUT_SECONDS = 180;
/** The autoscaling/v2 API's range for a stabilization window. */
const MAX_STABILIZATION_SECONDS = 3600;

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** The manifests set these (the probes, the Service, the drain and the pool depend on them); each with what to do instead. */
const RESERVED_ENV = new Map<string, string>([
  [SERVICE_ENV.host, 'the Service and the probes reach the pod through it'],
  [SERVICE_ENV.port, 'the Service and the probes reach the pod through it'],
  [SERVICE_ENV.drainMs, 'use the drainMs option'],
  [SERVICE_ENV.workers, 'use the workers option'],
  [SERVICE_ENV.callTimeoutMs, 'use the callTimeoutMs option'],
  [SERVICE_ENV.maxQueue, 'use the maxQueue option'],
  [SERVICE_ENV.maxQueueWaitMs, 'use the maxQueueWaitMs option'],
  [AUTH.tokenDirEnv, 'the callers Secret is mounted there; use the auth option'],
  [AUTH.authEnv, 'use the auth option'],
]);

/** Worker threads for a CPU limit: one per started core ("1500m" has work for 2), at least 1. */
export function workersForCpuLimit(cores: number): number {
  return Math.max(1, Math.ceil(cores));
}

export function normalizeDeployOptions(options: DeployK8sExecutorOptions, project: DeployProject): NormalizedDeployOptions {
  const fail: Fail = (message) => {
    throw new TurboliftError('TL_BAD_OPTIONS', `deploy-k8s options of ${project.name}: ${message}`);
  };
  const inWorkspace = (path: string) => (isAbsolute(path) ? path : resolve(project.workspaceRoot, path));

  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) fail(`replicas must be a whole number >= 0, got ${replicas}`);

  const resources = normalizeResources(options.resources, fail);
  const cores = { requests: cpuOf(resources.requests), limits: cpuOf(resources.limits) };

  const autoscaling: AutoscalingSettings = { ...DEFAULT_AUTOSCALING, ...options.autoscaling };
  if (autoscaling.enabled) {
    if (!Number.isInteger(autoscaling.min) || autoscaling.min < 1) fail(`autoscaling.min must be a whole number >= 1, got ${autoscaling.min}`);
    if (!Number.isInteger(autoscaling.max) || autoscaling.max < autoscaling.min)
      fail(`autoscaling.max (${autoscaling.max}) must be a whole number >= autoscaling.min (${autoscaling.min})`);
    if (!Number.isInteger(autoscaling.targetCPU) || autoscaling.targetCPU < 1)
      fail(`autoscaling.targetCPU must be a whole percentage >= 1, got ${autoscaling.targetCPU}`);
    // The CPU limit caps what a pod uses, so utilisation (of the request) never goes past limit / request.
    const reachable = Math.floor((cores.limits / cores.requests) * 100);
    if (autoscaling.targetCPU > reachable) {
      fail(
        `autoscaling.targetCPU ${autoscaling.targetCPU} can never be reached: a pod uses at most ${reachable} % ` +
          `of resources.requests.cpu "${resources.requests.cpu}" under resources.limits.cpu "${resources.limits.cpu}"`,
      );
    }
    for (const window of ['scaleDownStabilizationSeconds', 'scaleUpStabilizationSeconds'] as const) {
      const value = autoscaling[window];
      if (!Number.isInteger(value) || value < 0 || value > MAX_STABILIZATION_SECONDS) {
        fail(`autoscaling.${window} must be a whole number of seconds from 0 to ${MAX_STABILIZATION_SECONDS}, got ${value}`);
      }
    }
  }

  const pool = checkWorkerPoolSettings(
    { workers: options.workers, callTimeoutMs: options.callTimeoutMs, maxQueue: options.maxQueue, maxQueueWaitMs: options.maxQueueWaitMs },
    fail,
  );

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (!ENV_NAME.test(key)) fail(`env name "${key}" is not a valid variable name`);
    if (RESERVED_ENV.has(key)) fail(`env ${key} is set by turbolift (${RESERVED_ENV.get(key)})`);
    env[key] = String(value);
  }

  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  if (!Number.isInteger(drainMs) || drainMs < 0) fail(`drainMs must be a whole number >= 0, got ${drainMs}`);
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) fail(`timeoutSeconds must be > 0, got ${timeoutSeconds}`);

  const auth = normalizeAuth(options, fail);
  const networkPolicy = normalizeNetworkPolicy(options.networkPolicy, auth, fail);

  let name = '';
  try {
    name = toDnsLabel(options.name ?? project.name);
  } catch (error) {
    fail((error as Error).message);
  }

  return {
    cluster: {
      kubeconfig: options.kubeconfig ? inWorkspace(options.kubeconfig) : undefined,
      context: options.context || undefined,
      namespace: options.namespace ? toNamespace(options.namespace, fail) : undefined,
    },
    name,
    partOf: project.workspaceName || 'turbolift',
    imageRecordPath: inWorkspace(options.imageRecord ?? project.paths.imageRecord),
    replicas,
    resources,
    autoscaling,
    env,
    drainMs,
    workers: pool.workers ?? workersForCpuLimit(cores.limits),
    callTimeoutMs: pool.callTimeoutMs,
    maxQueue: pool.maxQueue,
    maxQueueWaitMs: pool.maxQueueWaitMs,
    createNamespace: options.createNamespace ?? false,
    placement: normalizePlacement(options, fail),
    metadata: normalizeMetadata(options, fail),
    timeoutMs: timeoutSeconds * 1000,
    dryRun: options.dryRun ?? false,
    outputFile: options.outputFile ? inWorkspace(options.outputFile) : undefined,
    registerEndpoint: options.registerEndpoint ?? false,
    patches: normalizePatches(options.patches, fail),
    createPullSecret: options.createPullSecret ?? false,
    atomic: options.atomic ?? false,
    recordFile: inWorkspace(options.recordFile ?? project.paths.deployRecord),
    json: options.json ?? false,
    auth,
    ...(networkPolicy ? { networkPolicy } : {}),
  };
}

/** `auth` (default on) and the callers namespaces that get a copy of the Secret; without auth there is none to copy. */
function normalizeAuth(options: DeployK8sExecutorOptions, fail: Fail): CallerAuth {
  const enabled = options.auth ?? true;
  if (typeof enabled !== 'boolean') fail(`auth must be true or false, got ${JSON.stringify(enabled)}`);
  const callers = options.callers ?? {};
  if (typeof callers !== 'object' || callers === null || Array.isArray(callers)) fail('callers must be an object { namespaces?: string[] }');
  const unknown = Object.keys(callers).find((key) => key !== 'namespaces');
  if (unknown !== undefined) fail(`callers has no field "${unknown}" (known: namespaces)`);
  const callerNamespaces = namespaceList(callers.namespaces, 'callers.namespaces', fail);
  if (!enabled && callerNamespaces.length > 0) {
    fail(
      'callers.namespaces gets copies of the callers Secret, which auth: false does not use; ' +
        "to let those namespaces' pods through a NetworkPolicy, use networkPolicy.namespaces",
    );
  }
  return { enabled, callerNamespaces };
}

/** false/absent: none; true: the namespace's callers (and callers.namespaces'); an object adds its namespaces. */
function normalizeNetworkPolicy(given: DeployK8sExecutorOptions['networkPolicy'], auth: CallerAuth, fail: Fail): NetworkPolicySettings | undefined {
  if (given === undefined || given === false) return undefined;
  if (given !== true && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    fail(`networkPolicy must be true, false or { namespaces?: string[] }, got ${JSON.stringify(given)}`);
  }
  const extra = given === true ? [] : (given as { namespaces?: unknown }).namespaces;
  if (given !== true) {
    const unknown = Object.keys(given).find((key) => key !== 'namespaces');
    if (unknown !== undefined) fail(`networkPolicy has no field "${unknown}" (known: namespaces)`);
  }
  return { namespaces: [...new Set([...namespaceList(extra, 'networkPolicy.namespaces', fail), ...auth.callerNamespaces])].sort() };
}

function namespaceList(given: unknown, option: string, fail: Fail): string[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) fail(`${option} must be a list of namespace names, got ${JSON.stringify(given)}`);
  const names = (given as unknown[]).map((namespace, index) =>
    typeof namespace === 'string' && DNS_LABEL.test(namespace)
      ? namespace
      : fail(`${option}[${index}] ${JSON.stringify(namespace)} is not a namespace name (a DNS-1123 label)`),
  );
  return [...new Set(names)].sort();
}

/** The shape only: what a patch may not change is checked on the patched objects (kubernetes/patches.ts). */
function normalizePatches(given: DeployK8sExecutorOptions['patches'], fail: Fail): ManifestPatch[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) fail('patches must be a list of { kind, name?, patch }');
  return given.map((entry, index) => {
    const where = `patches[${index}]`;
    if (!entry || typeof entry !== 'object') fail(`${where} must be an object { kind, name?, patch }`);
    if (typeof entry.kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(entry.kind))
      fail(`${where}.kind must be a kind such as "Deployment", got ${JSON.stringify(entry.kind)}`);
    if (entry.name !== undefined && typeof entry.name !== 'string') fail(`${where}.name must be a string`);
    if (!entry.patch || typeof entry.patch !== 'object' || Array.isArray(entry.patch)) fail(`${where}.patch must be an object`);
    return { kind: entry.kind, ...(entry.name === undefined ? {} : { name: entry.name }), patch: entry.patch };
  });
}

/**
 * Limits over the defaults, requests over the limits; any resource name, each value a quantity. Only cpu, memory and
 * ephemeral-storage may be requested below their limit: Kubernetes does not overcommit the others (hugepages,
 * extended resources such as nvidia.com/gpu), so their request must be their limit, and they need one.
 */
function normalizeResources(given: DeployK8sExecutorOptions['resources'], fail: Fail): ResourceSettings {
  const limits = quantities({ ...DEFAULT_LIMITS, ...given?.limits }, 'limits', fail);
  const requests = quantities({ ...limits, ...given?.requests }, 'requests', fail);
  for (const [resource, request] of Object.entries(requests)) {
    const limit = limits[resource];
    if (OVERCOMMITTABLE.has(resource)) {
      if (limit !== undefined && (parseQuantity(request) ?? 0) > (parseQuantity(limit) ?? 0)) {
        fail(`resources.requests.${resource} "${request}" is more than resources.limits.${resource} "${limit}"`);
      }
    } else if (limit === undefined || parseQuantity(request) !== parseQuantity(limit)) {
      fail(
        `resources.requests.${resource} "${request}" must equal resources.limits.${resource}` +
          `${limit === undefined ? '' : ` "${limit}"`}: Kubernetes does not overcommit ${resource}`,
      );
    }
  }
  return { requests, limits };
}

/** The resources a node may promise beyond what it has, so a request below the limit means something. */
const OVERCOMMITTABLE = new Set(['cpu', 'memory', 'ephemeral-storage']);

function quantities(given: Record<string, string | number | undefined>, group: 'requests' | 'limits', fail: Fail): ResourceQuantities {
  const checked: Record<string, string> = {};
  for (const [resource, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    if (!isQualifiedName(resource)) fail(`resources.${group} "${resource}" is not a resource name`);
    const value = String(raw);
    if (parseQuantity(value) === undefined) fail(`resources.${group}.${resource} "${value}" is not a Kubernetes quantity (e.g. 250m, 1, 128Mi)`);
    checked[resource] = value;
  }
  return checked as ResourceQuantities;
}

/** Cores; quantities() has checked the value. */
function cpuOf(quantities: ResourceQuantities): number {
  return parseQuantity(quantities.cpu) ?? 0;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function toNamespace(namespace: string, fail: Fail): string {
  if (!DNS_LABEL.test(namespace)) fail(`namespace "${namespace}" is not a DNS-1123 label`);
  return namespace;
}

/** The desired state, once the namespace (option or kubeconfig), the image record and the pull Secret, if any, are known. */
export function toDeploySpec(options: NormalizedDeployOptions, namespace: string, image: ImageRecord, pullSecret?: PullSecret): ServiceDeploySpec {
  return {
    name: options.name,
    namespace,
    partOf: options.partOf,
    image,
    replicas: options.replicas,
    resources: options.resources,
    autoscaling: options.autoscaling,
    env: options.env,
    drainMs: options.drainMs,
    workers: options.workers,
    callTimeoutMs: options.callTimeoutMs,
    maxQueue: options.maxQueue,
    maxQueueWaitMs: options.maxQueueWaitMs,
    createNamespace: options.createNamespace,
    placement: options.placement,
    metadata: options.metadata,
    patches: options.patches,
    ...(pullSecret ? { pullSecret } : {}),
    // The service's own namespace is known only now: its callers need no copy, and the policy lets them in anyway.
    auth: { ...options.auth, callerNamespaces: options.auth.callerNamespaces.filter((other) => other !== namespace) },
    ...(options.networkPolicy ? { networkPolicy: { namespaces: options.networkPolicy.namespaces.filter((other) => other !== namespace) } } : {}),
  };
}
