// Lets callers on this machine reach a deployed service in distributed mode: the endpoints file maps the lifted
// function to the Service's ClusterIP URL (answers where kube-proxy runs, e.g. on the test cluster's host).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeployConfigError } from '../../kubernetes';
import { MARKER_FILE, parseServiceMarkerText } from '../../plugins/service-marker';
import { endpointsFilePath, registerEndpoint, unregisterEndpoint } from '../serve/endpoints-file';

/** The lifted function a service project runs, from its marker file. */
export function liftedFunctionOf(workspaceRoot: string, projectRoot: string): string {
  const file = join(workspaceRoot, projectRoot, MARKER_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DeployConfigError(`${file} does not exist: registerEndpoint needs the service's marker to know its function`);
  }
  return parseServiceMarkerText(text, file).function;
}

/** Registers `function -> url`; returns the endpoints file written. */
export function registerClusterEndpoint(workspaceRoot: string, projectRoot: string, url: string): { file: string; fn: string } {
  const fn = liftedFunctionOf(workspaceRoot, projectRoot);
  const file = endpointsFilePath(workspaceRoot);
  registerEndpoint(file, fn, url);
  return { file, fn };
}

/** Removes `function -> url` when the file still names that URL (a later serve may have replaced it); true if it did. */
export function unregisterClusterEndpoint(workspaceRoot: string, projectRoot: string, url: string): boolean {
  let fn: string;
  try {
    fn = liftedFunctionOf(workspaceRoot, projectRoot);
  } catch {
    return false; // no marker, so nothing can have been registered for it
  }
  return unregisterEndpoint(endpointsFilePath(workspaceRoot), fn, url);
}
