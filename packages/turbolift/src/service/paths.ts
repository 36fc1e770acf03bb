/**
 * Where a service project's files are, relative to the workspace root (POSIX separators, as Nx writes
 * them): the one place that spells `dist/<root>/bundle`, `main.js`, `image.json` and `deploy.json`. The bundle and the
 * image record sit side by side, so the outputs of `build` and `build-image` never overlap.
 */
import { join } from 'node:path';
import { ENDPOINTS_DIR, ENDPOINTS_ENV, ENDPOINTS_FILE } from '@turbolift/runtime/contract';

/** The file a bundle runs: esbuild's output for the service entry. */
export const BUNDLE_MAIN = 'main.js';

export interface ServicePaths {
  /** `dist/<root>/bundle`: main.js, its companions and the pruned package.json. */
  bundleDir: string;
  /** `dist/<root>/bundle/main.js`. */
  mainJs: string;
  /** `dist/<root>/image.json`: what build-image built, read by deploy-k8s. */
  imageRecord: string;
  /** `dist/<root>/deploy.json`: what deploy-k8s applied and where it answers, for the CI steps after it. */
  deployRecord: string;
}

export const toPosix = (path: string): string => path.split('\\').join('/');

export function servicePaths(projectRoot: string, bundleDir = toPosix(join('dist', projectRoot, 'bundle'))): ServicePaths {
  return {
    bundleDir,
    mainJs: toPosix(join(bundleDir, BUNDLE_MAIN)),
    imageRecord: toPosix(join('dist', projectRoot, 'image.json')),
    deployRecord: toPosix(join('dist', projectRoot, 'deploy.json')),
  };
}

/** The endpoints file stubs read in distributed mode: `$TURBOLIFT_ENDPOINTS`, else `<workspaceRoot>/.turbolift/endpoints.json`. */
export function endpointsFilePath(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[ENDPOINTS_ENV] || join(workspaceRoot, ENDPOINTS_DIR, ENDPOINTS_FILE);
}

/**
 * Where deploy-k8s keeps, for callers outside the cluster (mode 0600), a copy of the token of the namespace it
 * deployed to: `<workspaceRoot>/.turbolift/tokens/<context>/<namespace>`, one per cluster and namespace.
 */
export function callerTokenCopyPath(workspaceRoot: string, context: string, namespace: string): string {
  const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_') || '_';
  return join(workspaceRoot, ENDPOINTS_DIR, 'tokens', safe(context), safe(namespace));
}
