/** A replacement of [start, end) in a file's text; insertions have start === end. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping edits (positions refer to the original text). */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const edit of sorted) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** JSDoc text without the `@lift` tag; empty when nothing else was in it. */
export function withoutLiftTag(jsDoc: string): string {
  const lines = jsDoc.split('\n').map((line) => line.replace(/@lift\b[ \t]*/, ''));
  const kept = lines.filter((line, i) => i === 0 || i === lines.length - 1 || line.replace(/[\s*]/g, '') !== '');
  const cleaned = kept.join('\n');
  return cleaned.replace(/[/*\s]/g, '') === '' ? '' : cleaned.replace(/\/\*\*\s+\*\//, '');
}
