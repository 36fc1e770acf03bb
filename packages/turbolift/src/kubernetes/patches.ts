/**
 * Pure: the user's patches on the rendered objects, the escape hatch for what the options do not cover. Each
 * applies to every object of its kind (and name, when given) and must match one. The rest of deploy-k8s relies
 * on a few fields: the selector (immutable on a Deployment, and what the Service, the budget and the rollout
 * watch select by), the labels and name it finds its objects by, and the probes the kubelet asks (without them
 * a pod that cannot serve gets calls, and a hung one is never restarted). A patch that changes one is refused,
 * with the field it changed.
 */
import { isDeepStrictEqual } from 'node:util';
import { TurboliftError } from '../errors';
import { selectorLabels } from './labels';
import { StrategicMergeError, strategicMerge } from './strategic-merge';
import type { KubernetesManifest, ManifestPatch } from './types';

export function applyPatches(objects: readonly KubernetesManifest[], patches: readonly ManifestPatch[]): KubernetesManifest[] {
  let result = [...objects];
  patches.forEach((patch, index) => {
    const where = `patches[${index}] (${patch.kind}${patch.name ? `/${patch.name}` : ''})`;
    const matches = result.filter((object) => object.kind === patch.kind && (patch.name === undefined || object.metadata.name === patch.name));
    if (matches.length === 0) {
      const rendered = result.map((object) => `${object.kind}/${object.metadata.name}`).join(', ');
      refuse(`${where} matches no rendered object (rendered: ${rendered})`);
    }
    result = result.map((object) => (matches.includes(object) ? patchOne(object, patch, where) : object));
  });
  return result;
}

function patchOne(object: KubernetesManifest, patch: ManifestPatch, where: string): KubernetesManifest {
  let patched: KubernetesManifest;
  try {
    patched = strategicMerge(object, patch.patch) as KubernetesManifest;
  } catch (error) {
    if (error instanceof StrategicMergeError) refuse(`${where}: ${error.message}`);
    throw error;
  }
  for (const field of changedReliedOn(object, patched)) {
    refuse(`${where} would change ${field}, which deploy-k8s relies on; use the options for it, or patch other fields`);
  }
  return patched;
}

/** The relied-on fields the patch changed, as paths. */
export function changedReliedOn(before: KubernetesManifest, after: KubernetesManifest): string[] {
  const changed: string[] = [];
  const compare = (path: string, read: (object: KubernetesManifest) => unknown) => {
    if (!isDeepStrictEqual(read(before), read(after))) changed.push(path);
  };
  compare('apiVersion', (object) => object.apiVersion);
  compare('kind', (object) => object.kind);
  compare('metadata.name', (object) => dig(object, 'metadata', 'name'));
  compare('metadata.namespace', (object) => dig(object, 'metadata', 'namespace'));
  const name = before.metadata.name;
  const ownLabels = Object.keys(before.kind === 'Namespace' ? {} : selectorLabels({ name }));
  for (const label of ownLabels) compare(`metadata.labels["${label}"]`, (object) => dig(object, 'metadata', 'labels', label));

  switch (before.kind) {
    case 'Deployment': {
      compare('spec.selector', (object) => dig(object, 'spec', 'selector'));
      for (const label of ownLabels)
        compare(`spec.template.metadata.labels["${label}"]`, (object) => dig(object, 'spec', 'template', 'metadata', 'labels', label));
      const container = (object: KubernetesManifest) => {
        const containers = dig(object, 'spec', 'template', 'spec', 'containers');
        return Array.isArray(containers) ? containers.find((candidate) => dig(candidate, 'name') === name) : undefined;
      };
      compare(`the container "${name}"`, (object) => container(object) !== undefined);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        // Timings may be tuned; where the kubelet asks may not (the runtime answers there and nowhere else).
        compare(`the container's ${probe}`, (object) => dig(container(object), probe) !== undefined);
        compare(`the container's ${probe}.httpGet`, (object) => dig(container(object), probe, 'httpGet'));
      }
      break;
    }
    case 'Service':
    case 'PodDisruptionBudget':
      compare('spec.selector', (object) => dig(object, 'spec', 'selector'));
      break;
    case 'NetworkPolicy':
      compare('spec.podSelector', (object) => dig(object, 'spec', 'podSelector'));
      break;
    case 'HorizontalPodAutoscaler':
      compare('spec.scaleTargetRef', (object) => dig(object, 'spec', 'scaleTargetRef'));
      break;
  }
  return changed;
}

function dig(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>((current, key) => (current && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined), value);
}

function refuse(message: string): never {
  throw new TurboliftError('TL_PATCH_REFUSED', message);
}
