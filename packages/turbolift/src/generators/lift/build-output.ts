import { joinPathFragments, readJson, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { servicePaths } from '../../service/paths';
import { isIgnored } from './gitignore';

const GITIGNORE = '.gitignore';
const COMMENT = '# build output of the lifted libraries and services';

/** The folders a generated project builds into: its tsconfig's outDir and, for a service, the bundle. */
function outputFolders(tree: Tree, root: string, isService: boolean): string[] {
  const folders: string[] = [];
  for (const file of ['tsconfig.lib.json', 'tsconfig.app.json'].map((f) => joinPathFragments(root, f))) {
    const outDir = tree.exists(file) ? readJson(tree, file).compilerOptions?.outDir : undefined;
    if (typeof outDir === 'string') folders.push(posix.join(root, outDir));
  }
  const projectJson = joinPathFragments(root, 'project.json');
  const outputPath = tree.exists(projectJson) ? readJson(tree, projectJson).targets?.build?.options?.outputPath : undefined;
  if (typeof outputPath === 'string') folders.push(outputPath);
  if (isService) folders.push(servicePaths(root).bundleDir);
  return folders.filter((f) => !f.startsWith('..'));
}

/** The line that ignores a folder: every `dist` folder when it sits in a project, else the folder from the root. */
function lineFor(folder: string): string {
  if (folder === 'dist' || folder.startsWith('dist/')) return '/dist';
  return posix.basename(folder) === 'dist' ? 'dist' : `/${folder}`;
}

/**
 * Makes the workspace's .gitignore ignore what the lifted library and service build into, so a build leaves
 * the working tree clean. Appends one commented block when something is missing; other lines stay as they are.
 */
export function ignoreBuildOutput(tree: Tree, projects: { libraryRoot: string; serviceRoot: string }): void {
  const text = tree.read(GITIGNORE, 'utf-8') ?? '';
  const folders = [...outputFolders(tree, projects.libraryRoot, false), ...outputFolders(tree, projects.serviceRoot, true)];
  const lines = [...new Set(folders.filter((f) => !isIgnored(text, f)).map(lineFor))];
  // `dist` covers `/dist`: one line where one does
  const needed = lines.includes('dist') ? lines.filter((l) => l !== '/dist') : lines;
  if (!needed.length) return;
  const separator = text === '' ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  tree.write(GITIGNORE, `${text}${separator}${COMMENT}\n${needed.join('\n')}\n`);
}
