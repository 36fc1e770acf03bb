/**
 * Where the endpoints file (`.turbolift/endpoints.json`, shape `{"endpoints": {"<function>": "<url>"}}`) that
 * lifted stubs read in distributed mode lives. Writing it is @turbolift/runtime's job, so services, executors
 * and stubs share one implementation (a lock file, then a temporary file renamed into place).
 */
import { join } from 'node:path';

export { registerEndpoint, unregisterEndpoint } from '@turbolift/runtime';

/** `$TURBOLIFT_ENDPOINTS` when set (the stubs read it first too), else `<workspaceRoot>/.turbolift/endpoints.json`. */
export function endpointsFilePath(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.TURBOLIFT_ENDPOINTS || join(workspaceRoot, '.turbolift', 'endpoints.json');
}
