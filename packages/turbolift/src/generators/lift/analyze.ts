import type { ParameterSchema } from '@turbolift/runtime/contract';
import * as ts from 'typescript';
import { LiftError } from './lift-error';
import { lineOf, type MarkedFunction } from './marked-functions';
import { wireProblem } from './wire-types';
import { parameterSchemas } from './parameter-schema';
import type { WorkspaceProject } from './workspace-program';
import { findSideEffects } from './side-effects';
import { importDeclarationOf } from './import-bindings';
import { isMemberDeclaration, isNamedDeclaration } from './syntax';

export type LiftedFunctionNode = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/** An import the lifted code keeps as an import (npm package, Node built-in, other workspace library). */
export type ImportBinding = ts.ImportClause | ts.NamespaceImport | ts.ImportSpecifier;

/** A reference from one lifted file to a declaration in another file of the same project. */
export interface InternalImport {
  local: string;
  targetFile: ts.SourceFile;
  kind: 'named' | 'default' | 'namespace';
  exportName: string;
  typeOnly: boolean;
}

/** What one source file of the project contributes to the lifted library. */
export interface FilePart {
  sourceFile: ts.SourceFile;
  statements: Set<ts.Statement>;
  externalBindings: Map<ts.ImportDeclaration, Set<ImportBinding>>;
  /** Relative imports of files outside the project: kept as imports, their paths recomputed from the library. */
  outsideFiles: Map<ts.ImportDeclaration, ts.SourceFile>;
  internalImports: Map<string, InternalImport>;
  needsExport: Set<ts.Statement>;
}

export interface LiftPlan {
  name: string;
  project: WorkspaceProject;
  file: string;
  sourceFile: ts.SourceFile;
  /** The statement that declares the function (a function declaration or a `const` statement). */
  statement: ts.FunctionDeclaration | ts.VariableStatement;
  fn: LiftedFunctionNode;
  symbol: ts.Symbol;
  exportKind: 'named' | 'default' | 'none';
  /** Project files the library mirrors, in a stable order (the function's own file first). */
  parts: FilePart[];
  warnings: string[];
  /** How many arguments the service accepts, from the signature: the service answers 400 outside it. */
  arity: ParameterArity;
  /** What the service checks each argument against, from the parameters' types: the service answers 400 to a mismatch. */
  parameters: ParameterSchema[];
}

/** Required parameters, then the most the function takes (none with a rest parameter). */
export interface ParameterArity {
  min: number;
  max?: number;
}

/** From the declared parameters (`this` is a type, never sent): optional and default parameters may be left out. */
export function parameterArity(fn: ts.SignatureDeclaration): ParameterArity {
  const sent = fn.parameters.filter((parameter) => !(ts.isIdentifier(parameter.name) && parameter.name.text === 'this'));
  const omittable = (parameter: ts.ParameterDeclaration) => Boolean(parameter.questionToken || parameter.initializer || parameter.dotDotDotToken);
  let min = 0;
  sent.forEach((parameter, index) => {
    if (!omittable(parameter)) min = index + 1;
  });
  return sent.some((parameter) => parameter.dotDotDotToken) ? { min } : { min, max: sent.length };
}

const at = (sf: ts.SourceFile, node: ts.Node, file: string) => ({ file, ...lineOf(sf, node) });

function unwrap(expr: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)) expr = expr.expression;
  return expr;
}

/** The top-level statement that declares `decl`, if `decl` is a module-level declaration. */
export function topLevelStatementOf(decl: ts.Node): ts.Statement | undefined {
  if (ts.isVariableDeclaration(decl)) {
    const statement = decl.parent?.parent;
    return statement && ts.isVariableStatement(statement) && ts.isSourceFile(statement.parent) ? statement : undefined;
  }
  return isNamedDeclaration(decl) && ts.isSourceFile(decl.parent) ? decl : undefined;
}

export function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

function isTypeOnlyDeclaration(statement: ts.Statement): boolean {
  return ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement);
}

