// Pure: the options that place the pods (nodes, taints, spread, identity) and the user's own metadata, checked
// the way the API server would, so that a mistake is named by its option before anything is applied.
import { AUTH } from '@turbolift/runtime/contract';
import { RESERVED_ANNOTATIONS, RESERVED_LABELS, isDnsSubdomain, isLabelValue, isQualifiedName } from '../../kubernetes/labels';
import type { Affinity, ExtraMetadata, PodPlacement, Toleration, TopologySpreadConstraint } from '../../kubernetes/types';
import type { Fail } from '../../errors';
import type { DeployK8sExecutorOptions } from './schema';

type Scalar = string | number | boolean;

const TOLERATION_FIELDS = ['key', 'operator', 'value', 'effect', 'tolerationSeconds'];
const TOLERATION_OPERATORS = ['Exists', 'Equal'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const AFFINITY_FIELDS = ['nodeAffinity', 'podAffinity', 'podAntiAffinity'];
const SPREAD_FIELDS = [
  'maxSkew',
  'topologyKey',
  'whenUnsatisfiable',
  'labelSelector',
  'minDomains',
  'matchLabelKeys',
  'nodeAffinityPolicy',
  'nodeTaintsPolicy',
];
const WHEN_UNSATISFIABLE = ['DoNotSchedule', 'ScheduleAnyway'];

export function normalizePlacement(options: DeployK8sExecutorOptions, fail: Fail): PodPlacement {
  const topologySpread = options.topologySpread ?? true;
  if (!topologySpread && options.topologySpreadConstraints) {
    fail('topologySpread is false but topologySpreadConstraints are set: leave topologySpread out to use the constraints');
  }
  return {
    nodeSelector: options.nodeSelector === undefined ? undefined : labelMap(options.nodeSelector, 'nodeSelector', fail),
    tolerations:
      options.tolerations === undefined ? undefined : list(options.tolerations, 'tolerations', fail).map((item, index) => toleration(item, index, fail)),
    affinity: options.affinity === undefined ? undefined : affinity(options.affinity, fail),
    priorityClassName: options.priorityClassName === undefined ? undefined : objectName(options.priorityClassName, 'priorityClassName', fail),
    topologySpreadConstraints:
      options.topologySpreadConstraints === undefined
        ? undefined
        : list(options.topologySpreadConstraints, 'topologySpreadConstraints', fail).map((item, index) => spreadConstraint(item, index, fail)),
    topologySpread,
    serviceAccountName: options.serviceAccountName === undefined ? undefined : objectName(options.serviceAccountName, 'serviceAccountName', fail),
    imagePullSecrets:
      options.imagePullSecrets === undefined
        ? undefined
        : list(options.imagePullSecrets, 'imagePullSecrets', fail).map((name, index) => objectName(name, `imagePullSecrets[${index}]`, fail)),
  };
}

/** Extra labels and annotations; turbolift's own keys are refused, since selectors, undeploy and the unchanged check rely on them. */
export function normalizeMetadata(options: DeployK8sExecutorOptions, fail: Fail): ExtraMetadata {
  const labels = labelMap(options.labels ?? {}, 'labels', fail);
  const annotations = scalarMap(options.annotations ?? {}, 'annotations', fail);
  for (const key of Object.keys(labels)) {
    if (key === AUTH.callerLabel) fail(`labels may not set ${key}: turbolift sets it on the pods (NetworkPolicies let callers in by it)`);
    if (RESERVED_LABELS.includes(key)) fail(`labels may not set ${key}: turbolift sets it (its selectors and undeploy-k8s use it)`);
  }
  for (const key of Object.keys(annotations)) {
    if (RESERVED_ANNOTATIONS.includes(key)) fail(`annotations may not set ${key}: turbolift sets it (it tells whether an object changed)`);
  }
  return { labels, annotations };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown, option: string, fail: Fail): unknown[] {
  return Array.isArray(value) ? value : fail(`${option} must be a list, got ${JSON.stringify(value)}`);
}

function onlyFields(value: unknown, fields: readonly string[], where: string, fail: Fail): Record<string, unknown> {
  if (!isObject(value)) return fail(`${where} must be an object, got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).find((field) => !fields.includes(field));
  if (unknown !== undefined) fail(`${where} has no field "${unknown}" (known: ${fields.join(', ')})`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly string[], where: string, fail: Fail): T {
  return typeof value === 'string' && allowed.includes(value)
    ? (value as T)
    : fail(`${where} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

function objectName(value: unknown, option: string, fail: Fail): string {
  return typeof value === 'string' && isDnsSubdomain(value)
    ? value
    : fail(`${option} ${JSON.stringify(value)} is not a Kubernetes object name (DNS-1123 subdomain)`);
}

function qualifiedKey(key: string, where: string, fail: Fail): string {
  return isQualifiedName(key) ? key : fail(`${where} key "${key}" is not a valid key ([prefix/]name, name at most 63 of A-Z a-z 0-9 - _ .)`);
}

function scalarMap(value: unknown, option: string, fail: Fail): Record<string, string> {
  if (!isObject(value)) return fail(`${option} must be an object of keys to values, got ${JSON.stringify(value)}`);
  const map: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!['string', 'number', 'boolean'].includes(typeof item)) fail(`${option}.${key} must be a string, got ${JSON.stringify(item)}`);
    map[qualifiedKey(key, option, fail)] = String(item as Scalar);
  }
  return map;
}

function labelMap(value: unknown, option: string, fail: Fail): Record<string, string> {
  const map = scalarMap(value, option, fail);
  for (const [key, item] of Object.entries(map)) {
    if (!isLabelValue(item)) fail(`${option}.${key} "${item}" is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)`);
  }
  return map;
}

function toleration(value: unknown, index: number, fail: Fail): Toleration {
  const where = `tolerations[${index}]`;
  const given = onlyFields(value, TOLERATION_FIELDS, where, fail);
  const operator = given.operator === undefined ? 'Equal' : oneOf<'Exists' | 'Equal'>(given.operator, TOLERATION_OPERATORS, `${where}.operator`, fail);
  if (given.key !== undefined && (typeof given.key !== 'string' || (given.key !== '' && !isQualifiedName(given.key)))) {
    fail(`${where}.key ${JSON.stringify(given.key)} is not a valid taint key`);
  }
  // The API's rules: no key tolerates every taint, which only Exists means; Exists matches any value, so it takes none.
  if (!given.key && operator !== 'Exists') fail(`${where} has no key: that tolerates every taint and needs operator Exists`);
  if (given.value !== undefined && (typeof given.value !== 'string' || !isLabelValue(given.value)))
    fail(`${where}.value ${JSON.stringify(given.value)} is not a taint value`);
  if (operator === 'Exists' && given.value) fail(`${where} has operator Exists and a value: Exists matches any value`);
  if (given.effect !== undefined) oneOf(given.effect, TAINT_EFFECTS, `${where}.effect`, fail);
  if (given.tolerationSeconds !== undefined) {
    if (!Number.isInteger(given.tolerationSeconds)) fail(`${where}.tolerationSeconds must be a whole number, got ${JSON.stringify(given.tolerationSeconds)}`);
    if (given.effect !== 'NoExecute') fail(`${where}.tolerationSeconds only applies with effect NoExecute`);
  }
  return { ...given, operator } as Toleration;
}

function affinity(value: unknown, fail: Fail): Affinity {
  const given = onlyFields(value, AFFINITY_FIELDS, 'affinity', fail);
  for (const [field, terms] of Object.entries(given)) if (!isObject(terms)) fail(`affinity.${field} must be an object, got ${JSON.stringify(terms)}`);
  return given as Affinity;
}

function spreadConstraint(value: unknown, index: number, fail: Fail): TopologySpreadConstraint {
  const where = `topologySpreadConstraints[${index}]`;
  const given = onlyFields(value, SPREAD_FIELDS, where, fail);
  const maxSkew = given.maxSkew;
  if (typeof maxSkew !== 'number' || !Number.isInteger(maxSkew) || maxSkew < 1)
    fail(`${where}.maxSkew must be a whole number >= 1, got ${JSON.stringify(maxSkew)}`);
  if (typeof given.topologyKey !== 'string' || !isQualifiedName(given.topologyKey)) {
    fail(`${where}.topologyKey ${JSON.stringify(given.topologyKey)} is not a node label key (e.g. topology.kubernetes.io/zone)`);
  }
  oneOf(given.whenUnsatisfiable, WHEN_UNSATISFIABLE, `${where}.whenUnsatisfiable`, fail);
  if (given.labelSelector !== undefined && !isObject(given.labelSelector))
    fail(`${where}.labelSelector must be an object, got ${JSON.stringify(given.labelSelector)}`);
  return given as unknown as TopologySpreadConstraint;
}
