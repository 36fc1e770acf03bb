import * as ts from 'typescript';

/** The import statement an import binding (default, namespace or named) belongs to. */
export function importDeclarationOf(binding: ts.Declaration): ts.ImportDeclaration | undefined {
  let node: ts.Node | undefined;
  if (ts.isImportSpecifier(binding)) node = binding.parent.parent.parent;
  else if (ts.isImportClause(binding)) node = binding.parent;
  else if (ts.isNamespaceImport(binding)) node = binding.parent.parent;
  return node && ts.isImportDeclaration(node) ? node : undefined;
}
