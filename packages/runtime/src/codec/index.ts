/**
 * value <-> bytes for the wire. `application/json` when the value is plain JSON, else
 * `application/vnd.turbolift.msgpack`. The same rule applies to the argument array and to the result.
 */
import { MSGPACK_CONTENT_TYPE, packMsgpack, packMsgpackPooled, unpackMsgpack, type PackedLease } from './msgpack';
import { isPlainJson } from './plain-json';

export const JSON_CONTENT_TYPE = 'application/json';
const JSON_WITH_CHARSET = 'application/json; charset=utf-8';
export { MSGPACK_CONTENT_TYPE, isPlainJson };

export interface Encoded {
  contentType: typeof JSON_CONTENT_TYPE | typeof MSGPACK_CONTENT_TYPE;
  /** A string for JSON (sent as UTF-8), a Buffer for msgpack. */
  body: string | Buffer;
}

export function encode(value: unknown): Encoded {
  if (isPlainJson(value)) return { contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value) };
  return { contentType: MSGPACK_CONTENT_TYPE, body: packMsgpack(value) };
}

/**
 * `encode` for the call path: msgpack bytes are packed into a pooled buffer, on loan until `releasePacked(lease)`
 * once the HTTP exchange that sent them is over.
 */
export function encodePooled(value: unknown): Encoded & { lease?: PackedLease } {
  if (isPlainJson(value)) return { contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value) };
  const lease = packMsgpackPooled(value);
  return { contentType: MSGPACK_CONTENT_TYPE, body: lease.bytes, lease };
}

/** Inverse of `encode`. `contentType` may carry parameters (`; charset=utf-8`). */
export function decode(contentType: string | undefined, body: Uint8Array | string): unknown {
  const type = mediaType(contentType);
  if (type === JSON_CONTENT_TYPE) return JSON.parse(typeof body === 'string' ? body : asBuffer(body).toString('utf8'));
  if (type === MSGPACK_CONTENT_TYPE) {
    if (typeof body === 'string') throw new TypeError(`${MSGPACK_CONTENT_TYPE} is binary: pass the bytes, not a string`);
    return unpackMsgpack(asBuffer(body));
  }
  throw new TypeError(`cannot decode content type "${contentType ?? '(none)'}"; expected ${JSON_CONTENT_TYPE} or ${MSGPACK_CONTENT_TYPE}`);
}

export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  // What our services send: skip the parsing.
  if (contentType === JSON_WITH_CHARSET) return JSON_CONTENT_TYPE;
  if (contentType === MSGPACK_CONTENT_TYPE) return MSGPACK_CONTENT_TYPE;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

// msgpackr decodes `bin` as a view of its input: a Buffer input makes Buffers come back as Buffer.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
