/**
 * Decides whether a value survives `JSON.stringify` -> `JSON.parse` unchanged, so the wire can use
 * plain JSON (readable, and parsed by fastify's own JSON parser) instead of msgpack.
 */

// Deeper values take the msgpack path; this also keeps a cyclic value from recursing forever here.
const MAX_DEPTH = 64;

export function isPlainJson(value: unknown): boolean {
  return isPlain(value, 0);
}

function isPlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // NaN and ±Infinity become null in JSON.
      return Number.isFinite(value);
    case 'object':
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) return isPlainArray(value, depth + 1);
      // Only ordinary objects: class instances, Dates, Maps, null-prototype objects... lose their prototype in JSON.
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      return isPlainObject(value as Record<string, unknown>, depth + 1);
    default:
      // undefined, bigint, symbol, function
      return false;
  }
}

function isPlainArray(array: unknown[], depth: number): boolean {
  // Array subclasses would come back as Array.
  if (Object.getPrototypeOf(array) !== Array.prototype) return false;
  for (let i = 0; i < array.length; i++) {
    // A hole reads as undefined, which is not JSON either.
    if (!isPlain(array[i], depth)) return false;
  }
  return true;
}

function isPlainObject(object: Record<string, unknown>, depth: number): boolean {
  for (const key in object) {
    // for-in also walks inherited enumerable keys; Object.prototype has none unless someone polluted it.
    if (!isPlain(object[key], depth)) return false;
  }
  return true;
}
