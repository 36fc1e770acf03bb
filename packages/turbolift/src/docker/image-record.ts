import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What build-image writes to `dist/<projectRoot>/image.json` (docs/ARCHITECTURE.md). */
export interface ImageRecord {
  service: string;
  /** Repository, e.g. `127.0.0.1:5000/compress-all-service`. */
  image: string;
  /** Content tag: the same bundle and Dockerfile always give the same tag. */
  tag: string;
  /** Every tag given to the image: the content tag first, then the extra ones. */
  tags: string[];
  /** Registry digest (`sha256:…`) when pushed, else null. */
  digest: string | null;
  /** Bytes, as the engine reports them (uncompressed, base included). */
  size: number;
  baseImage: string;
  /** null when the base image is not in the local engine (a Dockerfile override with another FROM). */
  baseImageSize: number | null;
  pushed: boolean;
}

/** The previous record, or null when there is none or it is unreadable (then the image is simply rebuilt). */
export function readImageRecordIfAny(file: string): ImageRecord | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<ImageRecord>;
    if (typeof value?.image !== 'string' || typeof value.tag !== 'string') return null;
    return value as ImageRecord;
  } catch {
    return null;
  }
}

export function writeImageRecord(file: string, record: ImageRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}
