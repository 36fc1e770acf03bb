/**
 * Formats the files the lift creates with the workspace's own Prettier, and only those. Devkit's formatFiles
 * formats every changed file, so a lift that edits one call site would restyle the user's whole file; the
 * edits in the user's files are written in the file's own style instead, and only the lines they change differ.
 * Prettier is loaded the way the workspace resolves it, 2 or 3 (formatFiles in some Nx versions cannot load 2);
 * when it is missing or fails, the lift still completes and says which files were left unformatted.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { logger, type Tree } from '@nx/devkit';

/** The part of Prettier 2 and 3 used here (3 returns promises, 2 values). */
interface PrettierApi {
  format(source: string, options: Record<string, unknown>): string | Promise<string>;
  resolveConfig(file: string, options?: { editorconfig?: boolean }): unknown;
  getFileInfo(file: string, options?: { ignorePath?: string }): unknown;
}

const FORMATTED = /\.(ts|tsx|js|mjs|cjs|json|md|ya?ml)$/;

export async function formatCreatedFiles(tree: Tree, load: (root: string) => PrettierApi = loadPrettier): Promise<void> {
  const created = tree
    .listChanges()
    .filter((change) => change.type === 'CREATE' && FORMATTED.test(change.path))
    .map((change) => change.path);
  if (created.length === 0) return;
  let prettier: PrettierApi;
  try {
    prettier = load(tree.root);
  } catch {
    return; // No Prettier in the workspace: nothing to match.
  }
  const unformatted: string[] = [];
  let firstReason = '';
  for (const path of created) {
    try {
      const file = join(tree.root, path);
      const info = (await prettier.getFileInfo(file, { ignorePath: join(tree.root, '.prettierignore') })) as { ignored?: boolean } | undefined;
      if (info?.ignored) continue;
      const config = ((await prettier.resolveConfig(file, { editorconfig: true })) ?? {}) as Record<string, unknown>;
      tree.write(path, await prettier.format(tree.read(path, 'utf-8') ?? '', { ...config, filepath: file }));
    } catch (error) {
      unformatted.push(path);
      firstReason ||= (error as Error).message.split('\n')[0];
    }
  }
  if (unformatted.length > 0) {
    const files = unformatted.join(', ');
    logger.warn(`lift: the workspace's Prettier could not format ${unformatted.length} new file(s) (${firstReason}); left as written: ${files}`);
  }
}

function loadPrettier(root: string): PrettierApi {
  const required = createRequire(join(root, 'package.json'))('prettier') as PrettierApi & { default?: PrettierApi };
  return typeof required.format === 'function' ? required : (required.default as PrettierApi);
}
