import ignore from 'ignore';
import { posix } from 'node:path';

/**
 * Whether the root .gitignore's text ignores what a build writes into a workspace-relative folder. Read with
 * `ignore`, the matcher Nx itself uses for .gitignore, so negations and git's rule that nothing inside an
 * excluded folder can be re-included hold as git has them. A file inside the folder is asked about, not the
 * folder itself: `dist/**` ignores every file of `dist` without naming `dist`.
 */
export function isIgnored(gitignore: string, folder: string): boolean {
  return ignore().add(gitignore).ignores(posix.join(folder, 'output.js'));
}
