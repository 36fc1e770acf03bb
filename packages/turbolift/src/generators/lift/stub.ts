import * as ts from 'typescript';
import { hasModifier, type LiftPlan } from './analyze';
import { withoutLiftTag, type TextEdit } from './text-edits';

export interface StubNames {
  impl: string;
  call: string;
  service: string;
  libraryImportPath: string;
}

export function stubNames(name: string, service: string, libraryImportPath: string): StubNames {
  return { impl: `${name}Impl`, call: `${name}Call`, service, libraryImportPath };
}

function isPromiseType(node: ts.TypeNode): boolean {
  return ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && node.typeName.text === 'Promise' && node.typeArguments?.length === 1;
}

/** The stub's return type: the annotated one as a Promise, or what the implementation resolves to. */
function stubReturnType(fn: LiftPlan['fn'], names: StubNames): string {
  if (fn.type) return isPromiseType(fn.type) ? fn.type.getText() : `Promise<${fn.type.getText()}>`;
  const typeArgs = fn.typeParameters?.length ? `<${fn.typeParameters.map((t) => t.name.text).join(', ')}>` : '';
  return `Promise<Awaited<ReturnType<typeof ${names.impl}${typeArgs}>>>`;
}

/** The stub's parameter list (same text as the original where it can be) and the argument list it forwards. */
function stubParameters(fn: LiftPlan['fn'], names: StubNames): { params: string[]; args: string[] } {
  const params: string[] = [];
  const args: string[] = [];
  fn.parameters.forEach((p, i) => {
    // a `this` parameter only types `this`; refused when used, and never an argument
    if (ts.isIdentifier(p.name) && p.name.text === 'this') return;
    const rest = p.dotDotDotToken ? '...' : '';
    if (ts.isIdentifier(p.name) && p.type) {
      params.push(p.getText());
      args.push(`${rest}${p.name.text}`);
      return;
    }
    const name = ts.isIdentifier(p.name) ? p.name.text : `arg${i}`;
    const type = p.type ? p.type.getText() : rest ? `Parameters<typeof ${names.impl}>[${i}][]` : `Parameters<typeof ${names.impl}>[${i}]`;
    const optional = p.questionToken ? '?' : '';
    const init = p.initializer ? ` = ${p.initializer.getText()}` : '';
    params.push(`${rest}${name}${optional}: ${type}${init}`);
    args.push(`${rest}${name}`);
  });
  return { params, args };
}

/** The exported function that replaces the original: same name, same parameters, returning a Promise. */
export function renderStubFunction(plan: LiftPlan, names: StubNames): string {
  const { fn, statement, sourceFile } = plan;
  const docs = ((statement as unknown as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []).map((d) => withoutLiftTag(d.getText(sourceFile))).filter(Boolean);
  const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
  const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
  const prefix = exported ? (isDefault ? 'export default ' : 'export ') : '';
  const typeParams = fn.typeParameters?.length ? `<${fn.typeParameters.map((t) => t.getText()).join(', ')}>` : '';
  const { params, args } = stubParameters(fn, names);
  const returns = stubReturnType(fn, names);
  // A generic implementation loses its type parameters through liftedStub; the stub restores them.
  const cast = fn.typeParameters?.length ? ` as ${returns}` : '';
  const head = docs.length ? docs.join('\n') + '\n' : '';
  // Properties assigned to a function declaration become part of its type: callers get `fn.map(inputs)`.
  const fanOut = [
    '/** Fan-out: one call per input, in batches (see @turbolift/runtime). */',
    `${plan.name}.map = ${names.call}.map;`,
    `${plan.name}.starmap = ${names.call}.starmap;`,
  ].join('\n');
  const signature = `${prefix}function ${plan.name}${typeParams}(${params.join(', ')}): ${returns}`;
  return `${head}${signature} {\n  return ${names.call}(${args.join(', ')})${cast};\n}\n${fanOut}`;
}

function importsLiftedStub(sf: ts.SourceFile): boolean {
  return sf.statements.some(
    (s) =>
      ts.isImportDeclaration(s) &&
      ts.isStringLiteral(s.moduleSpecifier) &&
      s.moduleSpecifier.text === '@turbolift/runtime' &&
      !!s.importClause?.namedBindings &&
      ts.isNamedImports(s.importClause.namedBindings) &&
      s.importClause.namedBindings.elements.some((e) => e.name.text === 'liftedStub'),
  );
}

/** Edits to the function's own file: the imports, the stub's call handle and the stub in place of the function. */
export function stubEdits(plan: LiftPlan, names: StubNames): TextEdit[] {
  const sf = plan.sourceFile;
  const imports = sf.statements.filter(ts.isImportDeclaration);
  // Stub handles from earlier lifts of this file sit right after the imports; the new one joins them.
  const handles = sf.statements.filter(
    (s) =>
      ts.isVariableStatement(s) &&
      s.declarationList.declarations.some(
        (d) =>
          d.initializer && ts.isCallExpression(d.initializer) && ts.isIdentifier(d.initializer.expression) && d.initializer.expression.text === 'liftedStub',
      ),
  );
  const importAnchor = imports.length ? imports[imports.length - 1].end : 0;
  const lines: string[] = [];
  if (!importsLiftedStub(sf)) lines.push(`import { liftedStub } from '@turbolift/runtime';`);
  lines.push(`import { ${plan.name} as ${names.impl} } from '${names.libraryImportPath}';`);
  // Declared right after the imports: module code below may call the stub as soon as the module runs.
  const handle = `const ${names.call} = liftedStub('${plan.name}', ${names.impl}, { service: '${names.service}' });`;
  const edits: TextEdit[] = [{ start: plan.statement.getStart(sf, true), end: plan.statement.end, text: renderStubFunction(plan, names) }];
  if (handles.length) {
    const handleAnchor = handles[handles.length - 1].end;
    edits.push({ start: importAnchor, end: importAnchor, text: `\n${lines.join('\n')}` }, { start: handleAnchor, end: handleAnchor, text: `\n${handle}` });
  } else {
    const text = `${lines.join('\n')}\n\n${handle}`;
    edits.push({ start: importAnchor, end: importAnchor, text: importAnchor === 0 ? `${text}\n\n` : `\n${text}` });
  }
  return edits;
}
