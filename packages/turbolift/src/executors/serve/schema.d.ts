/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface ServeExecutorOptions {
  port?: number;
  bundleDir?: string;
  readyTimeoutSeconds?: number;
  drainMs?: number;
  workers?: number;
  callTimeoutMs?: number;
  maxQueue?: number;
  maxQueueWaitMs?: number;
  env?: Record<string, string>;
}
