/**
 * The binary side of the wire: msgpack via msgpackr, configured so that the values JSON cannot carry
 * come back as the same types. Buffers travel as msgpack `bin` and decode as Buffer; typed arrays,
 * Dates, Maps, Sets, BigInts and `undefined` (also inside arrays and objects) use msgpackr's
 * extensions. Plain objects are msgpackr records, so Maps stay Maps.
 */
import type * as Msgpackr from 'msgpackr';

export const MSGPACK_CONTENT_TYPE = 'application/vnd.turbolift.msgpack';

let packr: Msgpackr.Packr | undefined;

/**
 * msgpackr (and its native accelerator, when installed) is loaded with the first value that is not plain
 * JSON: a process whose calls are all local, or all plain JSON, never loads it.
 */
function ownPackr(): Msgpackr.Packr {
  const { Packr } = require('msgpackr') as typeof Msgpackr;
  // Without `structures`, every message carries its own record definitions, so any process can decode any message.
  return new Packr({
    moreTypes: true, // typed arrays (other than Uint8Array/Buffer), Sets, Errors, RegExps
    int64AsType: 'bigint', // msgpackr writes only BigInts as 64-bit integers; numbers stay numbers
    useBigIntExtension: true, // BigInts beyond 64 bits
  });
}

/** Packs into memory the caller owns for good. */
export function packMsgpack(value: unknown): Buffer {
  return (packr ??= ownPackr()).pack(value);
}

/** Buffers in the result are views of `bytes`: pass a buffer nobody else reuses. */
export function unpackMsgpack(bytes: Buffer): unknown {
  return (packr ??= ownPackr()).unpack(bytes);
}

/**
 * Packed bytes in a pooled buffer. Left to itself msgpackr gives every large message freshly
 * allocated memory several times its size, and that allocation, not the copy, is what makes a
 * 100 KB argument expensive. Bytes on loan go back to the pool with `releasePacked` once the HTTP
 * exchange that sent them is over; a lease never released is simply garbage collected.
 */
export interface PackedLease {
  bytes: Buffer;
  /** The pooled buffer `bytes` lives in. */
  scratch: Buffer;
  released?: boolean;
}

const SCRATCH_BYTES = 64 * 1024;
const MAX_POOLED_BUFFER = 16 * 1024 * 1024;
const MAX_POOLED_TOTAL = 32 * 1024 * 1024;
const free: Buffer[] = [];
let pooledBytes = 0;

export function packMsgpackPooled(value: unknown): PackedLease {
  let scratch = free.pop();
  if (scratch) pooledBytes -= scratch.length;
  else scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  const own = (packr ??= ownPackr());
  own.useBuffer(scratch);
  let bytes: Buffer;
  try {
    bytes = own.pack(value);
  } finally {
    handOff(own);
  }
  // Past the scratch buffer's end msgpackr moved the message to a bigger buffer of its own: pool that one instead.
  return { bytes, scratch: bytes.buffer === scratch.buffer ? scratch : Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength) };
}

export function releasePacked(lease: PackedLease): void {
  if (lease.released) return;
  lease.released = true;
  const { scratch } = lease;
  if (scratch.length > MAX_POOLED_BUFFER || pooledBytes + scratch.length > MAX_POOLED_TOTAL) return;
  pooledBytes += scratch.length;
  free.push(scratch);
}

// msgpackr keeps its output buffer and write position in module state shared by every Packr in the
// process, ours and any other library's. After a pooled pack, point it at fresh memory, so that no
// later pack (ours or theirs) writes into a pooled buffer.
const HANDOFF_BYTES = 8 * 1024;
function handOff(own: Msgpackr.Packr): void {
  own.useBuffer(Buffer.allocUnsafeSlow(HANDOFF_BYTES));
}