/** Resolves the marked declaration to the function node, refusing every form that cannot be lifted. */
function liftedFunctionOf(marked: MarkedFunction): { statement: ts.FunctionDeclaration | ts.VariableStatement; fn: LiftedFunctionNode } {
  const { node, sourceFile, file, name } = marked;
  const where = at(sourceFile, node.name ?? node, file);
  if (isMemberDeclaration(node)) {
    const owner = ts.isClassLike(node.parent) && node.parent.name ? `class ${node.parent.name.text}` : 'an object';
    throw new LiftError(`${name} is a method of ${owner}; only module-level functions can be lifted (move it out as a function)`, where);
  }
  let statement: ts.FunctionDeclaration | ts.VariableStatement;
  let fn: LiftedFunctionNode;
  if (ts.isFunctionDeclaration(node)) {
    if (!ts.isSourceFile(node.parent)) throw new LiftError(`${name} is a nested function; only module-level functions can be lifted`, where);
    if (!node.body) throw new LiftError(`${name} has no body (an overload or a declaration)`, where);
    statement = node;
    fn = node;
  } else {
    const list = node.parent;
    const variableStatement = list.parent;
    if (!ts.isVariableDeclarationList(list)) throw new LiftError(`${name} is not a module-level function`, where);
    if (!ts.isVariableStatement(variableStatement) || !ts.isSourceFile(variableStatement.parent)) {
      throw new LiftError(`${name} is a nested function; only module-level functions can be lifted`, where);
    }
    const init = node.initializer && unwrap(node.initializer);
    if (!init || !(ts.isArrowFunction(init) || ts.isFunctionExpression(init))) throw new LiftError(`${name} is not a function`, where);
    if (!(list.flags & ts.NodeFlags.Const))
      throw new LiftError(
        `${name} is declared with ${list.flags & ts.NodeFlags.Let ? 'let' : 'var'}; only const functions can be lifted (it could be reassigned)`,
        where,
      );
    if (list.declarations.length !== 1) throw new LiftError(`${name} shares its const statement with other declarations; declare it on its own`, where);
    statement = variableStatement;
    fn = init;
  }
  if (fn.asteriskToken) throw new LiftError(`${name} is a generator function; its values are produced lazily and cannot be served as one call`, where);
  return { statement, fn };
}

function refuseThis(marked: MarkedFunction, fn: LiftedFunctionNode): void {
  const rebinds = (n: ts.Node) =>
    ts.isFunctionDeclaration(n) ||
    ts.isFunctionExpression(n) ||
    ts.isClassLike(n) ||
    ts.isMethodDeclaration(n) ||
    ts.isConstructorDeclaration(n) ||
    ts.isAccessor(n);
  const visit = (n: ts.Node): void => {
    if (n.kind === ts.SyntaxKind.ThisKeyword || ts.isThisTypeNode(n)) {
      throw new LiftError(`${marked.name} uses \`this\`, which has no meaning in a service`, at(marked.sourceFile, n, marked.file));
    }
    if (n !== fn && rebinds(n)) return;
    ts.forEachChild(n, visit);
  };
  visit(fn);
}

const MUTATING_METHODS = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin', 'set', 'add', 'delete', 'clear']);

/** Whether this reference to a binding writes through it (`x.a = 1`, `x.push()`, `delete x[k]`, `Object.assign(x, …)`). */
export function isMutatingReference(id: ts.Identifier): boolean {
  let target: ts.Node = id;
  while (ts.isParenthesizedExpression(target.parent)) target = target.parent;
  const parent = target.parent;
  if ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === target) {
    const outer = parent.parent;
    if (
      ts.isBinaryExpression(outer) &&
      outer.left === parent &&
      outer.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      outer.operatorToken.kind <= ts.SyntaxKind.LastAssignment
    )
      return true;
    if (
      (ts.isPrefixUnaryExpression(outer) || ts.isPostfixUnaryExpression(outer)) &&
      (outer.operator === ts.SyntaxKind.PlusPlusToken || outer.operator === ts.SyntaxKind.MinusMinusToken)
    )
      return true;
    if (ts.isDeleteExpression(outer)) return true;
    if (ts.isPropertyAccessExpression(parent) && ts.isCallExpression(outer) && outer.expression === parent && MUTATING_METHODS.has(parent.name.text))
      return true;
  }
  if (ts.isCallExpression(parent) && parent.arguments[0] === target) {
    const callee = parent.expression;
    if (
      ts.isPropertyAccessExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      callee.expression.text === 'Object' &&
      ['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf'].includes(callee.name.text)
    )
      return true;
  }
  return false;
}

interface Walk {
  program: ts.Program;
  checker: ts.TypeChecker;
  isProjectFile: (sf: ts.SourceFile) => boolean;
  parts: Map<ts.SourceFile, FilePart>;
  queue: ts.Statement[];
  /** Every reference (identifier) made from lifted code to a module-level declaration of the project. */
  references: Map<ts.Statement, ts.Identifier[]>;
}

function partOf(walk: Walk, sf: ts.SourceFile): FilePart {
  let part = walk.parts.get(sf);
  if (!part) {
    part = { sourceFile: sf, statements: new Set(), externalBindings: new Map(), outsideFiles: new Map(), internalImports: new Map(), needsExport: new Set() };
    walk.parts.set(sf, part);
  }
  return part;
}

