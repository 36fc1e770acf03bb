import { describe, expect, it } from 'vitest';
import { imagesToPrune, type ImageInfo } from './engine';

const image = (id: string, created: number): ImageInfo => ({ id, created, size: 1, repoTags: [], labels: {} });

describe('imagesToPrune', () => {
  const images = [image('a', 1), image('d', 4), image('b', 2), image('c', 3)];

  it('keeps the newest N and removes the rest, oldest included', () => {
    expect(imagesToPrune(images, 2, 'd').map((i) => i.id)).toEqual(['b', 'a']);
  });

  it('never removes the image just built, even when it is not the newest', () => {
    const removed = imagesToPrune(images, 1, 'b').map((i) => i.id);
    expect(removed).not.toContain('b');
    expect(removed).toEqual(['d', 'c', 'a']);
  });

  it('removes nothing while there are no more than N', () => {
    expect(imagesToPrune(images, 4, 'd')).toEqual([]);
  });
});
