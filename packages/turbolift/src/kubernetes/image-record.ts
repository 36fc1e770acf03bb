import { readFileSync } from 'node:fs';
import type { ImageRecord } from './types';

/** A user error with a one-line message (no stack is worth printing for it). */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

/** Reads the record `build-image` wrote; a missing file means the image was never built. */
export function readImageRecord(file: string, buildHint: string): ImageRecord {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DeployConfigError(`${file} does not exist: run ${buildHint} first`);
    }
    throw new DeployConfigError(`${file}: ${(error as Error).message}`);
  }
  return parseImageRecord(text, file);
}

export function parseImageRecord(text: string, file: string): ImageRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DeployConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const record = value as Partial<ImageRecord> | null;
  if (!record || typeof record !== 'object') throw new DeployConfigError(`${file}: expected an object`);
  for (const field of ['image', 'tag'] as const) {
    if (typeof record[field] !== 'string' || !record[field]) {
      throw new DeployConfigError(`${file}: "${field}" must be a non-empty string`);
    }
  }
  const digest = record.digest ?? null;
  if (digest !== null && !/^sha256:[0-9a-f]{64}$/.test(String(digest))) {
    throw new DeployConfigError(`${file}: "digest" must be sha256:<64 hex> or null, got ${JSON.stringify(digest)}`);
  }
  return { ...(record as ImageRecord), service: record.service ?? '', digest };
}
