/**
 * How a service bundle resolves the workspace's own libraries, decided from the workspace's tsconfig files.
 * Pure: `read-tsconfig.ts` reads the files, this picks from what they say.
 *
 * A TS-solution workspace points its packages' `exports` at `src/` through a custom condition
 * (`"@acme/source": "./src/index.ts"`), named in `compilerOptions.customConditions`. The name is the workspace's
 * own choice: it need not follow the root package name, and it may live in any file of an `extends` chain.
 * So the conditions are taken from the tsconfig the service is compiled with, as TypeScript reads it.
 */
import { dirname, join, relative, sep } from 'node:path';

/** What one tsconfig file says after its `extends` chain. */
export interface TsconfigFacts {
  /** Absolute path of the file. */
  file: string;
  /** `customConditions` as TypeScript resolves them through `extends`; undefined when no file of the chain sets them. */
  customConditions?: readonly string[];
}

/** What the workspace says about resolving its own libraries from source. */
export interface WorkspaceResolution {
  /** The workspace's root tsconfig (tsconfig.base.json, else tsconfig.json): its `paths` map libraries to their sources. */
  tsconfig?: string;
  /** Export conditions like `@acme/source` that point package exports at `src/`; empty when the workspace has none. */
  conditions: string[];
  /** The tsconfig the conditions came from, for messages. */
  conditionsFrom?: string;
}

/** The workspace root's own tsconfig files, in the order Nx workspaces use them. */
export const ROOT_TSCONFIGS = ['tsconfig.base.json', 'tsconfig.json'];
/** A project's tsconfig files, the one its build uses first. */
const PROJECT_TSCONFIGS = ['tsconfig.app.json', 'tsconfig.lib.json', 'tsconfig.json'];

/**
 * The tsconfig files that may decide how the entry is compiled, nearest first: each folder's from the entry's
 * own up to (not including) the workspace root, then the root's. An entry outside the workspace gets the root's only.
 */
export function tsconfigCandidates(workspaceRoot: string, entry: string): string[] {
  const candidates: string[] = [];
  const inside = (dir: string) => {
    const rel = relative(workspaceRoot, dir);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
  };
  for (let dir = dirname(entry); inside(dir); dir = dirname(dir)) {
    candidates.push(...PROJECT_TSCONFIGS.map((file) => join(dir, file)));
  }
  candidates.push(...ROOT_TSCONFIGS.map((file) => join(workspaceRoot, file)));
  return candidates;
}

/**
 * The resolution from the existing candidates (nearest first): conditions from the nearest file whose chain sets
 * `customConditions` (a project may override the root's), `paths` from the root's tsconfig. Each condition once.
 */
export function chooseResolution(workspaceRoot: string, existing: readonly TsconfigFacts[]): WorkspaceResolution {
  const root = ROOT_TSCONFIGS.map((file) => join(workspaceRoot, file)).find((file) => existing.some((facts) => facts.file === file));
  const decided = existing.find((facts) => facts.customConditions !== undefined);
  const conditions = [...new Set((decided?.customConditions ?? []).filter((entry) => typeof entry === 'string' && entry.length > 0))];
  return {
    ...(root ? { tsconfig: root } : {}),
    conditions,
    ...(decided && conditions.length > 0 ? { conditionsFrom: decided.file } : {}),
  };
}
