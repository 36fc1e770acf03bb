// Pure: what an atomic deploy must do to put back what ran before it. No I/O.
import type { ApplyOutcome } from './apply';
import { FIELD_MANAGER } from './labels';
import type { KubernetesManifest } from './types';

/** An object as the API server returns it: what we read before the apply. */
export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    managedFields?: Array<{ manager?: string; operation?: string; fieldsV1?: unknown }>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** What the objects a deploy may write looked like before it: `Kind/name` → the object, for those that existed. */
export type PreDeployState = ReadonlyMap<string, LiveObject>;

export type RollbackStep =
  /** Server-side apply of what turbolift had applied before (also brings back an object the deploy pruned). */
  | {
      action: 'restore' | 'recreate';
      kind: string;
      name: string;
      manifest: KubernetesManifest;
      /**
       * The Deployment's count before the deploy, handed to the replicas field manager first: the deploy made the
       * Deployment fixed-size and the restored one is autoscaled, so turbolift lets go of `spec.replicas`, and without
       * another owner the field would be dropped and the count reset to 1 until the autoscaler acts.
       */
      handOverReplicas?: number;
    }
  /** The deploy created it: nothing ran before, so it goes. */
  | { action: 'delete'; kind: string; name: string; apiVersion: string; namespace?: string };

export interface RollbackPlan {
  steps: RollbackStep[];
  /** Created by the deploy and left in place: a Namespace may hold other services by now. */
  kept: string[];
  /** Whether a Deployment is restored, so that its rollout must be waited for. */
  restoresDeployment: boolean;
}

/** Fields the API server writes; never part of what is applied back. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];
const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Render order: what the restored objects rely on (the pull Secret, the Service) goes back before the Deployment. */
const KIND_ORDER = ['Namespace', 'Secret', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'];

export function objectKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/**
 * Steps that undo a deploy's outcomes: what it configured or pruned is applied back as it was, what it created is
 * deleted. Deletions come first (an autoscaler the deploy added must not act on the restored Deployment), then the
 * restores in render order. An unchanged deploy gives no step.
 */
export function planRollback(outcomes: readonly ApplyOutcome[], before: PreDeployState, desired: readonly KubernetesManifest[]): RollbackPlan {
  const deletes: RollbackStep[] = [];
  const restores: RollbackStep[] = [];
  const kept: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.action === 'unchanged') continue;
    const key = objectKey(outcome.kind, outcome.name);
    const prior = before.get(key);
    const wanted = desired.find((object) => object.kind === outcome.kind && object.metadata.name === outcome.name);
    if (!prior) {
      // Pruned but never read: nothing to bring back from. Created (or configured after a read that found nothing): it goes.
      if (outcome.action === 'pruned') continue;
      if (outcome.kind === 'Namespace') kept.push(key);
      else if (wanted)
        deletes.push({ action: 'delete', kind: outcome.kind, name: outcome.name, apiVersion: wanted.apiVersion, namespace: wanted.metadata.namespace });
      continue;
    }
    const manifest = restorableState(prior, outcome.kind);
    const handOverReplicas = outcome.kind === 'Deployment' ? replicasToHandOver(prior, wanted) : undefined;
    restores.push({
      action: outcome.action === 'pruned' ? 'recreate' : 'restore',
      kind: outcome.kind,
      name: outcome.name,
      manifest,
      ...(handOverReplicas !== undefined ? { handOverReplicas } : {}),
    });
  }
  const rank = (step: RollbackStep) => KIND_ORDER.indexOf(step.kind);
  deletes.sort((a, b) => rank(b) - rank(a));
  restores.sort((a, b) => rank(a) - rank(b));
  return { steps: [...deletes, ...restores], kept, restoresDeployment: restores.some((step) => step.kind === 'Deployment') };
}

/**
 * What to apply to put an object back: the fields turbolift's own apply owned before the deploy, with their values
 * then. Applied again under the same field manager, turbolift's field set becomes exactly the old one: fields the
 * deploy added are removed, the old values (the content hash included) come back, and fields of other managers
 * (the autoscaler's replica count, a `kubectl rollout restart` annotation, server defaults) are left to them.
 * Without such an entry (the object was not turbolift's before), the whole object less what the server writes.
 */
