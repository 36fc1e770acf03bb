// client-node sends and reads objects through its generated models, whose property names are the wire's except
// where the wire's is a reserved word: a NetworkPolicy rule's peers are `_from` in the model, `from` on the wire.
// Handed a plain `from`, the client would drop it (an ingress rule that lets everyone in); read back, the peers
// would be under `_from`. These two keep the rest of deploy-k8s on the wire's names.
import type { KubernetesManifest } from './types';

type Rule = Record<string, unknown>;

function renameRules<T extends { kind?: string; spec?: unknown }>(object: T, from: string, to: string): T {
  const spec = object.spec as { ingress?: Rule[] } | undefined;
  if (object.kind !== 'NetworkPolicy' || !Array.isArray(spec?.ingress)) return object;
  const ingress = spec.ingress.map((rule) => {
    if (!rule || !(from in rule)) return rule;
    const { [from]: peers, ...rest } = rule;
    return { ...rest, [to]: peers };
  });
  return { ...object, spec: { ...spec, ingress } };
}

/** What client-node's serialiser reads: the object in the model's names. */
export function toClientModel(object: KubernetesManifest): KubernetesManifest {
  return renameRules(object, 'from', '_from');
}

/** An object as client-node read it, in the wire's names again. */
export function fromClientModel<T extends { kind?: string; spec?: unknown }>(object: T): T {
  return renameRules(object, '_from', 'from');
}
