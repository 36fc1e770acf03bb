// Kubernetes resource quantities ("1", "1500m", "2.5", "128Mi") as numbers, for checks and derived defaults.

/** The forms deploy-k8s accepts: a plain decimal number with an optional SI or binary suffix. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const SUFFIX_FACTOR: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value in base units (cores for CPU, bytes for memory); undefined when `text` is not a {@link QUANTITY}. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const number = Number(text.slice(0, text.length - (match[2]?.length ?? 0)));
  // Divided rather than multiplied by 0.001, so that "1500m" is exactly 1.5 and "3000m" exactly 3.
  return match[2] === 'm' ? number / 1000 : number * SUFFIX_FACTOR[match[2] ?? ''];
}
