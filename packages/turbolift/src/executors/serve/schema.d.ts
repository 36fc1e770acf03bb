import type { WorkerPoolSettings } from '../../service/runtime-settings';

/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface ServeExecutorOptions extends WorkerPoolSettings {
  /** The port when `fixedPort` is true; default: turbolift.json's (the inferred target passes it). */
  port?: number;
  /** Default false: a free port the OS picks when the service binds, registered in the endpoints file. */
  fixedPort?: boolean;
  bundleDir?: string;
  readyTimeoutSeconds?: number;
  drainMs?: number;
  /** Default true: callers need the workspace's .turbolift/token. */
  auth?: boolean;
  env?: Record<string, string>;
}
