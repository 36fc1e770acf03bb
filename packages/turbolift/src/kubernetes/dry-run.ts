// A dry run needs no cluster: the manifests as YAML that `kubectl apply -f -` accepts, in the namespace
// kubectl would use (the option, else the kubeconfig's when there is one, else `default`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadClusterTarget, type ClusterSelection } from './kubeconfig';
import { callersSecretComment } from './auth';
import { renderManifests } from './manifests';
import type { ServiceDeploySpec } from './types';
import { renderYaml } from './yaml';

export interface DryRunResult {
  namespace: string;
  contentHash: string;
  yaml: string;
}

export function renderDryRun(cluster: ClusterSelection, spec: (namespace: string) => ServiceDeploySpec, outputFile?: string): DryRunResult {
  const namespace = cluster.namespace ?? namespaceFromKubeconfig(cluster) ?? 'default';
  const desired = spec(namespace);
  const { objects, contentHash } = renderManifests(desired);
  // The callers Secret holds a token: a comment says what deploy does about it, the YAML never carries one.
  const yaml = `${callersSecretComment(desired)}${renderYaml(objects)}`;
  if (outputFile) {
    mkdirSync(dirname(outputFile), { recursive: true });
    writeFileSync(outputFile, yaml);
  }
  return { namespace, contentHash, yaml };
}

function namespaceFromKubeconfig(selection: ClusterSelection): string | undefined {
  try {
    return loadClusterTarget(selection).namespace;
  } catch {
    return undefined;
  }
}
