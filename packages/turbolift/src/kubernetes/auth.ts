// Pure: caller authentication as data. The namespace's callers Secret (made once with a random token, never
// regenerated: rotating it is the user's), the copies in the callers' namespaces, and what a service pod gets from
// it: the Secret mounted read-only at AUTH.mountDir and AUTH.tokenDirEnv pointing there, or, with auth off,
// TURBOLIFT_AUTH=off and nothing mounted.
import { randomBytes } from 'node:crypto';
import { AUTH } from '@turbolift/runtime/contract';
import { TurboliftError } from '../errors';
import { LABEL, MANAGED_BY } from './labels';
import type { CallerAuth, KubernetesManifest, ServiceDeploySpec } from './types';

/** The pod volume the callers Secret is mounted from. */
export const CALLERS_VOLUME = 'turbolift-callers';
/** On a copy: the namespace whose callers Secret it was copied from. */
export const COPIED_FROM_ANNOTATION = 'turbolift.dev/copied-from';
/** `app.kubernetes.io/component` of the callers Secret and its copies. */
export const CALLERS_COMPONENT = 'callers';

/** 32 random bytes, base64url: what callers send as `authorization: Bearer <token>`. */
export function newCallerToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Managed by turbolift, but with no `app.kubernetes.io/instance`: no service's prune or undeploy selects it (they
 * select by instance), so it stays while any service or caller of the namespace may use it.
 */
export function callersSecretLabels(): Record<string, string> {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.component]: CALLERS_COMPONENT };
}

/** A new callers Secret for `namespace`, holding `token` under AUTH.currentKey (no previous token). */
export function renderCallersSecret(namespace: string, token: string): KubernetesManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: AUTH.secretName, namespace, labels: callersSecretLabels() },
    type: 'Opaque',
    data: { [AUTH.currentKey]: Buffer.from(token).toString('base64') },
  };
}

/** The token keys of a Secret's data, as they are there (base64): what a copy carries. */
export function tokenData(secret: { data?: Record<string, string> }): Record<string, string> {
  const data: Record<string, string> = {};
  for (const key of [AUTH.currentKey, AUTH.previousKey]) {
    const value = secret.data?.[key];
    if (value !== undefined) data[key] = value;
  }
  return data;
}

/**
 * The copy in a callers namespace, for server-side apply by turbolift's field manager: a key that is gone from the
 * source (`previous`, once a rotation is done) goes from the copy too, since the field manager owned it.
 */
export function renderCallersCopy(sourceNamespace: string, namespace: string, data: Record<string, string>): KubernetesManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: AUTH.secretName,
      namespace,
      labels: callersSecretLabels(),
      annotations: { [COPIED_FROM_ANNOTATION]: sourceNamespace },
    },
    type: 'Opaque',
    data,
  };
}

/** A Secret as read from the API server, the fields the plan looks at. */
export interface ExistingSecret {
  metadata?: { annotations?: Record<string, string> };
  data?: Record<string, string>;
}

export interface CallersSecretPlan {
  /** When the service's namespace has no callers Secret: the one to create (never written over once it exists). */
  create?: KubernetesManifest;
  /** One copy per callers namespace, applied on every deploy so that a rotation reaches them. */
  copies: KubernetesManifest[];
  /** Lines to print: a Secret without a token. */
  warnings: string[];
  /** The token callers send now (decoded), when the Secret has one: for a copy outside the cluster. */
  token?: string;
}

/**
 * What deploy does about the callers Secret, given what the namespace holds (`existing`) and what each callers
 * namespace holds (`existingCopies`). A callers namespace whose Secret is not a copy from this namespace (its own
 * services' Secret, or a copy from another namespace) is refused: overwriting it would lock out its callers.
 */
