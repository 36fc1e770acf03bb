/**
 * Pure: a strategic-merge patch, as `kubectl patch --type strategic` and kustomize apply it, on the kinds
 * deploy-k8s renders. Maps merge key by key and `null` removes a key. A list merges item by item on its merge
 * key where Kubernetes declares one (containers by name, container ports by containerPort, Service ports by
 * port, …) and is replaced otherwise (tolerations, args). Directives: `$patch: replace` on a map or as a list
 * item replaces instead of merging, `$patch: delete` on a map or a list item removes it. Kubernetes reads the
 * merge keys from its Go types; the table below holds the ones of the objects turbolift renders.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DIRECTIVE = '$patch';

/** The merge key of a list, by the list's field name and the name of the field that holds it. */
function mergeKeyOf(field: string, parent: string | undefined): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'ports':
      // A container's ports merge by containerPort, a Service's by port: the holder of `ports` tells them apart.
      return parent === 'spec' ? 'port' : 'containerPort';
    default:
      return undefined;
  }
}

export class StrategicMergeError extends Error {}

/** `original` with `patch` applied; neither is changed. `path` names the place in messages. */
export function strategicMerge(original: unknown, patch: unknown, path = ''): unknown {
  return mergeValue(original as Json, patch as Json, path || '.', undefined, undefined);
}

function mergeValue(original: Json | undefined, patch: Json, path: string, field: string | undefined, parent: string | undefined): Json | undefined {
  if (isObject(patch)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'delete') return undefined;
    const rest = withoutDirective(patch);
    if (directive === 'replace') return clean(rest, path);
    if (directive !== undefined) throw new StrategicMergeError(`${path}: unknown ${DIRECTIVE} "${String(directive)}" (replace or delete)`);
    return mergeObject(isObject(original) ? original : {}, rest, path);
  }
  if (Array.isArray(patch) && field !== undefined) {
    const key = mergeKeyOf(field, parent);
    if (key && Array.isArray(original)) return mergeList(original, patch, key, path);
  }
  return clean(patch, path);
}

function mergeObject(original: JsonObject, patch: JsonObject, path: string): JsonObject {
  const result: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
      continue;
    }
    const merged = mergeValue(original[key], value, `${path === '.' ? '' : path}.${key}`, key, lastField(path));
    if (merged === undefined) delete result[key];
    else result[key] = merged;
  }
  return result;
}

function mergeList(original: Json[], patch: Json[], key: string, path: string): Json[] {
  if (patch.some((item) => isObject(item) && item[DIRECTIVE] === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item[DIRECTIVE] === 'replace')).map((item) => clean(item, path));
  }
  const result = [...original];
  for (const [index, item] of patch.entries()) {
    const where = `${path}[${index}]`;
    if (!isObject(item) || item[key] === undefined) {
      throw new StrategicMergeError(`${where}: an item of this list needs its merge key "${key}"`);
    }
    const at = result.findIndex((candidate) => isObject(candidate) && candidate[key] === item[key]);
    const itemPath = `${path}[${key}=${String(item[key])}]`;
    if (item[DIRECTIVE] === 'delete') {
      if (at >= 0) result.splice(at, 1);
      continue;
    }
    if (at >= 0) result[at] = mergeValue(result[at], item, itemPath, undefined, undefined) as Json;
    else result.push(clean(item, itemPath));
  }
  return result;
}

/** A value put in as a whole: no directives may stay in it, and nulls in a new map mean "absent". */
function clean(value: Json, path: string): Json {
  if (Array.isArray(value)) return value.map((item) => clean(item, path));
  if (isObject(value)) {
    if (value[DIRECTIVE] !== undefined && value[DIRECTIVE] !== 'replace') {
      throw new StrategicMergeError(`${path}: ${DIRECTIVE} "${String(value[DIRECTIVE])}" has nothing to apply to here`);
    }
    return Object.fromEntries(
      Object.entries(withoutDirective(value))
        .filter(([, item]) => item !== null)
        .map(([key, item]) => [key, clean(item, path)]),
    );
  }
  return value;
}

function withoutDirective(value: JsonObject): JsonObject {
  const { [DIRECTIVE]: _directive, ...rest } = value;
  return rest;
}

function lastField(path: string): string | undefined {
  const match = /\.([^.[\]]+)$/.exec(path);
  return match?.[1];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
