import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository this suite tests. */
export const repoRoot = resolve(__dirname, '../..');

/** Scratch space for workspaces, tarballs and logs; kept out of the repository's own Nx graph. */
export const e2eRoot = process.env.TURBOLIFT_E2E_DIR ?? join(tmpdir(), 'turbolift-e2e');
export const tarballDir = join(e2eRoot, 'tarballs');
export const templateDir = join(e2eRoot, 'template');

/** Nx version every created workspace uses; one version for every @nx/* package. */
export const nxVersion = '22.7.8';
