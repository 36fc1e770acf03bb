import { AUTH } from '@turbolift/runtime/contract';
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

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 subdomain (at most 253): what Secret, ServiceAccount and PriorityClass names must be. */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

/** A qualified name, `[prefix/]name`: what label and annotation keys and resource names must be. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  return NAME_PART.test(key.slice(slash + 1)) && (prefix === undefined || isDnsSubdomain(prefix));
}

/** A label value as the API accepts it (empty included); {@link toLabelValue} makes one from any text. */
export function isLabelValue(value: string): boolean {
  return value === '' || NAME_PART.test(value);
}

/** The keys turbolift sets itself: selectors, undeploy and the unchanged check rely on them, so no option may set them. */
export const RESERVED_LABELS: readonly string[] = [...Object.values(LABEL), AUTH.callerLabel];
export const RESERVED_ANNOTATIONS: readonly string[] = [CONTENT_HASH_ANNOTATION];
