// Thin: makes sure the namespace's callers Secret exists (created with a random token when absent, its data never
// touched once it exists) and copies its tokens into the callers' namespaces. The plan is auth.ts's.
import { PatchStrategy, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';
import { AUTH } from '@turbolift/runtime/contract';
import { describeApiError, httpStatusOf, isNotFound, withTimeout } from './api-errors';
import { API_CALL_TIMEOUT_MS, ApplyError, readIfExists } from './apply';
import { planCallersSecrets, type ExistingSecret } from './auth';
import { FIELD_MANAGER } from './labels';
import type { KubernetesManifest, ServiceDeploySpec } from './types';

export interface CallersSecretOutcome {
  /** Whether this deploy created the namespace's callers Secret (else it was there and was left as it is). */
  created: boolean;
  /** The callers namespaces its tokens were copied to. */
  copiedTo: string[];
  /** The token callers send now, when the Secret has one. */
  token?: string;
}

const secretRef = (namespace: string): KubernetesManifest => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: AUTH.secretName, namespace } });

export async function ensureCallersSecrets(
  client: KubernetesObjectApi,
  spec: Pick<ServiceDeploySpec, 'name' | 'namespace' | 'auth'>,
  log: (line: string) => void,
): Promise<CallersSecretOutcome | undefined> {
  if (!spec.auth.enabled) return undefined;
  const copies = new Map<string, ExistingSecret | undefined>();
  for (const namespace of spec.auth.callerNamespaces) {
    if (namespace !== spec.namespace) copies.set(namespace, (await readIfExists(client, secretRef(namespace))) as ExistingSecret | undefined);
  }
  const existing = (await readIfExists(client, secretRef(spec.namespace))) as ExistingSecret | undefined;
  let plan = planCallersSecrets(spec, existing, copies);
  let created = false;
  if (plan.create) {
    try {
      // Create, not apply: when another service's deploy made it a moment ago, its token stands.
      await withTimeout(client.create(plan.create as KubernetesObject), API_CALL_TIMEOUT_MS, `create Secret/${AUTH.secretName}`);
      created = true;
    } catch (error) {
      if (httpStatusOf(error) !== 409) {
        const hint = isNotFound(error) ? ' (create the namespace, or set the createNamespace option)' : '';
        throw new ApplyError(`create Secret/${AUTH.secretName} in ${spec.namespace} failed: ${describeApiError(error)}${hint}`);
      }
      plan = planCallersSecrets(spec, (await readIfExists(client, secretRef(spec.namespace))) as ExistingSecret | undefined, copies);
    }
  }
  log(
    created
      ? `  Secret/${AUTH.secretName} created (a new token for the namespace's callers)`
      : `  Secret/${AUTH.secretName} kept (the namespace's callers token, left as it is)`,
  );
  for (const warning of plan.warnings) log(warning);
  for (const copy of plan.copies) {
    const namespace = copy.metadata.namespace ?? '';
    try {
      await withTimeout(
        client.patch(copy as KubernetesObject, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
        API_CALL_TIMEOUT_MS,
        `apply Secret/${AUTH.secretName} in ${namespace}`,
      );
    } catch (error) {
      const hint = isNotFound(error) ? ' (each of callers.namespaces must exist)' : '';
      throw new ApplyError(`copy Secret/${AUTH.secretName} to namespace ${namespace} failed: ${describeApiError(error)}${hint}`);
    }
    log(`  Secret/${AUTH.secretName} copied to namespace ${namespace}`);
  }
  return { created, copiedTo: plan.copies.map((copy) => copy.metadata.namespace ?? ''), token: plan.token };
}
