import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsTree } from 'nx/src/generators/tree';
import { updateJson } from '@nx/devkit';
import { afterEach, describe, expect, it } from 'vitest';
import { keepJsonLayout, keepUserJsonLayout } from './json-edits';

const NX_JSON = `{
  "$schema": "./node_modules/nx/schemas/nx-schema.json",
  "namedInputs": {
    "default": ["{projectRoot}/**/*", "sharedGlobals"],
    "sharedGlobals": []
  },
  "plugins": [{ "plugin": "@nx/js/typescript", "options": { "typecheck": { "targetName": "typecheck" } } }]
}
`;

const TSCONFIG = `{
  // the workspace's references
  "extends": "./tsconfig.base.json",
  "files": [],
  "references": [
    { "path": "./libs/pricing" },
    { "path": "./apps/web" }
  ]
}
`;

/** The lines of `after` that are not in `before`, and those of `before` gone from `after`. */
function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { added: b.filter((line) => !a.includes(line)), removed: a.filter((line) => !b.includes(line)) };
}

describe('keepJsonLayout', () => {
  it('appends a plugin without spreading the one-line arrays and objects that were there', () => {
    const updated = JSON.parse(NX_JSON);
    updated.plugins.push({ plugin: 'turbolift' });
    const kept = keepJsonLayout(NX_JSON, JSON.stringify(updated, null, 2));
    expect(JSON.parse(kept)).toEqual(updated);
    const { added, removed } = lineDiff(NX_JSON, kept);
    // The line before the new item gets its comma; everything else that was there stays as it was.
    expect(removed).toEqual(['  "plugins": [{ "plugin": "@nx/js/typescript", "options": { "typecheck": { "targetName": "typecheck" } } }]']);
    expect(added.join('\n')).toContain('"turbolift"');
    expect(kept).toContain('"default": ["{projectRoot}/**/*", "sharedGlobals"],');
  });

  it('adds a reference after the others, keeping comments and each one-line reference', () => {
    const updated = {
      extends: './tsconfig.base.json',
      files: [],
      references: [{ path: './libs/pricing' }, { path: './apps/web' }, { path: './libs/lifted/price' }],
    };
    const kept = keepJsonLayout(TSCONFIG, JSON.stringify(updated, null, 2));
    expect(kept).toContain("// the workspace's references");
    expect(kept).toContain('    { "path": "./libs/pricing" },\n    { "path": "./apps/web" },\n');
    expect(kept).toContain('./libs/lifted/price');
    const { removed } = lineDiff(TSCONFIG, kept);
    expect(removed).toEqual(['    { "path": "./apps/web" }']);
  });

  it('changes a value and removes a key in place, with the indentation the file uses', () => {
    const original = '{\n\t"name": "@shapes/web",\n\t"keep": [1, 2],\n\t"drop": true\n}\n';
    const kept = keepJsonLayout(original, JSON.stringify({ name: '@shapes/web2', keep: [1, 2], added: { a: 1 } }));
    expect(JSON.parse(kept)).toEqual({ name: '@shapes/web2', keep: [1, 2], added: { a: 1 } });
    expect(kept).toContain('\t"keep": [1, 2]');
    expect(kept).not.toContain('drop');
  });

  it('gives the updated text back when the original is not JSON, and the original when nothing changed', () => {
    expect(keepJsonLayout('{ not json', '{"a":1}')).toBe('{"a":1}');
    expect(keepJsonLayout(NX_JSON, JSON.stringify(JSON.parse(NX_JSON)))).toBe(NX_JSON);
  });
});

describe('keepUserJsonLayout', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('rewrites the files updateJson changed as edits on what they held on disk, and leaves new files alone', () => {
    root = mkdtempSync(join(tmpdir(), 'turbolift-json-edits-'));
    writeFileSync(join(root, 'nx.json'), NX_JSON);
    const tree = new FsTree(root, false);
    updateJson(tree, 'nx.json', (json) => ({ ...json, plugins: [...json.plugins, 'turbolift'] }));
    tree.write('libs/new/package.json', JSON.stringify({ name: 'x', exports: { '.': './src/index.ts' } }, null, 2));
    const created = tree.read('libs/new/package.json', 'utf-8');
    keepUserJsonLayout(tree);
    const nxJson = tree.read('nx.json', 'utf-8') ?? '';
    expect(nxJson).toContain('"default": ["{projectRoot}/**/*", "sharedGlobals"],');
    expect(JSON.parse(nxJson).plugins).toEqual([JSON.parse(NX_JSON).plugins[0], 'turbolift']);
    expect(tree.read('libs/new/package.json', 'utf-8')).toBe(created);
  });
});

describe('keepJsonLayout into empty containers', () => {
  it('fills an empty array or object on its own line', () => {
    const original = '{\n  "deps": [],\n  "options": {}\n}\n';
    const kept = keepJsonLayout(original, JSON.stringify({ deps: ['@shapes/pricing'], options: { port: 4310 } }));
    expect(kept).toBe('{\n  "deps": ["@shapes/pricing"],\n  "options": { "port": 4310 }\n}\n');
  });
});
