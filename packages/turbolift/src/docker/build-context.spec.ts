import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { contentTag, packBuildContext, readBundleFiles, type ContextFile } from './build-context';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function bundle(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tl-context-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const dockerfile: ContextFile = { path: 'Dockerfile', content: Buffer.from('FROM x\n') };

async function entries(tar: Buffer): Promise<Array<{ name: string; mtime: number; uid: number; gid: number; mode: number }>> {
  const out: Array<{ name: string; mtime: number; uid: number; gid: number; mode: number }> = [];
  const reader = extract();
  await new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      out.push({ name: header.name, mtime: header.mtime?.getTime() ?? -1, uid: header.uid ?? -1, gid: header.gid ?? -1, mode: header.mode ?? -1 });
      stream.on('end', next);
      stream.resume();
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
    reader.end(tar);
  });
  return out;
}

describe('build context', () => {
  it('holds the Dockerfile and the bundle under bundle/, sorted, with fixed times, owners and modes', async () => {
    const dir = bundle({ 'main.js': 'x', 'main.js.map': '{}', 'package.json': '{}', 'image.json': '{}', 'assets/a.txt': 'a' });
    const tar = await packBuildContext([...readBundleFiles(dir), dockerfile]);
    const listed = await entries(tar);
    expect(listed.map((e) => e.name)).toEqual(['Dockerfile', 'bundle/assets/a.txt', 'bundle/main.js', 'bundle/main.js.map', 'bundle/package.json']);
    for (const entry of listed) expect(entry).toMatchObject({ mtime: 0, uid: 0, gid: 0, mode: 0o644 });
  });

  it('gives the same tag for the same input, whenever and in whatever order the files were read', async () => {
    const a = bundle({ 'main.js': 'console.log(1)', 'package.json': '{"name":"s"}' });
    const b = bundle({ 'package.json': '{"name":"s"}', 'main.js': 'console.log(1)' });
    const tagA = contentTag(await packBuildContext([dockerfile, ...readBundleFiles(a)]));
    const tagB = contentTag(await packBuildContext([...readBundleFiles(b).reverse(), dockerfile]));
    expect(tagA).toMatch(/^[0-9a-f]{12}$/);
    expect(tagB).toBe(tagA);
  });

  it('gives a different tag when the bundle, the Dockerfile or the labels change', async () => {
    const base = await packBuildContext([dockerfile, ...readBundleFiles(bundle({ 'main.js': 'console.log(1)' }))]);
    const changedCode = await packBuildContext([dockerfile, ...readBundleFiles(bundle({ 'main.js': 'console.log(2)' }))]);
    const changedDockerfile = await packBuildContext([
      { path: 'Dockerfile', content: Buffer.from('FROM y\n') },
      ...readBundleFiles(bundle({ 'main.js': 'console.log(1)' })),
    ]);
    const tags = new Set([contentTag(base), contentTag(changedCode), contentTag(changedDockerfile), contentTag(base, { team: 'a' })]);
    expect(tags.size).toBe(4);
  });
});

describe('readBundleFiles', () => {
  it('leaves source maps out of the image unless asked for them', () => {
    const dir = bundle({ 'main.js': 'x', 'main.js.map': '{}', 'package.json': '{}', 'image.json': '{}' });
    expect(readBundleFiles(dir, { sourceMaps: false }).map((file) => file.path)).toEqual(['bundle/main.js', 'bundle/package.json']);
    expect(readBundleFiles(dir, { sourceMaps: true }).map((file) => file.path)).toEqual(['bundle/main.js', 'bundle/main.js.map', 'bundle/package.json']);
  });
});
