/**
 * The image record, `dist/<root>/image.json`: what build-image built and deploy-k8s deploys. One parser
 * for both: build-image reads its previous record leniently (an unreadable one is simply rebuilt), deploy
 * strictly (a wrong one must say which field is wrong).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TurboliftError } from '../errors';

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

/**
 * What deploy needs of a record: the image and its tag, and the digest when pushed. The rest is
 * informative and may be missing from a hand-made record.
 */
export type DeployableImage = Pick<ImageRecord, 'service' | 'image' | 'tag' | 'digest'> & Partial<Omit<ImageRecord, 'service' | 'image' | 'tag' | 'digest'>>;

export function parseImageRecord(text: string, file: string): DeployableImage {
  const fail = (message: string): never => {
    throw new TurboliftError('TL_IMAGE_RECORD_INVALID', `${file}: ${message}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  const record = value as Partial<ImageRecord> | null;
  if (!record || typeof record !== 'object') return fail('expected an object');
  for (const field of ['image', 'tag'] as const) {
    if (typeof record[field] !== 'string' || !record[field]) fail(`"${field}" must be a non-empty string`);
  }
  const digest = record.digest ?? null;
  if (digest !== null && !/^sha256:[0-9a-f]{64}$/.test(String(digest))) {
    fail(`"digest" must be sha256:<64 hex> or null, got ${JSON.stringify(digest)}`);
  }
  return { ...(record as ImageRecord), service: record.service ?? '', digest };
}

/** The record build-image wrote; a missing file means the image was never built (`buildHint` says how). */
export function readImageRecord(file: string, buildHint: string): DeployableImage {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TurboliftError('TL_IMAGE_RECORD_MISSING', `${file} does not exist: run ${buildHint} first`);
    }
    throw new TurboliftError('TL_IMAGE_RECORD_MISSING', `${file}: ${(error as Error).message}`);
  }
  return parseImageRecord(text, file);
}

/** The previous record, or null when there is none or it is unreadable (then the image is simply rebuilt). */
export function readImageRecordIfAny(file: string): ImageRecord | null {
  try {
    return parseImageRecord(readFileSync(file, 'utf8'), file) as ImageRecord;
  } catch {
    return null;
  }
}

export function writeImageRecord(file: string, record: ImageRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}
