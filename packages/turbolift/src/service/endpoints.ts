/**
 * A service's entry in the endpoints file (`{"endpoints": {"<function>": "<url>"}}`), keyed by the lifted
 * function its marker names. `serve` registers a loopback URL, `deploy-k8s` a ClusterIP URL. Writing the
 * file is @turbolift/runtime's job, so services, executors and stubs share one implementation (a lock
 * file, then a temporary file renamed into place).
 */
import { registerEndpoint, unregisterEndpoint } from '@turbolift/runtime';
import { endpointsFilePath } from './paths';

export interface EndpointRegistration {
  /** The endpoints file written. */
  file: string;
  /** The lifted function, the entry's key. */
  fn: string;
  url: string;
}

/** `tokenFile`: what callers of this entry send, when it is not the workspace's own `.turbolift/token`. */
export function registerServiceEndpoint(workspaceRoot: string, fn: string, url: string, tokenFile?: string): EndpointRegistration {
  const file = endpointsFilePath(workspaceRoot);
  registerEndpoint(file, fn, url, tokenFile);
  return { file, fn, url };
}

/** Removes the entry while it still names `url` (a later serve or deploy may have replaced it); true if it did. */
export function unregisterServiceEndpoint(registration: EndpointRegistration): boolean {
  return unregisterEndpoint(registration.file, registration.fn, registration.url);
}
