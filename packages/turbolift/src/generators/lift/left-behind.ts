import * as ts from 'typescript';
import type { LiftPlan } from './analyze';
import { lineOf } from './marked-functions';

/** What happens in the app to a declaration the lift copied into the library. */
export interface LeftBehind {
  /** Per workspace-relative file, the names of the declarations nothing outside the lifted code uses any more. */
  remove: Map<string, Set<string>>;
  /** Declarations that stay, with the first use that keeps them (`file:line`). */
  kept: Array<{ name: string; file: string; usedBy: string }>;
}

interface Use {
  where: string;
  /** The copied statement the use sits in (its own use keeps it only while that one stays), if any. */
  inside?: ts.Statement;
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  const name = (statement as ts.DeclarationStatement).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

function topLevelOf(node: ts.Node): ts.Statement | undefined {
  let current = node;
  while (current.parent && !ts.isSourceFile(current.parent)) current = current.parent;
  return current.parent ? (current as ts.Statement) : undefined;
}

const isWithin = (node: ts.Node, outer: ts.Node | undefined) =>
  !!outer && node.getSourceFile() === outer.getSourceFile() && node.pos >= outer.pos && node.end <= outer.end;

/**
 * Which of the helpers the lift copied (every declaration of the plan but the function itself) the app can drop:
 * those no code outside the lifted code refers to, anywhere in the workspace. A helper used by a helper that
 * stays, stays too. An `export { x }` or `export * from` of its file counts as a use: it is part of an API.
 */
export function planLeftBehind(program: ts.Program, plan: LiftPlan, files: Map<ts.SourceFile, string>): LeftBehind {
  const checker = program.getTypeChecker();
  const copied = new Map<ts.Statement, string[]>();
  for (const part of plan.parts) {
    for (const statement of part.statements) if (statement !== plan.statement) copied.set(statement, declaredNames(statement));
  }
  const byDeclaration = new Map<ts.Node, ts.Statement>();
  for (const statement of copied.keys()) {
    if (ts.isVariableStatement(statement)) statement.declarationList.declarations.forEach((d) => byDeclaration.set(d, statement));
    else byDeclaration.set(statement, statement);
  }
  const names = new Set([...copied.values()].flat());
  const uses = new Map<ts.Statement, Use[]>([...copied.keys()].map((s) => [s, []]));
  const body = plan.fn.body;

  const copiedStatementOf = (id: ts.Identifier): ts.Statement | undefined => {
    let symbol = checker.getSymbolAtLocation(id);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    for (const declaration of symbol?.declarations ?? []) {
      const statement = byDeclaration.get(declaration);
      if (statement) return statement;
    }
    return undefined;
  };

  for (const [sf, path] of files) {
    const mentions = [...names].some((n) => sf.text.includes(n));
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node)) return;
      if (ts.isIdentifier(node) && names.has(node.text)) {
        const parent = node.parent;
        const isOwnName =
          (ts.isVariableDeclaration(parent) ||
            ts.isFunctionLike(parent) ||
            ts.isClassLike(parent) ||
            ts.isInterfaceDeclaration(parent) ||
            ts.isTypeAliasDeclaration(parent) ||
            ts.isEnumDeclaration(parent)) &&
          (parent as ts.NamedDeclaration).name === node;
        const target = isOwnName ? undefined : copiedStatementOf(node);
        if (target && !isWithin(node, body)) {
          const top = topLevelOf(node);
          const inside = top && copied.has(top) ? top : undefined;
          // a use inside the lifted function's own statement is in its signature: the stub keeps it
          uses.get(target)?.push({ where: `${path}:${lineOf(sf, node).line}`, inside });
        }
      }
      ts.forEachChild(node, visit);
    };
    if (mentions) visit(sf);
    for (const statement of sf.statements) {
      if (!ts.isExportDeclaration(statement) || statement.exportClause || !statement.moduleSpecifier) continue;
      const target = checker.getSymbolAtLocation(statement.moduleSpecifier)?.valueDeclaration;
      if (!target || !ts.isSourceFile(target)) continue;
      for (const copiedStatement of copied.keys()) {
        const exported = ts.canHaveModifiers(copiedStatement) && (ts.getModifiers(copiedStatement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
        if (exported && copiedStatement.getSourceFile() === target) uses.get(copiedStatement)?.push({ where: `${path}:${lineOf(sf, statement).line}` });
      }
    }
  }

  const removable = new Set(copied.keys());
  const keptBy = new Map<ts.Statement, string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const statement of removable) {
      const use = uses.get(statement)?.find((u) => !u.inside || !removable.has(u.inside));
      if (use) {
        removable.delete(statement);
        keptBy.set(statement, use.where);
        changed = true;
      }
    }
  }

  const pathOf = (s: ts.Statement) => files.get(s.getSourceFile()) ?? s.getSourceFile().fileName;
  const remove = new Map<string, Set<string>>();
  for (const statement of removable) {
    const set = remove.get(pathOf(statement)) ?? new Set<string>();
    copied.get(statement)?.forEach((n) => set.add(n));
    remove.set(pathOf(statement), set);
  }
  const kept = [...keptBy].flatMap(([statement, usedBy]) => (copied.get(statement) ?? []).map((name) => ({ name, file: pathOf(statement), usedBy })));
  return { remove, kept };
}
