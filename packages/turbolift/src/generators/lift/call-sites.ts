import * as ts from 'typescript';
import type { LiftPlan } from './analyze';
import type { TextEdit } from './text-edits';

export interface CallSites {
  /** `await` insertions, per workspace-relative file. */
  edits: Map<string, TextEdit[]>;
  /** `file:line` of calls in synchronous code and of uses as a value: they now get a Promise. */
  syncUses: string[];
  /** Number of calls that got `await`. */
  awaited: number;
}

const PROMISE_COMBINATORS = new Set(['all', 'allSettled', 'race', 'any']);

function skipParens(node: ts.Node): ts.Node {
  let current = node;
  while (ts.isParenthesizedExpression(current.parent)) current = current.parent;
  return current;
}

/** Whether the call's promise is already consumed as a promise (awaited, chained, or handed to Promise.all). */
function alreadyHandled(call: ts.CallExpression): boolean {
  const outer = skipParens(call);
  const parent = outer.parent;
  if (ts.isAwaitExpression(parent)) return true;
  if (ts.isPropertyAccessExpression(parent) && parent.expression === outer && ['then', 'catch', 'finally'].includes(parent.name.text)) return true;
  if (isPromiseCombinatorInput(outer)) return true;
  // `Promise.all(items.map((x) => fn(x)))`: the arrow hands the promise to map, map to Promise.all
  if (ts.isArrowFunction(parent) && parent.body === outer && ts.isCallExpression(parent.parent) && parent.parent.arguments.includes(parent)) {
    const mapCall = parent.parent;
    if (ts.isPropertyAccessExpression(mapCall.expression) && mapCall.expression.name.text === 'map') return isPromiseCombinatorInput(skipParens(mapCall));
  }
  return false;
}

/** `Promise.all(x)`, `Promise.all([x, …])` or `Promise.all([...x])` (and allSettled, race, any). */
function isPromiseCombinatorInput(node: ts.Node): boolean {
  let holder = node.parent;
  if (ts.isSpreadElement(holder)) holder = holder.parent;
  if (ts.isArrayLiteralExpression(holder)) holder = holder.parent;
  return (
    ts.isCallExpression(holder) &&
    ts.isPropertyAccessExpression(holder.expression) &&
    ts.isIdentifier(holder.expression.expression) &&
    holder.expression.expression.text === 'Promise' &&
    PROMISE_COMBINATORS.has(holder.expression.name.text)
  );
}

function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  for (let current = node.parent; current; current = current.parent) {
    if (ts.isFunctionLike(current)) return current;
  }
  return undefined;
}

function isAsync(fn: ts.SignatureDeclaration | undefined): boolean {
  return !!fn && ts.canHaveModifiers(fn) && (ts.getModifiers(fn) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
}

function needsParentheses(call: ts.Node): boolean {
  const parent = call.parent;
  return (
    ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === call) ||
    (ts.isCallExpression(parent) && parent.expression === call) ||
    ts.isNonNullExpression(parent) ||
    ts.isTaggedTemplateExpression(parent)
  );
}

function isDeclarationOfLifted(plan: LiftPlan, decl: ts.Declaration): boolean {
  return decl === plan.statement || (ts.isVariableStatement(plan.statement) && decl === plan.statement.declarationList.declarations[0]);
}

/**
 * Every use of the lifted function in the workspace's sources. Calls inside async functions get `await`
 * (they used the value directly, now it arrives as a Promise); other uses are reported for the user.
 */
export function findCallSites(program: ts.Program, plan: LiftPlan, files: Map<ts.SourceFile, string>): CallSites {
  const checker = program.getTypeChecker();
  const result: CallSites = { edits: new Map(), syncUses: [], awaited: 0 };
  const isLifted = (id: ts.Identifier): boolean => {
    let symbol = checker.getSymbolAtLocation(id);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return !!symbol?.declarations?.some((d) => isDeclarationOfLifted(plan, d));
  };
  for (const [sf, path] of files) {
    const mayUseDefault = plan.exportKind === 'default';
    if (!sf.text.includes(plan.name) && !mayUseDefault) continue;
    const names = new Set([plan.name]);
    for (const s of sf.statements) {
      if (ts.isImportDeclaration(s) && s.importClause?.name && isLifted(s.importClause.name)) names.add(s.importClause.name.text);
    }
    const visit = (node: ts.Node): void => {
      if (node === plan.statement || ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isExportAssignment(node) || ts.isTypeQueryNode(node))
        return;
      if (ts.isIdentifier(node) && names.has(node.text) && isLifted(node)) record(node, sf, path);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return result;

  function record(id: ts.Identifier, sf: ts.SourceFile, path: string): void {
    const parent = id.parent;
    if ((ts.isFunctionDeclaration(parent) || ts.isVariableDeclaration(parent)) && parent.name === id) return;
    if (ts.isPropertyAccessExpression(parent) && parent.name === id && !ts.isCallExpression(parent.parent)) return;
    const callee: ts.Node = ts.isPropertyAccessExpression(parent) && parent.name === id ? parent : id;
    const call = callee.parent;
    const line = sf.getLineAndCharacterOfPosition(id.getStart(sf)).line + 1;
    if (!ts.isCallExpression(call) || call.expression !== callee) {
      result.syncUses.push(`${path}:${line} (used as a value)`);
      return;
    }
    if (alreadyHandled(call)) return;
    if (!isAsync(enclosingFunction(call))) {
      result.syncUses.push(`${path}:${line}`);
      return;
    }
    const edits = result.edits.get(path) ?? [];
    const start = call.getStart(sf);
    if (needsParentheses(skipParens(call))) {
      edits.push({ start, end: start, text: '(await ' }, { start: call.end, end: call.end, text: ')' });
    } else {
      edits.push({ start, end: start, text: 'await ' });
    }
    result.edits.set(path, edits);
    result.awaited += 1;
  }
}