function include(walk: Walk, statement: ts.Statement): void {
  const part = partOf(walk, statement.getSourceFile());
  if (part.statements.has(statement)) return;
  part.statements.add(statement);
  walk.queue.push(statement);
}

function followIdentifier(walk: Walk, part: FilePart, id: ts.Identifier): void {
  const { checker } = walk;
  const parent = id.parent;
  const symbol =
    ts.isShorthandPropertyAssignment(parent) && parent.name === id ? checker.getShorthandAssignmentValueSymbol(parent) : checker.getSymbolAtLocation(id);
  if (!symbol) return;
  const declarations = symbol.declarations ?? [];
  if (symbol.flags & ts.SymbolFlags.Alias) {
    const binding = declarations[0];
    const importDeclaration = binding && importDeclarationOf(binding);
    if (!importDeclaration || importDeclaration.getSourceFile() !== part.sourceFile) return;
    const moduleSymbol = checker.getSymbolAtLocation(importDeclaration.moduleSpecifier);
    const moduleFile = moduleSymbol?.valueDeclaration && ts.isSourceFile(moduleSymbol.valueDeclaration) ? moduleSymbol.valueDeclaration : undefined;
    const typeOnly = !!importDeclaration.importClause?.isTypeOnly || (ts.isImportSpecifier(binding) && binding.isTypeOnly);
    const relativeSpecifier = ts.isStringLiteral(importDeclaration.moduleSpecifier) && importDeclaration.moduleSpecifier.text.startsWith('.');
    if (moduleFile && relativeSpecifier && walk.isProjectFile(moduleFile)) {
      if (ts.isNamespaceImport(binding)) {
        part.internalImports.set(id.text, { local: id.text, targetFile: moduleFile, kind: 'namespace', exportName: '*', typeOnly });
        return;
      }
      const target = checker.getAliasedSymbol(symbol);
      for (const decl of target.declarations ?? []) {
        const statement = topLevelStatementOf(decl);
        if (!statement || !walk.isProjectFile(statement.getSourceFile())) continue;
        include(walk, statement);
        record(walk, statement, id);
        const targetPart = partOf(walk, statement.getSourceFile());
        const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
        if (!isDefault) targetPart.needsExport.add(statement);
        const exportName = ts.isVariableStatement(statement)
          ? (decl as ts.VariableDeclaration).name.getText()
          : ((statement as ts.DeclarationStatement).name?.getText() ?? 'default');
        part.internalImports.set(id.text, {
          local: id.text,
          targetFile: statement.getSourceFile(),
          kind: isDefault ? 'default' : 'named',
          exportName,
          typeOnly: typeOnly || isTypeOnlyDeclaration(statement),
        });
      }
      return;
    }
    if (moduleFile && relativeSpecifier) part.outsideFiles.set(importDeclaration, moduleFile);
    const bindings = part.externalBindings.get(importDeclaration) ?? new Set<ImportBinding>();
    bindings.add(binding as ImportBinding);
    part.externalBindings.set(importDeclaration, bindings);
    return;
  }
  for (const decl of declarations) {
    const statement = topLevelStatementOf(decl);
    if (!statement || !walk.isProjectFile(statement.getSourceFile())) continue;
    include(walk, statement);
    record(walk, statement, id);
    if (statement.getSourceFile() !== part.sourceFile) partOf(walk, statement.getSourceFile()).needsExport.add(statement);
  }
}

function record(walk: Walk, statement: ts.Statement, id: ts.Identifier): void {
  const list = walk.references.get(statement) ?? [];
  list.push(id);
  walk.references.set(statement, list);
}

function walkStatement(walk: Walk, statement: ts.Statement): void {
  const part = partOf(walk, statement.getSourceFile());
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) followIdentifier(walk, part, node);
    ts.forEachChild(node, visit);
  };
  visit(statement);
}

/**
 * Checks that `marked` can be lifted and computes what moves: the function plus the transitive closure of
 * the module-level declarations it uses from its own project. Throws a LiftError naming file:line:col and
 * the reason for every form that cannot be lifted. Never touches the tree.
 */
