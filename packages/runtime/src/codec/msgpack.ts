/**
 * The binary side of the wire: msgpack via msgpackr, configured so that the values JSON cannot carry
 * come back as the same types. Buffers travel as msgpack `bin` and decode as Buffer; typed arrays,
 * Dates, Maps, Sets, BigInts and `undefined` (also inside arrays and objects) use msgpackr's
 * extensions. Plain objects are msgpackr records, so Maps stay Maps.
 */
import { Packr } from 'msgpackr';

export const MSGPACK_CONTENT_TYPE = 'application/vnd.turbolift.msgpack';

// One instance for both directions. Without `structures`, every message carries its own record
// definitions, so any process can decode any message.
const packr = new Packr({
  moreTypes: true, // typed arrays (other than Uint8Array/Buffer), Sets, Errors, RegExps
  int64AsType: 'bigint', // msgpackr writes only BigInts as 64-bit integers; numbers stay numbers
  useBigIntExtension: true, // BigInts beyond 64 bits
});

export function packMsgpack(value: unknown): Buffer {
  return packr.pack(value);
}

/** Buffers in the result are views of `bytes`: pass a buffer nobody else reuses. */
export function unpackMsgpack(bytes: Buffer): unknown {
  return packr.unpack(bytes);
}