export function planCallersSecrets(
  spec: Pick<ServiceDeploySpec, 'name' | 'namespace' | 'auth'>,
  existing: ExistingSecret | undefined,
  existingCopies: ReadonlyMap<string, ExistingSecret | undefined> = new Map(),
  token: () => string = newCallerToken,
): CallersSecretPlan {
  if (!spec.auth.enabled) return { copies: [], warnings: [] };
  const create = existing ? undefined : renderCallersSecret(spec.namespace, token());
  const data = tokenData((create ?? existing ?? {}) as ExistingSecret);
  const warnings =
    data[AUTH.currentKey] === undefined
      ? [
          `${spec.name}: warning: Secret/${AUTH.secretName} in ${spec.namespace} has no key "${AUTH.currentKey}": ` +
            'the services accept no caller until it has one',
        ]
      : [];
  const copies = callerNamespaces(spec).map((namespace) => {
    const copiedFrom = existingCopies.get(namespace)?.metadata?.annotations?.[COPIED_FROM_ANNOTATION];
    if (existingCopies.get(namespace) && copiedFrom !== spec.namespace) {
      const whose = copiedFrom ? `a copy from namespace ${copiedFrom}` : 'its own (its services and callers use it)';
      throw new TurboliftError(
        'TL_BAD_OPTIONS',
        `deploy-k8s options of ${spec.name}: callers.namespaces names ${namespace}, whose Secret/${AUTH.secretName} is ${whose}; ` +
          `a namespace holds one token, so its callers can call the services of one namespace`,
      );
    }
    return renderCallersCopy(spec.namespace, namespace, data);
  });
  const current = data[AUTH.currentKey];
  return { create, copies, warnings, token: current === undefined ? undefined : Buffer.from(current, 'base64').toString('utf8') };
}

function callerNamespaces(spec: Pick<ServiceDeploySpec, 'namespace' | 'auth'>): string[] {
  return [...new Set(spec.auth.callerNamespaces)].filter((namespace) => namespace !== spec.namespace).sort();
}

/** The service container's env for caller authentication: the token folder, or the check turned off. */
export function callerAuthEnv(auth: CallerAuth): Record<string, string> {
  return auth.enabled ? { [AUTH.tokenDirEnv]: AUTH.mountDir } : { [AUTH.authEnv]: 'off' };
}

/** The pod volume and container mount of the callers Secret, none with auth off. `previous` is there only during a rotation. */
export function callerAuthVolumes(auth: CallerAuth): {
  volumes: Array<Record<string, unknown>>;
  volumeMounts: Array<Record<string, unknown>>;
} {
  if (!auth.enabled) return { volumes: [], volumeMounts: [] };
  return {
    volumes: [{ name: CALLERS_VOLUME, secret: { secretName: AUTH.secretName } }],
    volumeMounts: [{ name: CALLERS_VOLUME, mountPath: AUTH.mountDir, readOnly: true }],
  };
}

/** On every service pod: a function may call the functions a NetworkPolicy guards (its stub finds the mounted token). */
export function callerPodLabels(): Record<string, string> {
  return { [AUTH.callerLabel]: 'true' };
}

/** The warning an unauthenticated deploy prints. */
export function authOffWarning(spec: Pick<ServiceDeploySpec, 'name' | 'namespace'>): string {
  return `${spec.name}: warning: auth is off (${AUTH.authEnv}=off): any pod that can reach Service/${spec.name} in ${spec.namespace} may call it`;
}

/** YAML comment lines for a dry run: what deploy does about the callers Secret, which it never prints (it holds a token). */
export function callersSecretComment(spec: Pick<ServiceDeploySpec, 'name' | 'namespace' | 'auth'>): string {
  if (!spec.auth.enabled) return `# ${authOffWarning(spec)}\n`;
  const copies = callerNamespaces(spec);
  return (
    `# Secret/${AUTH.secretName} in namespace ${spec.namespace} (key ${AUTH.currentKey}, a random token) is created when absent, ` +
    `never printed, and kept as it is when present.\n` +
    (copies.length > 0 ? `# Its ${AUTH.currentKey} and ${AUTH.previousKey} are copied to Secret/${AUTH.secretName} in ${copies.join(', ')}.\n` : '')
  );
}
