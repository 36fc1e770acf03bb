/**
 * A service's entry in the endpoints file (`{"endpoints": {"<function>": "<url>"}}`), keyed by the lifted
 * function its marker names. `serve` registers a loopback URL with the pid of the service process, so that
 * stubs recognise the entry as stale once that process is gone; `deploy-k8s` a ClusterIP URL, without a pid.
 * Writing the file is @turbolift/runtime's job, so services, executors and stubs share one implementation
 * (a lock file, then a temporary file renamed into place).
 */
import { existsSync, readFileSync } from 'node:fs';
import { registerEndpoint, unregisterEndpoint, type EndpointsDocument } from '@turbolift/runtime';
import { endpointsFilePath } from './paths';

export interface EndpointRegistration {
  /** The endpoints file written. */
  file: string;
  /** The lifted function, the entry's key. */
  fn: string;
  url: string;
  /** The process serving the entry, for a local service. */
  pid?: number;
}

/**
 * `tokenFile`: what callers of this entry send, when it is not the workspace's own `.turbolift/token`;
 * `pid`: the local process that answers at `url` (none for a cluster's URL).
 */
export function registerServiceEndpoint(workspaceRoot: string, fn: string, url: string, tokenFile?: string, pid?: number): EndpointRegistration {
  const file = endpointsFilePath(workspaceRoot);
  registerEndpoint(file, fn, url, tokenFile, pid);
  return pid === undefined ? { file, fn, url } : { file, fn, url, pid };
}

/** Removes the entry while it still names `url` (and its pid: a later serve or deploy may have replaced it); true if it did. */
export function unregisterServiceEndpoint(registration: EndpointRegistration): boolean {
  return unregisterEndpoint(registration.file, registration.fn, registration.url, registration.pid);
}

/**
 * Removes `fn`'s entry when the process it names is no longer running (a serve that was killed left it
 * behind). Returns the removed entry; an entry without a pid, or of a running process, is left alone.
 */
export function removeStaleServiceEndpoint(workspaceRoot: string, fn: string): EndpointRegistration | undefined {
  const file = endpointsFilePath(workspaceRoot);
  if (!existsSync(file)) return undefined;
  let document: Partial<EndpointsDocument>;
  try {
    document = JSON.parse(readFileSync(file, 'utf8')) as Partial<EndpointsDocument>;
  } catch {
    // A broken file is named by the registration that follows.
    return undefined;
  }
  const url = document.endpoints?.[fn];
  const pid = document.pids?.[fn];
  if (typeof url !== 'string' || typeof pid !== 'number' || isRunning(pid)) return undefined;
  // Only while the entry is still that one: a serve starting meanwhile may have replaced it.
  return unregisterEndpoint(file, fn, url, pid) ? { file, fn, url, pid } : undefined;
}

/** Signal 0 asks without sending anything; EPERM means the process exists under another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
