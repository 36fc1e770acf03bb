import * as ts from 'typescript';
import type { LiftPlan } from './analyze';
import type { TextEdit } from './text-edits';

/** A use of the lifted function that cannot be made to await: after the lift it would get a Promise where it expects the value. */
export interface SyncUse {
  /** Workspace-relative file. */
  file: string;
  line: number;
  column: number;
  /** Why no `await` can be added there, e.g. `in synchronous function render`, `used as a value: passed to select`. */
  why: string;
}

export interface CallSites {
  /** `await` insertions, per workspace-relative file. */
  edits: Map<string, TextEdit[]>;
  /** Calls in synchronous code and uses as a value: they would get a Promise. */
  syncUses: SyncUse[];
  /** Number of calls that got `await`. */
  awaited: number;
}

/** `path:line:column why`, the way refusals and warnings list a sync use. */
export function formatSyncUse(use: SyncUse): string {
  return `${use.file}:${use.line}:${use.column} ${use.why}`;
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

const SPEC_FILE = /(\.(spec|test)\.[cm]?[jt]sx?$)|(^|\/)__tests__\//;

/** The name a reader knows a piece of code by: `callee` of `callee(…)`, `select` of `store.select(…)`. */
function calleeName(expression: ts.Expression): string {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  const text = expression.getText();
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function nameOfProperty(name: ts.PropertyName | ts.BindingName): string {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name) || ts.isNumericLiteral(name) ? name.text : name.getText();
}

/** How a function is known to a reader: its own name, the name it is assigned to, or what it is passed to. */
function functionName(fn: ts.SignatureDeclaration): string {
  if (fn.name) return nameOfProperty(fn.name);
  const parent = fn.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return nameOfProperty(parent.name);
  if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.arguments?.includes(fn as unknown as ts.Expression)) {
    return `(callback passed to ${calleeName(parent.expression)})`;
  }
  return '(anonymous)';
}

function className(node: ts.Node): string {
  const owner = node.parent;
  return ts.isClassLike(owner) && owner.name ? owner.name.text : '(anonymous class)';
}

function isAsync(fn: ts.SignatureDeclaration): boolean {
  return ts.canHaveModifiers(fn) && (ts.getModifiers(fn) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
}

function containsJsx(node: ts.Node): boolean {
  if (ts.isJsxElement(node) || ts.isJsxSelfClosingElement(node) || ts.isJsxFragment(node)) return true;
  // a nested function's JSX is that function's render code, not this one's
  if (ts.isFunctionLike(node)) return false;
  return !!ts.forEachChild(node, containsJsx);
}

const isJsxNode = (node: ts.Node) => ts.isJsxExpression(node) || ts.isJsxElement(node) || ts.isJsxSelfClosingElement(node) || ts.isJsxFragment(node);

/**
 * Why a call of the lifted function cannot get `await` where it stands, or undefined when it can (it is in an
 * async function's body). Pure: reads the syntax around the call only. `file` is workspace-relative.
 */
export function whyCallCannotAwait(call: ts.CallExpression, file: string): string | undefined {
  const inSpec = SPEC_FILE.test(file);
  let inJsx = false;
  let inParameter = false;
  for (let current: ts.Node = call, parent = call.parent; parent; current = parent, parent = parent.parent) {
    if (isJsxNode(parent)) inJsx = true;
    if (ts.isParameter(parent) && parent.initializer === current) inParameter = true;
    if (ts.isPropertyDeclaration(parent) && parent.initializer === current) {
      return `in a class field initializer (${className(parent)}.${nameOfProperty(parent.name)})`;
    }
    if (ts.isClassStaticBlockDeclaration(parent)) return `in a static initialization block of class ${className(parent)}`;
    if (ts.isFunctionLike(parent)) {
      const fn = parent as ts.SignatureDeclaration;
      if (ts.isConstructorDeclaration(fn)) return `in a constructor (class ${className(fn)})`;
      if (ts.isGetAccessorDeclaration(fn)) return `in a getter (${functionName(fn)})`;
      if (ts.isSetAccessorDeclaration(fn)) return `in a setter (${functionName(fn)})`;
      const name = functionName(fn);
      // `await` is not allowed in a parameter's default value, even of an async function
      if (inParameter) return `in a default parameter value of ${name}`;
      if (isAsync(fn)) return undefined;
      if ((ts.isFunctionDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isMethodDeclaration(fn)) && fn.asteriskToken)
        return `in generator function ${name}`;
      const body = (fn as ts.FunctionLikeDeclaration).body;
      if (inJsx || (body && containsJsx(body))) return `in JSX render code of ${name}`;
      return inSpec ? `in synchronous function ${name} (a spec file)` : `in synchronous function ${name}`;
    }
  }
  const sf = call.getSourceFile();
  if (/\.c[jt]s$/.test(sf.fileName)) return 'at the top level of a CommonJS module';
  return 'at the top level of the module (awaiting there would hold up every module that imports it)';
}

/** What a use of the lifted function that is not a call does with it: `used as a value: passed to select`. */
export function whyValueUse(use: ts.Expression): string {
  let node: ts.Node = use;
  while (ts.isParenthesizedExpression(node.parent) || ts.isAsExpression(node.parent) || ts.isNonNullExpression(node.parent)) node = node.parent;
  const parent = node.parent;
  const detail = ((): string | undefined => {
    if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.arguments?.includes(node as ts.Expression)) {
      return `passed to ${ts.isNewExpression(parent) ? 'new ' : ''}${calleeName(parent.expression)}`;
    }
    if (ts.isJsxExpression(parent) && ts.isJsxAttribute(parent.parent)) return `passed as JSX attribute ${parent.parent.name.getText()}`;
    if (ts.isVariableDeclaration(parent) && parent.initializer === node) return `assigned to ${nameOfProperty(parent.name)}`;
    if (ts.isBinaryExpression(parent) && parent.right === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      return `assigned to ${parent.left.getText()}`;
    }
    if (ts.isPropertyAssignment(parent) || ts.isShorthandPropertyAssignment(parent)) return `stored in property ${nameOfProperty(parent.name)}`;
    if (ts.isArrayLiteralExpression(parent)) return 'stored in an array';
    if (ts.isReturnStatement(parent) || (ts.isArrowFunction(parent) && parent.body === node)) return 'returned';
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return `its ${parent.name.text} is used`;
    if (ts.isExportSpecifier(parent) || ts.isExportAssignment(parent)) return undefined;
    return undefined;
  })();
  return detail ? `used as a value: ${detail}` : 'used as a value';
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
 * (they used the value directly, now it arrives as a Promise); every other use is a `SyncUse` with the reason.
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
    const callee: ts.Expression = ts.isPropertyAccessExpression(parent) && parent.name === id ? parent : id;
    const call = callee.parent;
    const { line, character } = sf.getLineAndCharacterOfPosition(id.getStart(sf));
    const syncUse = (why: string) => result.syncUses.push({ file: path, line: line + 1, column: character + 1, why });
    if (!ts.isCallExpression(call) || call.expression !== callee) return void syncUse(whyValueUse(callee));
    if (alreadyHandled(call)) return;
    const why = whyCallCannotAwait(call, path);
    if (why) return void syncUse(why);
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
