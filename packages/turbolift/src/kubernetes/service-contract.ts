// What a lifted service (@turbolift/runtime's `serve`) answers on and reads from its environment, as the
// plugin probes and configures it: the Kubernetes manifests and the local `serve` executor both use it.
// The runtime does not export these names, so the plugin spells them here, once.

/** Liveness: answers while the process's main thread is alive. */
export const HEALTH_PATH = '/healthz';
/** Readiness: 503 while starting and while draining. */
export const READY_PATH = '/readyz';

export const SERVICE_ENV = {
  host: 'HOST',
  port: 'PORT',
  mode: 'TURBOLIFT_MODE',
  drainMs: 'TURBOLIFT_DRAIN_MS',
  workers: 'TURBOLIFT_WORKERS',
  callTimeoutMs: 'TURBOLIFT_CALL_TIMEOUT_MS',
  maxQueue: 'TURBOLIFT_MAX_QUEUE',
} as const;

/** The worker pool of a service. An option left out is left to the runtime's default. */
export interface WorkerPoolSettings {
  /** Worker threads running the function; 0 runs it on the main thread. */
  workers?: number;
  /** Server-side limit of one call in ms; 0 means none. */
  callTimeoutMs?: number;
  /** Calls waiting for a worker beyond which the service answers 503. */
  maxQueue?: number;
}

const POOL_OPTIONS = ['workers', 'callTimeoutMs', 'maxQueue'] as const;

/**
 * Checks the pool options the user set: each must be a whole number >= 0 (0 is meaningful for all three).
 * Upper bounds are the runtime's to enforce; it names the variable when one is out of range.
 */
export function checkWorkerPoolSettings(settings: WorkerPoolSettings, fail: (message: string) => never): WorkerPoolSettings {
  const checked: WorkerPoolSettings = {};
  for (const option of POOL_OPTIONS) {
    const value = settings[option];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) fail(`${option} must be a whole number >= 0, got ${value}`);
    checked[option] = value;
  }
  return checked;
}

/** The environment variables for the pool options that are set, in a fixed order. */
export function workerPoolEnv(settings: WorkerPoolSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const option of POOL_OPTIONS) {
    const value = settings[option];
    if (value !== undefined) env[SERVICE_ENV[option]] = String(value);
  }
  return env;
}
