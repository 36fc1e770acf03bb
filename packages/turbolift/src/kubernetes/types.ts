/** What `build-image` records in `dist/<projectRoot>/image.json` (see docs/ARCHITECTURE.md). */
export interface ImageRecord {
  service: string;
  /** Repository, e.g. `127.0.0.1:5000/compress-all-service`. */
  image: string;
  tag: string;
  tags?: string[];
  /** Registry digest (`sha256:…`) when the image was pushed, else null. */
  digest: string | null;
  size?: number;
  baseImage?: string;
  pushed?: boolean;
}

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
