// Thin: server-side apply of rendered objects, skipping those whose content hash already matches.
import { KubeConfig, KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { TurboliftError } from '../errors';
import { describeApiError, isNotFound, withTimeout } from './api-errors';
import { fromClientModel, toClientModel } from './client-model';
import { CONTENT_HASH_ANNOTATION, FIELD_MANAGER, managedObjectsSelector } from './labels';
import { RENDERED_KINDS } from './manifests';
import type { KubernetesManifest } from './types';

export const API_CALL_TIMEOUT_MS = 30_000;
/**
 * With an autoscaler, `spec.replicas` belongs to it. Our main apply never sets it; this second manager sets the
 * autoscaler's minimum once when the Deployment is created, and keeps the current count when a fixed-size
 * Deployment becomes autoscaled (else dropping the field from our apply would reset it to 1 until the HPA acts).
 */
export const REPLICAS_FIELD_MANAGER = 'turbolift-replicas';

export interface ApplyOptions {
  /** Set when an autoscaler owns the replica count: the count a newly created Deployment starts with. */
  autoscaledMinReplicas?: number;
  /** Told of each object as soon as it is written or skipped, so that an atomic deploy refused half-way knows what to undo. */
  onOutcome?: (outcome: ApplyOutcome) => void;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned';

export interface ApplyOutcome {
  kind: string;
  name: string;
  action: ApplyAction;
}

export class ApplyError extends TurboliftError<'TL_APPLY_FAILED'> {
  override name = 'ApplyError';
  constructor(message: string) {
    super('TL_APPLY_FAILED', message);
  }
}

export function objectApi(kubeConfig: KubeConfig): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kubeConfig);
}

/**
 * Applies each object with server-side apply (field manager `turbolift`, force: our fields are ours).
 * An object that exists with the same `turbolift.dev/content-hash` is left alone ("unchanged"): same desired
 * state, so no write, no new ReplicaSet. A Namespace that exists is left alone too.
 */
export async function applyManifests(client: KubernetesObjectApi, objects: readonly KubernetesManifest[], options: ApplyOptions = {}): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  const record = (outcome: ApplyOutcome) => {
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  };
  for (const object of objects) {
    const wanted = object.metadata.annotations?.[CONTENT_HASH_ANNOTATION];
    const current = await readIfExists(client, object);
    const action: ApplyAction = !current ? 'created' : 'configured';
    if (current && (object.kind === 'Namespace' || (wanted && current.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] === wanted))) {
      record({ kind: object.kind, name: object.metadata.name, action: 'unchanged' });
      continue;
    }
    const minReplicas = object.kind === 'Deployment' ? options.autoscaledMinReplicas : undefined;
    const autoscaled = minReplicas !== undefined;
    if (autoscaled && current && ownsReplicas(current, FIELD_MANAGER)) {
      await serverSideApply(client, replicasOnly(object, (current as { spec?: { replicas?: number } }).spec?.replicas ?? 1), REPLICAS_FIELD_MANAGER);
    }
    await serverSideApply(client, object, FIELD_MANAGER);
    if (minReplicas !== undefined && !current) await serverSideApply(client, replicasOnly(object, minReplicas), REPLICAS_FIELD_MANAGER);
    record({ kind: object.kind, name: object.metadata.name, action });
  }
  return outcomes;
}

export async function serverSideApply(client: KubernetesObjectApi, object: KubernetesManifest, fieldManager: string): Promise<void> {
  try {
    await withTimeout(
      client.patch(toClientModel(object) as KubernetesObject, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply),
      API_CALL_TIMEOUT_MS,
      `apply ${describeObject(object)}`,
    );
  } catch (error) {
    const missingNamespace = isNotFound(error) && object.metadata.namespace && /namespaces? "[^"]+" not found/.test(describeApiError(error));
    const hint = missingNamespace ? ' (create it, or set the createNamespace option)' : '';
    throw new ApplyError(`apply ${describeObject(object)} failed: ${describeApiError(error)}${hint}`);
  }
}

export function replicasOnly(deployment: KubernetesManifest, replicas: number): KubernetesManifest {
  const { apiVersion, kind, metadata } = deployment;
  return { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace }, spec: { replicas } };
}

function ownsReplicas(object: KubernetesObject, manager: string): boolean {
  return (object.metadata?.managedFields ?? []).some(
    (entry) => entry.manager === manager && entry.operation === 'Apply' && (entry.fieldsV1 as FieldsV1 | undefined)?.['f:spec']?.['f:replicas'] !== undefined,
  );
}

type FieldsV1 = { 'f:spec'?: { 'f:replicas'?: unknown } };

/**
 * Kinds deploy-k8s renders only under some options: when the options change, the leftover must go. Only objects
 * with our managed labels are listed, so a Secret (or autoscaler) someone else made in the namespace is never touched.
 */
export const OPTIONAL_KINDS = RENDERED_KINDS.filter((kind) => kind.optional);

/** Deletes our optional objects (pull Secret, HPA, PDB) of this service that the desired state no longer has. */
export async function pruneManifests(
  client: KubernetesObjectApi,
  namespace: string,
  name: string,
  desired: readonly KubernetesManifest[],
  options: Pick<ApplyOptions, 'onOutcome'> = {},
): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  for (const { apiVersion, kind } of OPTIONAL_KINDS) {
    const keep = new Set(desired.filter((object) => object.kind === kind).map((object) => object.metadata.name));
    const list = await withTimeout(
      client.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, managedObjectsSelector(name)),
      API_CALL_TIMEOUT_MS,
      `list ${kind} in ${namespace}`,
    );
    for (const item of list.items) {
      const itemName = item.metadata?.name ?? '';
      if (keep.has(itemName)) continue;
      try {
        await withTimeout(client.delete({ apiVersion, kind, metadata: { name: itemName, namespace } }), API_CALL_TIMEOUT_MS, `delete ${kind}/${itemName}`);
      } catch (error) {
        if (!isNotFound(error)) throw new ApplyError(`delete ${kind}/${itemName} in ${namespace} failed: ${describeApiError(error)}`);
      }
      outcomes.push({ kind, name: itemName, action: 'pruned' });
      options.onOutcome?.({ kind, name: itemName, action: 'pruned' });
    }
  }
  return outcomes;
}

export async function readIfExists(client: KubernetesObjectApi, object: KubernetesManifest): Promise<KubernetesObject | undefined> {
  try {
    const current = await withTimeout(
      client.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, namespace: object.metadata.namespace } }),
      API_CALL_TIMEOUT_MS,
      `read ${describeObject(object)}`,
    );
    return fromClientModel(current);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new ApplyError(`read ${describeObject(object)} failed: ${describeApiError(error)}`);
  }
}

export function describeObject(object: Pick<KubernetesManifest, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.name}${object.metadata.namespace ? ` in ${object.metadata.namespace}` : ''}`;
}
