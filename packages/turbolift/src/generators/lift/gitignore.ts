/**
 * The part of .gitignore's pattern language needed to tell whether a folder is ignored: comments, negation,
 * anchoring by a slash, `*`, `?`, `**`, and a trailing `/`. A pattern read wrongly here only costs an extra line.
 */

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (glob.startsWith('**/', i)) {
      out += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      out += '.*';
      i += 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

/** Whether one pattern (without `!`) matches the folder or one of its parents, which ignores it as well. */
function matches(pattern: string, folder: string): boolean {
  const body = pattern.replace(/\/\*\*$/, '').replace(/\/+$/, '');
  if (!body) return false;
  const segments = folder.split('/');
  const paths = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  // without a slash a pattern matches a name at any depth; with one it is relative to the .gitignore
  const anchored = body.includes('/');
  const regExp = new RegExp(`^${globToRegExp(anchored ? body.replace(/^\//, '') : body)}$`);
  return anchored ? paths.some((p) => regExp.test(p)) : segments.some((s) => regExp.test(s));
}

/** Whether the root .gitignore's text ignores a workspace-relative folder; the last matching line decides. */
export function isIgnored(gitignore: string, folder: string): boolean {
  let ignored = false;
  for (const raw of gitignore.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (matches(negated ? line.slice(1) : line, folder)) ignored = !negated;
  }
  return ignored;
}
