import type { ServiceDeploySpec } from './types';

export const FIELD_MANAGER = 'turbolift';
export const MANAGED_BY = 'turbolift';
export const COMPONENT = 'lifted-function';
export const CONTENT_HASH_ANNOTATION = 'turbolift.dev/content-hash';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
} as const;

/**
 * A DNS-1123 label (lowercase alphanumerics and '-', at most 63, alphanumeric at both ends), which Deployment and
 * Service names must be. An npm scope is dropped: `@acme/compress-all-service` is `compress-all-service`, the name
 * the generated stub looks up inside the cluster.
 */
export function toDnsLabel(name: string): string {
  const unscoped = name.replace(/^@[^/]+\//, '');
  const label = unscoped
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  if (!label) throw new Error(`"${name}" has no letters or digits to make a Kubernetes name from`);
  return label;
}

/** A label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends (empty is allowed). */
export function toLabelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** The labels the Deployment selects its pods by. Immutable once created, so nothing that changes per release. */
export function selectorLabels(spec: Pick<ServiceDeploySpec, 'name'>): Record<string, string> {
  return { [LABEL.name]: spec.name, [LABEL.instance]: spec.name };
}

export function commonLabels(spec: Pick<ServiceDeploySpec, 'name' | 'partOf' | 'image'>): Record<string, string> {
  return {
    ...selectorLabels(spec),
    [LABEL.component]: COMPONENT,
    [LABEL.partOf]: toLabelValue(spec.partOf) || MANAGED_BY,
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.version]: toLabelValue(spec.image.tag),
  };
}

/** Label selector for everything deploy-k8s applied for one service (what undeploy-k8s deletes). */
export function managedObjectsSelector(name: string): string {
  return `${LABEL.managedBy}=${MANAGED_BY},${LABEL.instance}=${name}`;
}
