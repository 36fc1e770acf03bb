import type { WorkerPoolSettings } from '../../service/runtime-settings';

/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface ServeExecutorOptions extends WorkerPoolSettings {
  port?: number;
  bundleDir?: string;
  readyTimeoutSeconds?: number;
  drainMs?: number;
  /** Default true: callers need the workspace's .turbolift/token. */
  auth?: boolean;
  env?: Record<string, string>;
}
