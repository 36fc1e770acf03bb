import type { DeployableImage } from '../service/image-record';
import type { WorkerPoolSettings } from '../service/runtime-settings';

/** What deploy reads from the record `build-image` writes. */
export type ImageRecord = DeployableImage;

/** cpu and memory always; any other resource (`ephemeral-storage`, `nvidia.com/gpu`) as the user names it. */
export interface ResourceQuantities {
  cpu: string;
  memory: string;
  [resource: string]: string;
}

export interface ResourceSettings {
  requests: ResourceQuantities;
  limits: ResourceQuantities;
}

export interface AutoscalingSettings {
  enabled: boolean;
  min: number;
  max: number;
  /** Average CPU utilisation (percent of the request) the autoscaler aims for. */
  targetCPU: number;
  /** How far back the autoscaler looks for the highest recommendation before it removes pods. */
  scaleDownStabilizationSeconds: number;
  /** How far back it looks for the lowest recommendation before it adds pods. */
  scaleUpStabilizationSeconds: number;
}

/** A pod toleration, as the Kubernetes API spells it. */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** A pod topology spread constraint, as the Kubernetes API spells it. */
export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  /** Defaults to the selector labels of the service's pods (without one a constraint counts no pods). */
  labelSelector?: LabelSelector;
  minDomains?: number;
  matchLabelKeys?: string[];
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
}

/** A pod affinity: only its three top-level fields are checked here; the API server checks their terms. */
export interface Affinity {
  nodeAffinity?: Record<string, unknown>;
  podAffinity?: Record<string, unknown>;
  podAntiAffinity?: Record<string, unknown>;
}

/** Where the pods may run and with what identity; each field is rendered into the pod template only when set. */
export interface PodPlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  priorityClassName?: string;
  /** Replaces the default spread across nodes. */
  topologySpreadConstraints?: TopologySpreadConstraint[];
  /** The default spread across nodes when more than one pod may run; off with `topologySpread: false`. */
  topologySpread: boolean;
  serviceAccountName?: string;
  /** Names of Secrets of type kubernetes.io/dockerconfigjson. */
  imagePullSecrets?: string[];
}

/** The user's own labels and annotations, on every object and on the pod template; never one of turbolift's keys. */
export interface ExtraMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * A strategic-merge patch (as kustomize users write them) applied to each rendered object of `kind` (and `name`,
 * when given) before the content hash is taken, so the hash covers what is applied.
 */
export interface ManifestPatch {
  kind: string;
  name?: string;
  patch: Record<string, unknown>;
}

/** A `kubernetes.io/dockerconfigjson` Secret made from build-image's own credentials for the image's registry only. */
export interface PullSecret {
  name: string;
  /** `{"auths":{"<registry>":{"auth":"…"}}}`: never more than the one registry. */
  dockerConfigJson: string;
}

/**
 * Caller authentication (the runtime's `AUTH`): with `enabled`, the service pods mount the namespace's callers Secret
 * at `AUTH.mountDir` and answer only callers that send its token; without, they run with `TURBOLIFT_AUTH=off`.
 */
export interface CallerAuth {
  enabled: boolean;
  /** Other namespaces whose callers get a copy of the callers Secret on every deploy (sorted, the service's own left out). */
  callerNamespaces: string[];
}

/** A NetworkPolicy letting in only pods labelled `AUTH.callerLabel: "true"` of the service's namespace and of these. */
export interface NetworkPolicySettings {
  /** Other namespaces whose caller pods may connect (sorted, the service's own left out; callers namespaces included). */
  namespaces: string[];
}

/** Everything the manifest renderers need: the desired state of one lifted service, already normalised. */
export interface ServiceDeploySpec {
  /** DNS-1123 name of the Deployment and the Service; also the `instance` label. */
  name: string;
  namespace: string;
  /** `app.kubernetes.io/part-of`: the workspace the service comes from. */
  partOf: string;
  image: ImageRecord;
  /** Replicas when autoscaling is off (ignored by the Deployment when it is on). */
  replicas: number;
  resources: ResourceSettings;
  autoscaling: AutoscalingSettings;
  /** Extra container env on top of the variables the options set (see `SERVICE_ENV`). */
  env: Record<string, string>;
  /** How long the service keeps serving after SIGTERM before it closes (TURBOLIFT_DRAIN_MS). */
  drainMs: number;
  /** TURBOLIFT_WORKERS: always set (deploy derives it from the CPU limit). */
  workers: number;
  /** TURBOLIFT_CALL_TIMEOUT_MS, only when set. */
  callTimeoutMs?: WorkerPoolSettings['callTimeoutMs'];
  /** TURBOLIFT_MAX_QUEUE, only when set. */
  maxQueue?: WorkerPoolSettings['maxQueue'];
  /** TURBOLIFT_MAX_QUEUE_WAIT_MS, only when set. */
  maxQueueWaitMs?: WorkerPoolSettings['maxQueueWaitMs'];
  createNamespace: boolean;
  placement: PodPlacement;
  metadata: ExtraMetadata;
  /** Applied in order to the rendered objects; none by default. */
  patches: ManifestPatch[];
  /** Rendered as a Secret and added to imagePullSecrets, when the createPullSecret option found credentials. */
  pullSecret?: PullSecret;
  auth: CallerAuth;
  /** Rendered as a NetworkPolicy when set. */
  networkPolicy?: NetworkPolicySettings;
}

/** The minimal shape every rendered object has. */
export interface KubernetesManifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}
