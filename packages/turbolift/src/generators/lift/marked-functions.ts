import * as ts from 'typescript';
import { basename } from 'node:path';
import { isMemberDeclaration } from './syntax';

/** A declaration carrying the `@lift` JSDoc tag, found syntactically (before any checks). */
export interface MarkedFunction {
  name: string;
  /** Workspace-relative file. */
  file: string;
  project: string;
  node: ts.FunctionDeclaration | ts.VariableDeclaration | ts.MethodDeclaration | ts.PropertyDeclaration | ts.PropertyAssignment | ts.AccessorDeclaration;
  sourceFile: ts.SourceFile;
}

export function hasLiftTag(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'lift');
}

/** `src/my-stats.ts` -> `myStats`: the name an anonymous default export answers to. */
function nameFromFile(file: string): string {
  return basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/[-_.]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function findMarkedFunctions(sourceFile: ts.SourceFile, file: string, project: string): MarkedFunction[] {
  if (!sourceFile.text.includes('@lift')) return [];
  const found: MarkedFunction[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isFunctionDeclaration(node) || ts.isVariableDeclaration(node) || isMemberDeclaration(node)) && hasLiftTag(node)) {
      const name =
        node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name) || ts.isPrivateIdentifier(node.name))
          ? node.name.text
          : ts.isFunctionDeclaration(node)
            ? nameFromFile(file)
            : undefined;
      if (name) found.push({ name, file, project, node, sourceFile });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

export function lineOf(sourceFile: ts.SourceFile, node: ts.Node): { line: number; column: number } {
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { line: line + 1, column: character + 1 };
}
