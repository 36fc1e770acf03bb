export interface DeployK8sExecutorOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  createNamespace?: boolean;
  name?: string;
  replicas?: number;
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
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
  workers?: number;
  callTimeoutMs?: number;
  maxQueue?: number;
  maxQueueWaitMs?: number;
  timeoutSeconds?: number;
  dryRun?: boolean;
  outputFile?: string;
  imageRecord?: string;
  registerEndpoint?: boolean;
}
