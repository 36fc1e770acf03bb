import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE, decode, encode, isPlainJson } from './index';

const roundTrip = (value: unknown) => {
  const { contentType, body } = encode(value);
  return decode(contentType, typeof body === 'string' ? Buffer.from(body) : body);
};

describe('isPlainJson', () => {
  it.each([
    ['string', 'x'],
    ['finite number', 1.5],
    ['boolean', false],
    ['null', null],
    ['nested plain objects and arrays', { a: [1, { b: 'c' }], d: null }],
  ])('accepts %s', (_label, value) => expect(isPlainJson(value)).toBe(true));

  it.each([
    ['undefined', undefined],
    ['undefined in an array', [1, undefined]],
    ['undefined property', { a: undefined }],
    ['an array hole', [, 1]], // eslint-disable-line no-sparse-arrays
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['BigInt', 1n],
    ['Date', new Date(0)],
    ['Buffer', Buffer.from('x')],
    ['Map', new Map()],
    ['Set', new Set()],
    ['class instance', new (class Point {})()],
    ['null-prototype object', Object.create(null)],
    ['deeply nested Buffer', { a: [{ b: Buffer.alloc(1) }] }],
  ])('refuses %s', (_label, value) => expect(isPlainJson(value)).toBe(false));
});

describe('encode / decode', () => {
  it('uses JSON for plain values and msgpack otherwise', () => {
    expect(encode([1, 'a', { b: true }])).toEqual({ contentType: JSON_CONTENT_TYPE, body: '[1,"a",{"b":true}]' });
    const binary = encode([Buffer.from('abc')]);
    expect(binary.contentType).toBe(MSGPACK_CONTENT_TYPE);
    // Raw bytes, not base64 text: the encoded form is barely larger than the data.
    expect(Buffer.isBuffer(binary.body)).toBe(true);
    expect((binary.body as Buffer).includes(Buffer.from('abc'))).toBe(true);
  });

  it('sends a large Buffer without inflating it', () => {
    const payload = Buffer.alloc(100_000, 7);
    const { body } = encode([payload]);
    expect(body.length).toBeLessThan(payload.length + 16);
  });

  it.each([
    ['Buffer', Buffer.from([1, 2, 3])],
    ['Uint8Array', new Uint8Array([1, 2])],
    ['Float64Array', new Float64Array([1.5, -2])],
    ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n])],
    ['Date', new Date(1_700_000_000_123)],
    [
      'Map with object keys',
      new Map<unknown, unknown>([
        [{ k: 1 }, 'v'],
        ['x', new Set([1])],
      ]),
    ],
    ['BigInt beyond 64 bits', -(2n ** 100n)],
    ['undefined', undefined],
    ['mixed', { when: new Date(0), blobs: [Buffer.from('a'), undefined], big: 5n, plain: { ok: true } }],
  ])('round-trips %s with its type', (_label, value) => {
    const decoded = roundTrip(value);
    expect(isDeepStrictEqual(decoded, value)).toBe(true);
  });

  it('decodes Buffers as Buffer even from a plain Uint8Array body', () => {
    const { body } = encode([Buffer.from('hi')]);
    const bytes = new Uint8Array(body as Buffer);
    const [decoded] = decode(MSGPACK_CONTENT_TYPE, bytes) as [Buffer];
    expect(Buffer.isBuffer(decoded)).toBe(true);
    expect(decoded.toString()).toBe('hi');
  });

  it('accepts content type parameters and names an unknown type', () => {
    expect(decode('application/json; charset=utf-8', '[1]')).toEqual([1]);
    expect(() => decode('text/plain', 'x')).toThrow(/cannot decode content type "text\/plain"/);
  });
});
