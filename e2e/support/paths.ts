import { join, resolve } from 'node:path';

/** The repository this suite tests. */
export const repoRoot = resolve(__dirname, '../..');

/**
 * Scratch space for workspaces, tarballs and logs, outside the repository's own Nx graph. The global setup
 * picks a fresh folder per run (so runs side by side do not share workspaces) and passes it on in the env.
 */
export function e2eRoot(): string {
  const dir = process.env.TURBOLIFT_E2E_DIR;
  if (!dir) throw new Error('TURBOLIFT_E2E_DIR is not set: run the e2e suite through jest (its global setup sets it)');
  return dir;
}
export const tarballDir = () => join(e2eRoot(), 'tarballs');
export const templateDir = () => join(e2eRoot(), 'template');

/** Nx version every created workspace uses; one version for every @nx/* package. */
export const nxVersion = '22.7.8';
