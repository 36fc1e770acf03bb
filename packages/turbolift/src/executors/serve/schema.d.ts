/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface ServeExecutorOptions {
  port?: number;
  bundleDir?: string;
  readyTimeoutSeconds?: number;
  drainMs?: number;
  env?: Record<string, string>;
}
