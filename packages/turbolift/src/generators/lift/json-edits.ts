/**
 * The user's JSON files keep their own layout. `updateJson` (ours and the Nx generators' the lift calls)
 * re-serialises a whole file, so a one-line array such as `"inputs": ["default", "^default"]` or a reference
 * `{ "path": "./libs/pricing" }` comes back spread over several lines although the lift never touched it. This
 * replays only the differences between what the file held and what the generators left, as text edits on the
 * original (jsonc-parser, which Nx itself uses for these files): lines the lift does not change stay byte for byte.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Tree } from '@nx/devkit';
import { applyEdits, findNodeAtLocation, modify, parse, parseTree, type Edit, type JSONPath, type Node, type ParseError } from 'jsonc-parser';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function parseStrict(text: string): { ok: true; value: Json } | { ok: false } {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false }) as Json;
  return errors.length === 0 ? { ok: true, value } : { ok: false };
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Parsed JSON holds only plain values, so Node's deep equality is exactly JSON equality (key order aside).
const sameJson = (a: Json | undefined, b: Json | undefined): boolean => isDeepStrictEqual(a, b);

/** One change to replay: set (or, with `value` undefined, remove) the value at `path`; `insert` adds an array item there. */
interface Change {
  path: JSONPath;
  value: Json | undefined;
  insert?: boolean;
}

/** The smallest set of changes that turns `before` into `after`: per key of objects, appended items of arrays. */
function changesBetween(path: JSONPath, before: Json | undefined, after: Json | undefined, out: Change[]): void {
  if (sameJson(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) if (!(key in after)) out.push({ path: [...path, key], value: undefined });
    for (const key of Object.keys(after)) changesBetween([...path, key], before[key], after[key], out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && after.length >= before.length && before.every((item, i) => sameJson(item, after[i]))) {
    for (let i = before.length; i < after.length; i += 1) out.push({ path: [...path, i], value: after[i], insert: true });
    return;
  }
  out.push({ path, value: after });
}

/** The indentation unit the file already uses (two spaces when it has none to go by). */
function indentUnitOf(text: string): string {
  return /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
}

/** `{ "a": 1, "b": [2] }`: a value on one line, spaced the way Prettier writes short JSON. */
function inline(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (isObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${inline(item)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** The indentation of the line `offset` is on. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
}

const isOneLine = (text: string, node: Node) => !text.slice(node.offset, node.offset + node.length).includes('\n');

/**
 * A value on one line when `oneLine` (the text it replaces or follows is on one line) and the result stays
 * short, else spread with the file's unit, continuation lines indented from `indent`.
 */
function render(value: Json, oneLine: boolean, indent: string, unit: string, eol: string): string {
  const short = inline(value);
  if (oneLine && short.length <= 100) return short;
  return JSON.stringify(value, null, unit)
    .split('\n')
    .join(eol + indent);
}

/** One change as a text edit on `text`, in the layout the surrounding JSON has. */
function editFor(text: string, change: Change, unit: string, eol: string): Edit[] {
  const tree = parseTree(text);
  if (!tree) return [];
  if (change.value === undefined) return modify(text, change.path, undefined, {});
  const existing = findNodeAtLocation(tree, change.path);
  if (existing && !change.insert) {
    const value = render(change.value, isOneLine(text, existing), indentAt(text, existing.offset), unit, eol);
    return [{ offset: existing.offset, length: existing.length, content: value }];
  }
  const parent = findNodeAtLocation(tree, change.path.slice(0, -1));
  if (!parent || (parent.type !== 'object' && parent.type !== 'array')) return modify(text, change.path, change.value, {});
  const key = change.path[change.path.length - 1];
  const entry = (valueText: string) => (parent.type === 'object' ? `${JSON.stringify(key)}: ${valueText}` : valueText);
  const last = parent.children?.[parent.children.length - 1];
  if (!last) {
    // An empty `{}` or `[]`: the one entry inside it, on the same line when it is short.
    const [open, close] = parent.type === 'object' ? ['{ ', ' }'] : ['[', ']'];
    const short = entry(inline(change.value));
    if (short.length <= 100) return [{ offset: parent.offset, length: parent.length, content: `${open}${short}${close}` }];
    const outer = indentAt(text, parent.offset);
    const spread = entry(render(change.value, false, outer + unit, unit, eol));
    return [{ offset: parent.offset, length: parent.length, content: `${open.trim()}${eol}${outer + unit}${spread}${eol}${outer}${close.trim()}` }];
  }
  if (isOneLine(text, parent)) {
    return [{ offset: last.offset + last.length, length: 0, content: `, ${entry(inline(change.value))}` }];
  }
  // After the last entry, on a line of its own, at the indentation of the entries before it.
  const indent = indentAt(text, last.offset);
  const valueText = render(change.value, isOneLine(text, last.type === 'property' && last.children?.[1] ? last.children[1] : last), indent, unit, eol);
  return [{ offset: last.offset + last.length, length: 0, content: `,${eol}${indent}${entry(valueText)}` }];
}

/**
 * `updated`'s content, written as edits on `original`'s text. Falls back to `updated` itself when either is
 * not JSON (with comments) or when replaying would not give the same value: correctness first, layout second.
 */
export function keepJsonLayout(original: string, updated: string): string {
  const before = parseStrict(original);
  const after = parseStrict(updated);
  if (!before.ok || !after.ok) return updated;
  const changes: Change[] = [];
  changesBetween([], before.value, after.value, changes);
  if (changes.length === 0) return original;
  if (changes.some((change) => change.path.length === 0)) return updated;
  const unit = indentUnitOf(original);
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  let text = original;
  for (const change of changes) text = applyEdits(text, editFor(text, change, unit, eol));
  const replayed = parseStrict(text);
  return replayed.ok && sameJson(replayed.value, after.value) ? text : updated;
}

/** Rewrites each JSON file the lift changed (not those it created) as edits on the text it had on disk. */
export function keepUserJsonLayout(tree: Tree): void {
  for (const change of tree.listChanges()) {
    if (change.type !== 'UPDATE' || !change.path.endsWith('.json') || !change.content) continue;
    const onDisk = join(tree.root, change.path);
    if (!existsSync(onDisk)) continue;
    const original = readFileSync(onDisk, 'utf-8');
    const kept = keepJsonLayout(original, change.content.toString('utf-8'));
    if (kept !== change.content.toString('utf-8')) tree.write(change.path, kept);
  }
}
