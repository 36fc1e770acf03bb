import { SERVICE_ENV } from './contract';

/** Where lifted calls run: `local` (in this process, the default) or `distributed` (over HTTP). */
export type TurboliftMode = 'local' | 'distributed';

/** Environment variables as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads `TURBOLIFT_MODE` now; stubs call this on every call, so the mode can change at run time.
 * Where there is no `process` (a browser) the mode is local.
 */
export function currentMode(env: Environment = globalThis.process?.env ?? {}): TurboliftMode {
  const value = env[SERVICE_ENV.mode];
  if (value === undefined || value === '' || value === 'local') return 'local';
  if (value === 'distributed') return 'distributed';
  throw new Error(`TURBOLIFT_MODE="${value}" is not a mode; use "local" (default) or "distributed"`);
}
