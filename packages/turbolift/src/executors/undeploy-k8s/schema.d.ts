export interface UndeployK8sExecutorOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  name?: string;
  timeoutSeconds?: number;
}
