import type { Affinity, ManifestPatch, Toleration, TopologySpreadConstraint } from '../../kubernetes/types';
import type { WorkerPoolSettings } from '../../service/runtime-settings';

/** Options as written in project.json or nx.json targetDefaults (see schema.json); the pool options are the service's own. */
export interface DeployK8sExecutorOptions extends WorkerPoolSettings {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  createNamespace?: boolean;
  name?: string;
  replicas?: number;
  resources?: {
    requests?: ResourceOptions;
    limits?: ResourceOptions;
  };
  autoscaling?: {
    enabled?: boolean;
    min?: number;
    max?: number;
    targetCPU?: number;
    scaleDownStabilizationSeconds?: number;
    scaleUpStabilizationSeconds?: number;
  };
  env?: Record<string, string | number | boolean>;
  drainMs?: number;
  timeoutSeconds?: number;
  dryRun?: boolean;
  outputFile?: string;
  imageRecord?: string;
  registerEndpoint?: boolean;
  nodeSelector?: Record<string, string | number | boolean>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  priorityClassName?: string;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  topologySpread?: boolean;
  serviceAccountName?: string;
  imagePullSecrets?: string[];
  labels?: Record<string, string | number | boolean>;
  annotations?: Record<string, string | number | boolean>;
  createPullSecret?: boolean;
  patches?: ManifestPatch[];
  atomic?: boolean;
  recordFile?: string;
  json?: boolean;
  /** Callers must send the namespace's token (default true); false sets TURBOLIFT_AUTH=off. */
  auth?: boolean;
  /** Callers in other namespaces: each gets a copy of the callers Secret on every deploy. */
  callers?: { namespaces?: string[] };
  /** A NetworkPolicy letting in only caller-labelled pods (of the namespace, these namespaces and callers.namespaces). */
  networkPolicy?: boolean | { namespaces?: string[] };
}

/** cpu, memory and any other resource name (e.g. nvidia.com/gpu), each a Kubernetes quantity. */
export interface ResourceOptions {
  cpu?: string;
  memory?: string;
  [resource: string]: string | number | undefined;
}
