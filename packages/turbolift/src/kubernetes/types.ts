import type { ImageRecord as WrittenImageRecord } from '../docker/image-record';

/**
 * What deploy reads from the record `build-image` writes (`dist/<projectRoot>/image.json`): the service, the
 * image and its digest are required; the rest is informative and may be missing from a hand-made record.
 */
export type ImageRecord = Pick<WrittenImageRecord, 'service' | 'image' | 'tag' | 'digest'> &
  Partial<Omit<WrittenImageRecord, 'service' | 'image' | 'tag' | 'digest'>>;

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
  /** Extra container env on top of HOST, PORT and TURBOLIFT_DRAIN_MS. */
  env: Record<string, string>;
  /** How long the service keeps serving after SIGTERM before it closes (TURBOLIFT_DRAIN_MS). */
  drainMs: number;
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
