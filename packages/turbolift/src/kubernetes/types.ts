import type { DeployableImage } from '../service/image-record';
import type { WorkerPoolSettings } from '../service/runtime-settings';

/** What deploy reads from the record `build-image` writes. */
export type ImageRecord = DeployableImage;

export interface ResourceQuantities {
  cpu: string;
  memory: string;
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
