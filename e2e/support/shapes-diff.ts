/** What a `git diff -U0` removes from and adds to one file. */
export interface FileChange {
  file: string;
  removed: string[];
  added: string[];
}

/** Splits a unified diff into its files' removed and added lines (header lines are not content). */
export function parseDiff(diff: string): FileChange[] {
  const files: FileChange[] = [];
  let current: FileChange | undefined;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      current = { file: line.slice(line.lastIndexOf(' b/') + 3), removed: [], added: [] };
      files.push(current);
      inHunk = false;
    } else if (line.startsWith('@@')) {
      inHunk = true;
    } else if (current && inHunk && line.startsWith('-')) {
      current.removed.push(line.slice(1));
    } else if (current && inHunk && line.startsWith('+')) {
      current.added.push(line.slice(1));
    }
  }
  return files;
}

/**
 * The two ways the lift may change a line that was there: `await ` before the call it now awaits, or a
 * trailing comma because it appended an entry after the line (a dependency, a reference, a plugin).
 */
function isLiftEdit(removed: string, added: string): boolean {
  return added === `${removed},` || (added.includes('await ') && added.replace('await ', '') === removed);
}

/**
 * Lines of a file the lift changed for no reason of its own: each removed line that no added line
 * explains as a lift edit, and, where `onlyImports` holds (source files), added lines that are neither such
 * an edit nor an import. Empty when the file changed only on the lines the lift edits.
 */
export function unexplainedChanges(change: FileChange, options: { onlyImports: boolean }): string[] {
  const added = [...change.added];
  const unexplained: string[] = [];
  for (const line of change.removed) {
    const edited = added.findIndex((candidate) => isLiftEdit(line, candidate));
    if (edited === -1) unexplained.push(`${change.file}: -${line}`);
    else added.splice(edited, 1);
  }
  if (options.onlyImports) {
    for (const line of added) if (!/^import\s/.test(line)) unexplained.push(`${change.file}: +${line}`);
  }
  return unexplained;
}
