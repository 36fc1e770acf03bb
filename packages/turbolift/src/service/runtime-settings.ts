// What a lifted service (@turbolift/runtime's `serve`) answers on and reads from its environment, as the
// plugin probes and configures it: the Kubernetes manifests and the local `serve` executor both use it.
// The names and bounds are the runtime's own (its `contract` entry, which loads no server code).
import { DEFAULT_CALL_TIMEOUT_MS, HEALTH_PATH, POOL_LIMITS, READY_PATH, SERVICE_ENV } from '@turbolift/runtime/contract';

import type { Fail } from '../errors';

export { DEFAULT_CALL_TIMEOUT_MS, HEALTH_PATH, READY_PATH, SERVICE_ENV };

/** The worker pool of a service. An option left out is left to the runtime's default. */
export interface WorkerPoolSettings {
  /** Worker threads running the function; 0 runs it on the main thread. */
  workers?: number;
  /** Server-side limit of one call in ms; 0 means none. */
  callTimeoutMs?: number;
  /** Calls waiting for a worker beyond which the service answers 503. */
  maxQueue?: number;
  /** Estimated wait in ms beyond which the service answers 503; 0 means no time bound. */
  maxQueueWaitMs?: number;
}

const POOL_OPTIONS = ['workers', 'callTimeoutMs', 'maxQueue', 'maxQueueWaitMs'] as const;

/** Checks the pool options the user set against the runtime's bounds (0 is meaningful for all three). */
export function checkWorkerPoolSettings(settings: WorkerPoolSettings, fail: Fail): WorkerPoolSettings {
  const checked: WorkerPoolSettings = {};
  for (const option of POOL_OPTIONS) {
    const value = settings[option];
    if (value === undefined) continue;
    const { min, max } = POOL_LIMITS[option];
    if (!Number.isInteger(value) || value < min || value > max) fail(`${option} must be a whole number from ${min} to ${max}, got ${value}`);
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
