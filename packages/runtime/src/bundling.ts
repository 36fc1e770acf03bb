/**
 * For tools that bundle a lifted service into one folder (the turbolift plugin's `build` target):
 * the files that must sit beside the service's main.js besides main.js itself. The worker pool starts
 * its threads from files found next to the code that creates it, so a bundle carries them as entries
 * of their own: piscina's worker (`worker.js`) and the module each worker loads (`pool-task.js`).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { POOL_TASK_FILE } from './server/pool-protocol';

/**
 * Native packages the runtime's dependencies load only if present and do fine without, so a bundle
 * leaves them out and an image needs no install for them: msgpackr's accelerator (it falls back to
 * JavaScript), and the thread-priority addon piscina loads only for a `niceIncrement` (never set here).
 */
export const OPTIONAL_NATIVE_PACKAGES: readonly string[] = ['@napi-rs/nice', 'msgpackr-extract'];

/** Output name (without `.js`) -> absolute source file, for esbuild's `entryPoints`. */
export function serviceBundleEntries(): Record<string, string> {
  // Compiled this module is dist/bundling.js beside dist/server/pool-task.js; under a TS runner it is src/.
  const ownExtension = __filename.endsWith('.ts') ? '.ts' : '.js';
  const poolTask = join(__dirname, 'server', POOL_TASK_FILE.replace(/\.js$/, ownExtension));
  // piscina resolves its worker as <its own folder>/worker.js; bundled, its own folder is the bundle's.
  const piscinaWorker = join(dirname(require.resolve('piscina')), 'worker.js');
  for (const file of [poolTask, piscinaWorker]) {
    if (!existsSync(file)) throw new Error(`@turbolift/runtime is incomplete: ${file} is missing`);
  }
  return { [POOL_TASK_FILE.replace(/\.js$/, '')]: poolTask, worker: piscinaWorker };
}