export function analyzeLift(program: ts.Program, marked: MarkedFunction, project: WorkspaceProject, isProjectFile: (sf: ts.SourceFile) => boolean): LiftPlan {
  const checker = program.getTypeChecker();
  const { statement, fn } = liftedFunctionOf(marked);
  const { name, sourceFile, file } = marked;
  const nameNode = ts.isFunctionDeclaration(statement) ? (statement.name ?? statement) : statement.declarationList.declarations[0].name;
  refuseThis(marked, fn);

  const walk: Walk = { program, checker, isProjectFile, parts: new Map(), queue: [], references: new Map() };
  include(walk, statement);
  for (let next = walk.queue.shift(); next; next = walk.queue.shift()) walkStatement(walk, next);

  for (const [declaration, refs] of walk.references) {
    if (declaration === statement) continue;
    const declFile = declaration.getSourceFile();
    const declWhere = `${relativeName(file, declFile, sourceFile)}:${lineOf(declFile, declaration).line}`;
    if (ts.isVariableStatement(declaration) && !(declaration.declarationList.flags & ts.NodeFlags.Const)) {
      const kind = declaration.declarationList.flags & ts.NodeFlags.Let ? 'let' : 'var';
      const names = declaration.declarationList.declarations.map((d) => d.name.getText()).join(', ');
      throw new LiftError(
        `${name} closes over mutable module state: \`${names}\` (${kind} at ${declWhere}) would stop being shared once it runs in a service`,
        at(sourceFile, nameNode, file),
      );
    }
    const mutated = refs.find(isMutatingReference);
    if (mutated && ts.isVariableStatement(declaration)) {
      const where = lineOf(mutated.getSourceFile(), mutated);
      throw new LiftError(
        `${name} closes over mutable module state: it mutates \`${mutated.text}\` (declared at ${declWhere}, mutated at line ${where.line}), ` +
          'which would stop being shared once it runs in a service',
        at(sourceFile, nameNode, file),
      );
    }
  }

  const signature = checker.getSignatureFromDeclaration(fn);
  for (const parameter of fn.parameters) {
    if (ts.isIdentifier(parameter.name) && parameter.name.text === 'this') continue; // types `this`, never sent
    const label = ts.isIdentifier(parameter.name) ? `parameter \`${parameter.name.text}\`` : `parameter ${fn.parameters.indexOf(parameter) + 1}`;
    const problem = wireProblem(program, checker.getTypeAtLocation(parameter), parameter, label);
    if (problem) throw new LiftError(`${name} cannot be lifted: ${problem}, which cannot cross the wire`, at(sourceFile, parameter, file));
  }
  if (signature) {
    const returned = checker.getReturnTypeOfSignature(signature);
    const result = checker.getAwaitedType(returned) ?? returned;
    const problem = wireProblem(program, result, fn, 'its result');
    if (problem) throw new LiftError(`${name} cannot be lifted: ${problem}, which cannot cross the wire`, at(sourceFile, fn.type ?? nameNode, file));
  }

  const symbolNode = ts.isFunctionDeclaration(statement) ? statement : statement.declarationList.declarations[0];
  const symbol =
    checker.getSymbolAtLocation((symbolNode as ts.FunctionDeclaration | ts.VariableDeclaration).name ?? symbolNode) ??
    (symbolNode as unknown as { symbol: ts.Symbol }).symbol;
  const exportKind =
    hasModifier(statement, ts.SyntaxKind.DefaultKeyword) || isExportedAsDefault(sourceFile, name)
      ? 'default'
      : hasModifier(statement, ts.SyntaxKind.ExportKeyword)
        ? 'named'
        : 'none';
  const parts = [...walk.parts.values()].sort((a, b) =>
    a.sourceFile === sourceFile ? -1 : b.sourceFile === sourceFile ? 1 : a.sourceFile.fileName.localeCompare(b.sourceFile.fileName),
  );
  const warnings = findSideEffects(program, name, parts, (sf) => relativeName(file, sf, sourceFile));
  return {
    name,
    project,
    file,
    sourceFile,
    statement,
    fn,
    symbol,
    exportKind,
    parts,
    warnings,
    arity: parameterArity(fn),
    parameters: parameterSchemas(program, fn),
  };
}

/** `export default name;` elsewhere in the file. */
function isExportedAsDefault(sf: ts.SourceFile, name: string): boolean {
  return sf.statements.some((s) => ts.isExportAssignment(s) && !s.isExportEquals && ts.isIdentifier(s.expression) && s.expression.text === name);
}

function relativeName(file: string, sf: ts.SourceFile, own: ts.SourceFile): string {
  if (sf === own) return file;
  const base = file.slice(0, file.lastIndexOf('/') + 1);
  const ownDir = own.fileName.slice(0, own.fileName.lastIndexOf('/') + 1);
  return sf.fileName.startsWith(ownDir) ? base + sf.fileName.slice(ownDir.length) : sf.fileName;
}