export function restorableState(prior: LiveObject, kind: string): KubernetesManifest {
  const apiVersion = prior.apiVersion ?? '';
  const name = prior.metadata?.name ?? '';
  const namespace = prior.metadata?.namespace;
  const identity = { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
  const owned = appliedFields(prior, FIELD_MANAGER);
  const state = owned ? (extractFields(prior, owned) as Record<string, unknown>) : stripServerFields(prior);
  return { ...state, ...identity, metadata: { ...(state.metadata as object | undefined), ...identity.metadata } };
}

/** The object less status and what the server writes into metadata; a Deployment's replica count stays with whoever owns it. */
export function stripServerFields(object: LiveObject): Record<string, unknown> {
  const { status: _status, metadata = {}, ...rest } = object;
  const cleaned: Record<string, unknown> = { ...metadata };
  for (const field of SERVER_METADATA) delete cleaned[field];
  const annotations = { ...(metadata.annotations ?? {}) };
  delete annotations[REVISION_ANNOTATION];
  if (Object.keys(annotations).length > 0) cleaned.annotations = annotations;
  else delete cleaned.annotations;
  const result: Record<string, unknown> = { ...rest, metadata: cleaned };
  if (object.kind === 'Deployment' && result.spec && typeof result.spec === 'object') {
    const { replicas: _replicas, ...spec } = result.spec as Record<string, unknown>;
    result.spec = spec;
  }
  return result;
}

/** The field set (`fieldsV1`) of a manager's Apply entry, if it has one. */
export function appliedFields(object: LiveObject, manager: string): FieldSet | undefined {
  const entry = (object.metadata?.managedFields ?? []).find((candidate) => candidate.manager === manager && candidate.operation === 'Apply');
  return entry?.fieldsV1 && typeof entry.fieldsV1 === 'object' ? (entry.fieldsV1 as FieldSet) : undefined;
}

/** A managed-fields set as the API server encodes it (`f:<field>`, `k:<key json>`, `v:<value json>`, `i:<index>`, `.`). */
export interface FieldSet {
  [path: string]: FieldSet;
}

/**
 * The parts of `value` a field set names, as the server's own extraction does: `f:` a map field, `k:` the list item
 * with those key fields, `v:` the set item with that value, `i:` the item at that index; an empty set is the whole
 * value (a leaf, or an atomic list or map).
 */
export function extractFields(value: unknown, fields: FieldSet): unknown {
  const paths = Object.keys(fields).filter((path) => path !== '.');
  if (paths.length === 0) return value;
  if (Array.isArray(value)) {
    const picked = new Map<number, unknown>();
    for (const path of paths) {
      const index = findItem(value, path);
      if (index === undefined) continue;
      let item = extractFields(value[index], fields[path]);
      // A keyed item keeps its key fields, or the server could not tell which item it is.
      if (path.startsWith('k:') && item && typeof item === 'object') item = { ...(JSON.parse(path.slice(2)) as object), ...(item as object) };
      picked.set(index, item);
    }
    return [...picked.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
  }
  if (value && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const path of paths) {
      if (!path.startsWith('f:')) continue;
      const field = path.slice(2);
      const child = (value as Record<string, unknown>)[field];
      if (child !== undefined) result[field] = extractFields(child, fields[path]);
    }
    return result;
  }
  return value;
}

function findItem(items: readonly unknown[], path: string): number | undefined {
  const json = path.slice(2);
  let index = -1;
  if (path.startsWith('i:')) index = Number(json);
  else if (path.startsWith('v:')) index = items.findIndex((item) => sameValue(item, JSON.parse(json)));
  else if (path.startsWith('k:')) {
    const key = JSON.parse(json) as Record<string, unknown>;
    index = items.findIndex(
      (item) =>
        !!item && typeof item === 'object' && Object.entries(key).every(([field, wanted]) => sameValue((item as Record<string, unknown>)[field], wanted)),
    );
  }
  return index >= 0 && index < items.length ? index : undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The count to hand to the replicas field manager before restoring a Deployment: only when the deploy set a fixed
 * count (turbolift owns `spec.replicas` now) and the Deployment before it was autoscaled (turbolift did not).
 */
function replicasToHandOver(prior: LiveObject, wanted: KubernetesManifest | undefined): number | undefined {
  const ownsNow = (wanted?.spec as { replicas?: number } | undefined)?.replicas !== undefined;
  const ownedBefore = appliedFields(prior, FIELD_MANAGER)?.['f:spec']?.['f:replicas'] !== undefined;
  const count = (prior.spec as { replicas?: number } | undefined)?.replicas;
  return ownsNow && !ownedBefore && typeof count === 'number' ? count : undefined;
}
