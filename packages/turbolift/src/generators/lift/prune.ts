import * as ts from 'typescript';
import { isNamedDeclaration } from './syntax';
import { applyEdits, type TextEdit } from './text-edits';

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  const name = (statement as ts.DeclarationStatement).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

function isExported(statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Identifiers used in the file, outside the given (about to be removed) nodes and outside declaration names. */
function usedNames(sf: ts.SourceFile, excluded: Set<ts.Node>): Map<string, number> {
  const counts = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    if (excluded.has(node) || ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const isOwnName = (isNamedDeclaration(parent) || ts.isVariableDeclaration(parent)) && parent.name === node && ts.isSourceFile(topOf(parent).parent);
      if (!isOwnName) counts.set(node.text, (counts.get(node.text) ?? 0) + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return counts;
}

function topOf(node: ts.Node): ts.Node {
  let current = node;
  while (current.parent && !ts.isSourceFile(current.parent)) current = current.parent;
  return current;
}

/** The statement with the blank lines and comments that lead to it (all of its own trivia, except at the top of the file). */
function removalRange(sf: ts.SourceFile, node: ts.Node): TextEdit {
  const first = sf.statements[0] === node;
  let end = node.end;
  if (first) {
    while (end < sf.text.length && /\s/.test(sf.text[end])) end++;
  }
  return { start: first ? node.getStart(sf, true) : node.getFullStart(), end, text: '' };
}

/**
 * Removes from the rewritten source the module-level declarations (not exported) and import bindings that only
 * the lifted code used. `candidates` are the names declared or imported for the lifted code in this file;
 * anything still referenced by name stays (a conservative check: a same-named property keeps it). Exported
 * declarations go too when named in `unusedExports`: nothing else in the workspace uses them.
 */
export function pruneUnused(fileName: string, text: string, candidates: Set<string>, unusedExports: Set<string> = new Set()): string {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  // an exported declaration goes only when the workspace was checked for its users (`unusedExports`)
  const mayGo = (s: ts.Statement) => !isExported(s) || declaredNames(s).every((n) => unusedExports.has(n));
  const removable = sf.statements.filter(
    (s) => !ts.isImportDeclaration(s) && mayGo(s) && declaredNames(s).length && declaredNames(s).every((n) => candidates.has(n)),
  );
  const removed = new Set<ts.Node>();
  for (let changed = true; changed;) {
    changed = false;
    const used = usedNames(sf, removed);
    for (const statement of removable) {
      if (!removed.has(statement) && declaredNames(statement).every((n) => !used.has(n))) {
        removed.add(statement);
        changed = true;
      }
    }
  }
  const used = usedNames(sf, removed);
  const edits: TextEdit[] = [...removed].map((s) => removalRange(sf, s));
  for (const declaration of sf.statements.filter(ts.isImportDeclaration)) {
    const clause = declaration.importClause;
    if (!clause) continue;
    const isDropped = (name: string) => candidates.has(name) && !used.has(name);
    const keepDefault = clause.name && !isDropped(clause.name.text) ? clause.name.text : undefined;
    const named = clause.namedBindings;
    let keepNamed: string | undefined;
    let droppedAny = !!clause.name && !keepDefault;
    if (named && ts.isNamespaceImport(named)) {
      if (isDropped(named.name.text)) droppedAny = true;
      else keepNamed = named.getText(sf);
    } else if (named) {
      const kept = named.elements.filter((e) => !isDropped(e.name.text));
      if (kept.length !== named.elements.length) droppedAny = true;
      if (kept.length) keepNamed = `{ ${kept.map((e) => e.getText(sf)).join(', ')} }`;
    }
    if (!droppedAny) continue;
    if (!keepDefault && !keepNamed) {
      edits.push(removalRange(sf, declaration));
      continue;
    }
    const kept = [keepDefault, keepNamed].filter(Boolean).join(', ');
    const rebuilt = `import ${clause.isTypeOnly ? 'type ' : ''}${kept} from ${declaration.moduleSpecifier.getText(sf)};`;
    edits.push({ start: declaration.getStart(sf), end: declaration.end, text: rebuilt });
  }
  return applyEdits(text, edits);
}
