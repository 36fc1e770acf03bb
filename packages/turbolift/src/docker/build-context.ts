import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pack } from 'tar-stream';
import { BUNDLE_DIR_IN_CONTEXT } from './dockerfile';

/** One file of the build context, path relative to the context root with `/` separators. */
export interface ContextFile {
  path: string;
  content: Buffer;
}

/** Files of the bundle folder that never belong in the image (the record this executor writes beside it). */
const IGNORED = new Set(['image.json', '.DS_Store']);

/** Reads every file under the bundle folder as `bundle/<relative path>`. */
export function readBundleFiles(bundleDir: string, { sourceMaps = true }: { sourceMaps?: boolean } = {}): ContextFile[] {
  const files: ContextFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (IGNORED.has(name) || (!sourceMaps && name.endsWith('.map'))) continue;
      const full = join(dir, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) {
        const path = `${BUNDLE_DIR_IN_CONTEXT}/${relative(bundleDir, full).split(sep).join('/')}`;
        files.push({ path, content: readFileSync(full) });
      }
    }
  };
  walk(bundleDir);
  return files;
}

/**
 * Packs the context as a tar whose bytes depend only on paths and contents: entries sorted, mtime 0,
 * uid/gid 0, mode 0644. Same input, same bytes, same tag.
 */
export function packBuildContext(files: readonly ContextFile[]): Promise<Buffer> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const tar = pack();
  const chunks: Buffer[] = [];
  return new Promise<Buffer>((resolve, reject) => {
    tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    tar.on('end', () => resolve(Buffer.concat(chunks)));
    tar.on('error', reject);
    for (const file of sorted) {
      tar.entry(
        { name: file.path, size: file.content.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' },
        file.content,
      );
    }
    tar.finalize();
  });
}

export const CONTENT_TAG_LENGTH = 12;

/**
 * The image tag for a context: sha256 over the context tar and the labels given to the build
 * (labels change the image but live outside the context).
 */
export function contentTag(contextTar: Buffer, labels: Record<string, string> = {}): string {
  const hash = createHash('sha256').update(contextTar);
  const sortedLabels = Object.keys(labels)
    .sort()
    .map((key) => [key, labels[key]]);
  hash.update(JSON.stringify(sortedLabels));
  return hash.digest('hex').slice(0, CONTENT_TAG_LENGTH);
}
