/**
 * The runtime as an app sees it: the built package (`npm run build` writes dist/), reached by its name
 * through a node_modules link, so that its package.json `exports` decide which entry loads.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** packages/runtime */
export const RUNTIME_PACKAGE = join(__dirname, '..');

/** Throws, saying what to do, when the package has not been built. */
export function assertBuilt(): void {
  for (const file of ['dist/index.js', 'dist/browser.js', 'dist/server.js']) {
    if (!existsSync(join(RUNTIME_PACKAGE, file))) throw new Error(`packages/runtime/${file} is missing: run \`npm run build\` first`);
  }
}

export interface App {
  dir: string;
  dispose(): void;
}

/** A temporary folder with `files` and node_modules/@turbolift/runtime linked to the built package, as npm workspaces link it. */
export function appWithRuntime(files: Record<string, string>): App {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'turbolift-runtime-app-'));
  mkdirSync(join(dir, 'node_modules/@turbolift'), { recursive: true });
  symlinkSync(RUNTIME_PACKAGE, join(dir, 'node_modules/@turbolift/runtime'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
