import { dumpYaml } from '@kubernetes/client-node';
import type { KubernetesManifest } from './types';

/** One multi-document YAML string, as `kubectl apply -f -` reads it. */
export function renderYaml(objects: readonly KubernetesManifest[]): string {
  return objects.map((object) => `---\n${dumpYaml(object, { lineWidth: -1, noRefs: true })}`).join('');
}
