// What the benchmarks that run lifted services share: a service bundled as the plugin's build target bundles
// it (main.js plus the files the worker pool starts its threads from), the example's own code for local
// mode, and the best of a bounded number of rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSync } from 'esbuild';

const require = createRequire(import.meta.url);
const repo = new URL('../..', import.meta.url).pathname;
export const exampleSrc = join(repo, 'examples/text-compress/apps/text-compress/src');

/** Bundles `source` (a service entry calling serve) into `dir`; returns its main.js. */
export function bundleService(dir, source) {
  const { serviceBundleEntries, OPTIONAL_NATIVE_PACKAGES } = require('@turbolift/runtime/bundling');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, source);
  buildSync({
    entryPoints: { main: entry, ...serviceBundleEntries() },
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: [...OPTIONAL_NATIVE_PACKAGES],
    // The folder may lie outside the repository (a temporary one): resolve packages from the repository's.
    nodePaths: [join(repo, 'node_modules')],
    logLevel: 'error',
  });
  return join(dir, 'main.js');
}

/** The example's compressAll, makeSentences and chunk, bundled into `outfile` and loaded. */
export function exampleModule(outfile) {
  buildSync({
    stdin: {
      contents: "export { compressAll } from './compress';\nexport { makeSentences, chunk } from './sentences';\n",
      resolveDir: exampleSrc,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
  });
  return require(outfile);
}

/** Shortest of `rounds` runs of `run`, stopping early once `limitMs` is used up. */
export async function bestOf(run, rounds, limitMs) {
  let fastest = Infinity;
  const stopAt = performance.now() + limitMs;
  for (let round = 0; round < rounds && performance.now() < stopAt; round++) {
    const started = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}
