// Pooled packing reuses buffers: what was handed out must never change under its holder.
import type * as Msgpackr from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { packMsgpack, packMsgpackPooled, releasePacked, unpackMsgpack } from './msgpack';

// The copy of msgpackr the codec loads (its CommonJS build), as another library in the process would.
const { Packr } = require('msgpackr') as typeof Msgpackr;

describe('pooled msgpack packing', () => {
  it('reuses a released buffer and never one still on loan', () => {
    const first = packMsgpackPooled([Buffer.alloc(1000, 1)]);
    const second = packMsgpackPooled([Buffer.alloc(1000, 2)]);
    expect(second.scratch.buffer).not.toBe(first.scratch.buffer);
    const secondCopy = Buffer.from(second.bytes);

    releasePacked(first);
    releasePacked(first); // twice is harmless: it is pooled once
    const third = packMsgpackPooled([Buffer.alloc(1000, 3)]);
    const fourth = packMsgpackPooled([Buffer.alloc(1000, 4)]);
    expect(third.scratch).toBe(first.scratch);
    expect(fourth.scratch).not.toBe(first.scratch);
    expect(second.bytes.equals(secondCopy)).toBe(true);
    expect(unpackMsgpack(third.bytes)).toEqual([Buffer.alloc(1000, 3)]);
    for (const lease of [second, third, fourth]) releasePacked(lease);
  });

  it('keeps a message larger than the scratch buffer intact and pools its bigger buffer', () => {
    const big = Buffer.alloc(300 * 1024, 9);
    const lease = packMsgpackPooled([big]);
    expect(unpackMsgpack(lease.bytes)).toEqual([big]);
    expect(lease.scratch.length).toBeGreaterThanOrEqual(lease.bytes.length);
    releasePacked(lease);
  });

  it('leaves other msgpackr users in the process alone', () => {
    // msgpackr shares its output buffer between all Packr instances in a process.
    const theirs = new Packr();
    const before = theirs.pack({ owner: 'someone else', n: 1 });
    const lease = packMsgpackPooled([Buffer.alloc(100, 5)]);
    const after = theirs.pack({ owner: 'someone else', n: 2 });
    releasePacked(lease);
    const reused = packMsgpackPooled([Buffer.alloc(5000, 6)]);
    const plain = packMsgpack(new Map([[1, 2]]));
    expect(theirs.unpack(before)).toEqual({ owner: 'someone else', n: 1 });
    expect(theirs.unpack(after)).toEqual({ owner: 'someone else', n: 2 });
    expect(unpackMsgpack(plain)).toEqual(new Map([[1, 2]]));
    releasePacked(reused);
  });
});
