import type { WorkerPoolSettings } from '../../service/runtime-settings';

/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface ServeExecutorOptions extends WorkerPoolSettings {
  port?: number;
  bundleDir?: string;
  readyTimeoutSeconds?: number;
  drainMs?: number;
  env?: Record<string, string>;
}
