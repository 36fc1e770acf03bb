import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eRoot } from './paths';
import { run } from './run';

/**
 * Command-line tools a test workspace runs on (Node versions, yarn, pnpm), installed from the local npm
 * registry once per run into `<e2e dir>/tools/<name>` and reused by every test file of the run.
 */
export const toolsDir = () => process.env.TURBOLIFT_E2E_TOOLS_DIR ?? join(e2eRoot(), 'tools');

/**
 * Installs one npm package (`spec`, e.g. `pnpm@10`) into `<tools>/<name>` unless a finished install is there.
 * The install happens in a folder of its own and is renamed into place, so a reader never sees half of one.
 */
export function installTool(name: string, spec: string, registryUrl: string): string {
  const dir = join(toolsDir(), name);
  if (existsSync(join(dir, 'installed'))) return dir;
  const scratch = `${dir}.installing-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, 'package.json'), '{ "private": true }\n');
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--registry', registryUrl, spec], { cwd: scratch, timeoutMs: 5 * 60 * 1000 });
  writeFileSync(join(scratch, 'installed'), `${spec}\n`);
  try {
    renameSync(scratch, dir);
  } catch (error) {
    // Another test file of the run finished the same install first: use that one.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, 'installed'))) throw error;
  }
  return dir;
}
