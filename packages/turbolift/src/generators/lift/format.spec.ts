import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { logger } from '@nx/devkit';
import { FsTree } from 'nx/src/generators/tree';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatCreatedFiles } from './format';

// This repository's own Prettier 3, as a workspace would resolve it.
const prettier = () => createRequire(__filename)('prettier');

describe('formatCreatedFiles', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** A workspace on disk with these files, as the user has them before the lift. */
  function workspaceWith(files: Record<string, string>): FsTree {
    const root = mkdtempSync(join(tmpdir(), 'lift-format-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return new FsTree(root, false);
  }

  it("formats the files the lift creates, with the workspace's settings, and leaves the user's edited files as they are", async () => {
    const tree = workspaceWith({
      'package.json': '{}',
      '.prettierrc': JSON.stringify({ singleQuote: true, semi: false }),
      'apps/app/src/main.ts': 'const  untouched = {a:1}\nexport const b = 2\n',
    });
    // What a lift does: an edit to an existing file, and new files.
    tree.write('apps/app/src/main.ts', 'const  untouched = {a:1}\nexport const b = await   liftedCall()\n');
    tree.write('libs/lifted/src/index.ts', 'export   const x = {a:"1"}');

    await formatCreatedFiles(tree, prettier);
    expect(tree.read('libs/lifted/src/index.ts', 'utf-8')).toBe("export const x = { a: '1' }\n");
    expect(tree.read('apps/app/src/main.ts', 'utf-8')).toBe('const  untouched = {a:1}\nexport const b = await   liftedCall()\n');
  });

  it('leaves alone what .prettierignore ignores', async () => {
    const tree = workspaceWith({ 'package.json': '{}', '.prettierignore': 'libs/generated\n' });
    tree.write('libs/generated/index.ts', 'export   const x = 1');
    await formatCreatedFiles(tree, prettier);
    expect(tree.read('libs/generated/index.ts', 'utf-8')).toBe('export   const x = 1');
  });

  it('warns, naming the files, when the formatter fails, and writes them unformatted', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('libs/lifted/src/broken.ts', 'export const = ;');
    tree.write('libs/lifted/src/fine.ts', 'export   const ok = 1');
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    await formatCreatedFiles(tree, prettier);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/could not format 1 new file\(s\) \(.+\); left as written: libs\/lifted\/src\/broken\.ts$/);
    expect(tree.read('libs/lifted/src/broken.ts', 'utf-8')).toBe('export const = ;');
    expect(tree.read('libs/lifted/src/fine.ts', 'utf-8')).toBe('export const ok = 1;\n');
    warn.mockRestore();
  });

  it('does nothing without a Prettier in the workspace', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('libs/lifted/src/index.ts', 'export   const x = 1');
    await formatCreatedFiles(tree);
    expect(tree.read('libs/lifted/src/index.ts', 'utf-8')).toBe('export   const x = 1');
  });
});
