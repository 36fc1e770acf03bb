/**
 * Which callers a service answers: those that send one of its tokens as `authorization: Bearer <token>`.
 * The tokens are the files `token` and `previous` of the token folder (a mounted Secret in the cluster,
 * `.turbolift/` locally) and `TURBOLIFT_TOKEN`. Two are accepted so that a rotation never refuses a caller
 * that has not picked up the new token yet.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH } from '../contract';
import { ServiceError } from './errors';

/** `false` accepts every caller; otherwise where the accepted tokens come from. */
export type AuthOption = false | { tokens?: string[]; tokenDir?: string };

/** `given`: tokens from the option or TURBOLIFT_TOKEN; `fromDir`: the token folder's, as read at start. */
export type NormalizedAuth = { enabled: false; reason: string } | { enabled: true; given: string[]; tokenDir?: string; fromDir: string[] };

/**
 * From the option, else the environment. With nothing configured the service accepts every caller and says
 * so at start: the turbolift executors always configure a token (deploy-k8s mounts the namespace's Secret,
 * serve makes `.turbolift/token`), so that case is a service started by hand.
 */
export function normalizeAuth(option: AuthOption | undefined, env: NodeJS.ProcessEnv, name: string): NormalizedAuth {
  if (option === false) return { enabled: false, reason: 'the auth option is false' };
  if (option === undefined && env[AUTH.authEnv] === 'off') return { enabled: false, reason: `${AUTH.authEnv}=off` };
  if (option === undefined && env[AUTH.authEnv] !== undefined && env[AUTH.authEnv] !== 'on') {
    throw new TypeError(`serve(${name}): ${AUTH.authEnv} is "${env[AUTH.authEnv]}"; expected "on" or "off"`);
  }
  const given = option ? (option.tokens ?? []) : env[AUTH.tokenEnv] ? [env[AUTH.tokenEnv] as string] : [];
  const tokenDir = option ? option.tokenDir : env[AUTH.tokenDirEnv] || undefined;
  const trimmed = given.map((token) => token.trim()).filter(Boolean);
  const fromDir = tokenDir ? readTokenDir(tokenDir) : [];
  if (tokenDir) {
    if (fromDir.length === 0) {
      throw new TypeError(
        `serve(${name}): no caller token in ${join(tokenDir, AUTH.currentKey)} (${AUTH.tokenDirEnv}); ` +
          `mount the ${AUTH.secretName} Secret there, or set ${AUTH.authEnv}=off to accept every caller`,
      );
    }
  }
  if (trimmed.length + fromDir.length === 0) {
    return { enabled: false, reason: `no caller token is configured (${AUTH.tokenDirEnv} or ${AUTH.tokenEnv})` };
  }
  return { enabled: true, given: trimmed, tokenDir, fromDir };
}

/** The tokens in a token folder: `token`, then `previous`; a missing or empty file adds none. */
export function readTokenDir(dir: string): string[] {
  const tokens: string[] = [];
  for (const key of [AUTH.currentKey, AUTH.previousKey]) {
    let text: string;
    try {
      text = readFileSync(join(dir, key), 'utf8').trim();
    } catch {
      continue;
    }
    if (text) tokens.push(text);
  }
  return tokens;
}

/** The token folder is read again at most this often. */
const REREAD_MS = 1000;

export class CallerCheck {
  private digests: Buffer[];
  private readAt = Date.now();

  constructor(private readonly auth: Extract<NormalizedAuth, { enabled: true }>) {
    this.digests = [...auth.given, ...auth.fromDir].map(digest);
  }

  /** undefined when the header carries an accepted token, else why not (for the 401's reason). */
  refusal(header: string | string[] | undefined): ServiceError | undefined {
    const presented = bearerToken(header);
    if (presented === undefined) return unauthorized(`no "${AUTH.header}: ${AUTH.scheme} <token>" header`);
    this.refresh();
    if (this.accepts(digest(presented))) return undefined;
    return unauthorized('the token is not one this service accepts');
  }

  /**
   * A rotation rewrites the mounted folder (the kubelet swaps it whole): read it again, at most once a
   * second, so that a new token is accepted and a dropped one refused within a second of the files changing.
   */
  private refresh(): void {
    if (!this.auth.tokenDir || Date.now() - this.readAt < REREAD_MS) return;
    this.readAt = Date.now();
    const fromDir = readTokenDir(this.auth.tokenDir);
    // A folder caught half-way through an update keeps the tokens read before.
    if (fromDir.length > 0) this.digests = [...this.auth.given, ...fromDir].map(digest);
  }

  /**
   * Compares fixed-length digests in constant time, against every accepted token: how long it takes says
   * nothing about how much of a token was right, nor about which token matched.
   */
  private accepts(presented: Buffer): boolean {
    let matched = false;
    for (const accepted of this.digests) matched = timingSafeEqual(presented, accepted) || matched;
    return matched;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== AUTH.scheme.toLowerCase()) return undefined;
  const token = header.slice(space + 1).trim();
  return token || undefined;
}

function unauthorized(reason: string): ServiceError {
  return new ServiceError(
    'TL_UNAUTHORIZED',
    401,
    `${reason}: callers send a token from the ${AUTH.secretName} Secret (mounted at ${AUTH.mountDir}), ` +
      `${AUTH.tokenEnv}, or .turbolift/${AUTH.currentKey} for local services`,
  );
}
