import * as ts from 'typescript';

/** Built-in types the runtime's codec carries (JSON or msgpack), and which of their type arguments to check. */
const ENCODABLE_BUILTINS = new Set([
  'Date',
  'RegExp',
  'ArrayBuffer',
  'Buffer',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
]);
const ENCODABLE_CONTAINERS = new Set(['Map', 'Set', 'ReadonlyMap', 'ReadonlySet', 'Array', 'ReadonlyArray']);

/** Whether `symbol` is declared by TypeScript's standard library or `@types/node` (not by the workspace). */
export function isFromStandardLibrary(program: ts.Program, symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => {
    const sf = d.getSourceFile();
    return program.isSourceFileDefaultLibrary(sf) || /\/node_modules\/(@types\/node|typescript\/lib)\//.test(sf.fileName);
  });
}

/**
 * Why a value of `type` cannot cross the wire, or undefined when it can (or when the checker cannot tell,
 * e.g. `any`). Walks the type's structure: unions, arrays, tuples, object properties, index signatures.
 */
export function wireProblem(program: ts.Program, type: ts.Type, location: ts.Node, path: string, seen = new Set<ts.Type>()): string | undefined {
  const checker = program.getTypeChecker();
  if (seen.has(type)) return undefined;
  seen.add(type);
  const flags = type.flags;
  if (flags & (ts.TypeFlags.ESSymbol | ts.TypeFlags.UniqueESSymbol)) return `${path} is a symbol`;
  if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive)) return undefined;
  if (flags & ts.TypeFlags.TypeParameter) {
    const constraint = checker.getBaseConstraintOfType(type);
    return constraint && constraint !== type ? wireProblem(program, constraint, location, path, seen) : undefined;
  }
  if (type.isUnionOrIntersection()) {
    for (const member of type.types) {
      const problem = wireProblem(program, member, location, path, seen);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!(flags & ts.TypeFlags.Object)) return undefined; // primitives, literals, enums
  if (checker.getSignaturesOfType(type, ts.SignatureKind.Call).length || checker.getSignaturesOfType(type, ts.SignatureKind.Construct).length) {
    return `${path} is a function (${checker.typeToString(type)})`;
  }
  const symbol = type.getSymbol() ?? type.aliasSymbol;
  const typeArguments = (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference ? checker.getTypeArguments(type as ts.TypeReference) : [];
  if (checker.isTupleType(type) || checker.isArrayType(type)) {
    for (const arg of typeArguments) {
      const problem = wireProblem(program, arg, location, `${path}[]`, seen);
      if (problem) return problem;
    }
    return undefined;
  }
  if (symbol && isFromStandardLibrary(program, symbol)) {
    if (ENCODABLE_BUILTINS.has(symbol.name)) return undefined;
    if (ENCODABLE_CONTAINERS.has(symbol.name)) {
      for (const arg of typeArguments) {
        const problem = wireProblem(program, arg, location, `${path} (${symbol.name} entry)`, seen);
        if (problem) return problem;
      }
      return undefined;
    }
    if (symbol.name === 'Promise' || symbol.name === 'PromiseLike') return `${path} is a Promise`;
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class) && symbol.name !== '__type' && symbol.name !== '__object') {
      return `${path} is a ${symbol.name}, which the codec does not carry`;
    }
  }
  if (symbol && symbol.flags & ts.SymbolFlags.Class) {
    const methods = checker
      .getPropertiesOfType(type)
      .filter((p) => (p.declarations ?? []).some((d) => ts.isMethodDeclaration(d) || ts.isGetAccessorDeclaration(d) || ts.isSetAccessorDeclaration(d)))
      .map((p) => p.name);
    if (methods.length) return `${path} is an instance of class ${symbol.name}, which has methods (${methods.join(', ')}) that do not survive the wire`;
  }
  for (const property of checker.getPropertiesOfType(type)) {
    const propertyType = checker.getTypeOfSymbolAtLocation(property, location);
    const problem = wireProblem(program, propertyType, location, `${path}.${property.name}`, seen);
    if (problem) return problem;
  }
  for (const info of checker.getIndexInfosOfType(type)) {
    const problem = wireProblem(program, info.type, location, `${path}[key]`, seen);
    if (problem) return problem;
  }
  return undefined;
}
