/** Deterministic input: the same seed gives the same sentences on every machine, so results compare across runs. */

/** mulberry32: a tiny seeded PRNG, good enough to pick words. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const subjects = ['The service', 'A small function', 'Every request', 'The workspace', 'Our cluster', 'The compressor', 'A lifted call', 'The scheduler'];
const verbs = ['compresses', 'sends', 'measures', 'retries', 'drains', 'packs', 'serves', 'counts', 'rebuilds', 'caches'];
const objects = [
  'thousands of strings',
  'a batch of sentences',
  'the deterministic input',
  'every chunk',
  'its own results',
  'the pruned bundle',
  'a content hash',
  'the endpoint file',
];
const tails = [
  'before lunch.',
  'in the background.',
  'without a restart.',
  'on loopback.',
  'twice as fast.',
  'again and again.',
  'for the benchmark.',
  'with brotli at quality eleven.',
];

export function makeSentences(count: number, seed = 20251123): string[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const clauses = 1 + Math.floor(random() * 4);
    const parts: string[] = [];
    for (let c = 0; c < clauses; c++) parts.push(`${pick(subjects)} ${pick(verbs)} ${pick(objects)} ${pick(tails)}`);
    texts.push(`#${i}: ${parts.join(' ')}`);
  }
  return texts;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
