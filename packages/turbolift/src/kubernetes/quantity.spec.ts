import { describe, expect, it } from 'vitest';
import { parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it('reads CPU as cores: whole, milli and decimal', () => {
    expect(parseQuantity('1')).toBe(1);
    expect(parseQuantity('1500m')).toBe(1.5);
    expect(parseQuantity('3000m')).toBe(3);
    expect(parseQuantity('2.5')).toBe(2.5);
    expect(parseQuantity('100m')).toBe(0.1);
  });

  it('reads memory as bytes, with SI and binary suffixes', () => {
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
  });

  it('refuses what is not a quantity', () => {
    for (const text of ['', 'lots', '1 core', '-1', '1mi', 'm']) expect(parseQuantity(text)).toBeUndefined();
  });
});
