import type { JsonSchema, ParameterSchema } from '@turbolift/runtime/contract';
import * as ts from 'typescript';
import { isFromStandardLibrary } from './wire-types';

/**
 * The schema of each parameter the service receives, from the function's TypeScript signature (`this` is a
 * type, never sent). The service answers a call whose arguments do not match 400 TL_BAD_ARGUMENTS, so every
 * schema errs on the side of accepting: whatever is not understood (any, unknown, functions, symbols,
 * deferred generic forms, types nested deeper than a bound) becomes `{}`, which accepts anything. A recursive
 * type becomes a definition of the parameter's schema, which its uses point to with `$ref`.
 */
export function parameterSchemas(program: ts.Program, fn: ts.SignatureDeclaration): ParameterSchema[] {
  const checker = program.getTypeChecker();
  const sent = fn.parameters.filter((parameter) => !(ts.isIdentifier(parameter.name) && parameter.name.text === 'this'));
  return sent.map((parameter, index) => {
    const definitions: Definitions = { names: new Map(), schemas: {}, expansions: 0 };
    const context: Context = { program, checker, location: parameter, path: new Set(), depth: 0, definitions };
    const type = checker.getTypeAtLocation(parameter);
    const rest = Boolean(parameter.dotDotDotToken);
    let schema = rest ? restElementSchema(context, type) : schemaOf(context, type);
    // `width = 8` reads as number inside the function, yet a caller may pass undefined for it.
    if (!rest && (parameter.questionToken || parameter.initializer)) schema = union([schema, UNDEFINED]);
    // A recursive type's schema is a definition its uses point to with $ref (each parameter's schema holds its own).
    if (Object.keys(definitions.schemas).length) schema = { ...(isObject(schema) ? schema : { allOf: [schema] }), definitions: definitions.schemas };
    return { name: parameterName(parameter, index), schema: nullForUndefined(schema), ...(rest ? { rest: true } : {}) };
  });
}

/** How many levels of object types (and named unions) a schema spells out; deeper values are accepted as they come. */
const MAX_DEPTH = 10;
/** How many a parameter's schema spells out in all, so that a wide type does not make a huge main.ts; later ones accept anything. */
const MAX_EXPANSIONS = 500;

/** A schema other than `true` or `false`: keywords and their values. */
type SchemaObject = Exclude<JsonSchema, boolean>;

const ANY: JsonSchema = {};
const UNDEFINED: JsonSchema = { instanceOf: 'undefined' };

/** Standard-library types the codec carries as themselves (msgpack), by the `instanceOf` name they check against. */
const INSTANCE_OF: Record<string, string> = {
  Date: 'Date',
  RegExp: 'RegExp',
  Map: 'Map',
  ReadonlyMap: 'Map',
  Set: 'Set',
  ReadonlySet: 'Set',
  ArrayBuffer: 'ArrayBuffer',
  DataView: 'DataView',
  // msgpack carries both as `bin`, which decodes as a Buffer (a Uint8Array).
  Buffer: 'Uint8Array',
  Uint8Array: 'Uint8Array',
  Uint8ClampedArray: 'Uint8ClampedArray',
  Int8Array: 'Int8Array',
  Uint16Array: 'Uint16Array',
  Int16Array: 'Int16Array',
  Uint32Array: 'Uint32Array',
  Int32Array: 'Int32Array',
  Float32Array: 'Float32Array',
  Float64Array: 'Float64Array',
  BigInt64Array: 'BigInt64Array',
  BigUint64Array: 'BigUint64Array',
};

/** Keys an object with a number index signature takes: what `String(n)` gives for a number n. */
const NUMERIC_KEY = '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?(e[+-][0-9]+)?|NaN|-?Infinity)$';

/** The order a `type` list reads in (`string | null`), whatever order the checker keeps the union in. */
const TYPE_ORDER = ['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'];

interface Context {
  program: ts.Program;
  checker: ts.TypeChecker;
  location: ts.Node;
  /** The types being spelled out around the current one: meeting one again means the type is recursive. */
  path: Set<ts.Type>;
  depth: number;
  definitions: Definitions;
}

/** The recursive types met in one parameter's type, by the name of their definition; how many types it spelled out. */
interface Definitions {
  names: Map<ts.Type, string>;
  schemas: Record<string, JsonSchema>;
  expansions: number;
}

/** `text`, `{ a, b }`, `[x, y]`; a pattern too long to read in an error message becomes `argument N`. */
function parameterName(parameter: ts.ParameterDeclaration, index: number): string {
  const name = bindingText(parameter.name);
  return name.length <= 40 ? name : `argument ${index + 1}`;
}

function bindingText(name: ts.BindingName): string {
  if (ts.isIdentifier(name)) return name.text;
  if (ts.isObjectBindingPattern(name)) {
    const elements = name.elements.map((element) => {
      if (element.dotDotDotToken) return `...${bindingText(element.name)}`;
      const key = element.propertyName ?? element.name;
      return ts.isIdentifier(key) || ts.isStringLiteral(key) || ts.isNumericLiteral(key) || ts.isPrivateIdentifier(key) ? key.text : key.getText();
    });
    return elements.length ? `{ ${elements.join(', ')} }` : '{}';
  }
  const elements = name.elements.map((element) =>
    ts.isOmittedExpression(element) ? '' : `${element.dotDotDotToken ? '...' : ''}${bindingText(element.name)}`,
  );
  return `[${elements.join(', ')}]`;
}

/** A rest parameter's type is an array (or a tuple): the schema applies to each remaining argument. */
function restElementSchema(context: Context, type: ts.Type): JsonSchema {
  const { checker } = context;
  if (checker.isArrayType(type)) return schemaOf(context, checker.getTypeArguments(type as ts.TypeReference)[0]);
  if (checker.isTupleType(type)) return union(checker.getTypeArguments(type as ts.TypeReference).map((element) => schemaOf(context, element)));
  return ANY;
}

function schemaOf(context: Context, type: ts.Type, { withoutUndefined = false } = {}): JsonSchema {
  const { checker } = context;
  const flags = type.flags;
  if (withoutUndefined && type.isUnion() && !(flags & ts.TypeFlags.EnumLiteral)) {
    const defined = type.types.filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    if (defined.length < type.types.length) return defined.length ? union(defined.map((member) => schemaOf(context, member))) : ANY;
  }
  if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Never | ts.TypeFlags.ESSymbolLike)) return ANY;
  if (flags & ts.TypeFlags.TypeParameter) {
    const constraint = checker.getBaseConstraintOfType(type);
    return constraint && constraint !== type ? schemaOf(context, constraint) : ANY;
  }
  if (flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return UNDEFINED;
  if (flags & ts.TypeFlags.Null) return { type: 'null' };
  if (flags & ts.TypeFlags.BooleanLiteral) return { const: (type as { intrinsicName?: string }).intrinsicName === 'true' };
  if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.value };
  if (flags & ts.TypeFlags.StringLike) return { type: 'string' }; // string, template literals, Uppercase<…>
  if (flags & ts.TypeFlags.NumberLike) return { type: 'number' }; // number, enums with computed members
  if (flags & ts.TypeFlags.BooleanLike) return { type: 'boolean' };
  if (flags & ts.TypeFlags.BigIntLike) return { instanceOf: 'bigint' };
  if (flags & ts.TypeFlags.NonPrimitive) return { type: ['object', 'array'] }; // `object`
  // Object types, and unions and intersections with a name (`type Json = … | Json[]`), are where a type can recur.
  const named = type.isUnionOrIntersection() && type.aliasSymbol;
  if (!(flags & ts.TypeFlags.Object) && !named) {
    if (type.isUnion()) return union(type.types.map((member) => schemaOf(context, member)));
    if (type.isIntersection()) return intersection(context, type);
    return ANY; // keyof, indexed access, conditional types left generic
  }
  if (context.path.has(type)) return { $ref: `#/definitions/${definitionName(context.definitions, type)}` };
  if (context.depth >= MAX_DEPTH || context.definitions.expansions++ >= MAX_EXPANSIONS) return ANY;
  const inner: Context = { ...context, path: new Set(context.path).add(type), depth: context.depth + 1 };
  const schema = type.isUnion()
    ? union(type.types.map((member) => schemaOf(inner, member)))
    : type.isIntersection()
      ? intersection(inner, type)
      : objectSchema(inner, type as ts.ObjectType);
  const name = context.definitions.names.get(type);
  if (name === undefined) return schema;
  context.definitions.schemas[name] = schema;
  return { $ref: `#/definitions/${name}` };
}

/** The definition's name for a recursive type: its own name (`Tree`), made unique within the parameter's schema. */
function definitionName(definitions: Definitions, type: ts.Type): string {
  const known = definitions.names.get(type);
  if (known) return known;
  const symbol = type.aliasSymbol ?? type.getSymbol();
  const own = symbol && !symbol.name.startsWith('__') ? symbol.name.replace(/[^A-Za-z0-9_]/g, '_') : 'Type';
  const taken = new Set(definitions.names.values());
  let name = own;
  for (let n = 2; taken.has(name); n++) name = `${own}${n}`;
  definitions.names.set(type, name);
  return name;
}

function objectSchema(context: Context, type: ts.ObjectType): JsonSchema {
  const { checker, program } = context;
  if (checker.getSignaturesOfType(type, ts.SignatureKind.Call).length || checker.getSignaturesOfType(type, ts.SignatureKind.Construct).length) return ANY;
  if (checker.isArrayType(type)) return { type: 'array', items: schemaOf(context, checker.getTypeArguments(type as ts.TypeReference)[0]) };
  if (checker.isTupleType(type)) return tupleSchema(context, type as ts.TupleTypeReference);
  const symbol = type.getSymbol();
  if (symbol && isFromStandardLibrary(program, symbol) && symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
    const name = INSTANCE_OF[symbol.name];
    // Other standard types (Promise, Error, URL, Iterable…) are not checked; the lift refuses the ones the wire cannot carry.
    return name ? { instanceOf: name } : ANY;
  }

  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const property of checker.getPropertiesOfType(type)) {
    if (/^__[@#]/.test(property.escapedName as string)) continue; // symbol keys and #private fields are never sent
    const propertyType = checker.getTypeOfSymbolAtLocation(property, context.location);
    // A property holding undefined counts as absent (JSON leaves it out; ajv's `properties` skips it): its schema is the rest of its type.
    properties[property.name] = schemaOf(context, propertyType, { withoutUndefined: true });
    if (!(property.flags & ts.SymbolFlags.Optional) && !acceptsUndefined(checker, propertyType)) required.push(property.name);
  }
  const patternProperties: Record<string, JsonSchema> = {};
  let additionalProperties: JsonSchema | undefined;
  for (const info of checker.getIndexInfosOfType(type)) {
    const valueSchema = schemaOf(context, info.type);
    const key = info.keyType;
    if (key.flags & ts.TypeFlags.String) additionalProperties = valueSchema;
    else if (key.flags & ts.TypeFlags.Number) patternProperties[NUMERIC_KEY] = valueSchema;
    else if (key.flags & ts.TypeFlags.TemplateLiteral) patternProperties[templatePattern(key as ts.TemplateLiteralType)] = valueSchema;
    // symbol keys never travel
  }
  if (!Object.keys(properties).length && !Object.keys(patternProperties).length && additionalProperties === undefined) {
    return ANY; // `{}` and empty interfaces: anything but null and undefined
  }

  // Other keys are allowed: TypeScript is structural, so a caller may pass a wider object.
  const schema: SchemaObject = { type: 'object' };
  if (Object.keys(properties).length) schema.properties = properties;
  if (required.length) schema.required = required;
  if (Object.keys(patternProperties).length) schema.patternProperties = patternProperties;
  if (additionalProperties !== undefined && !isAny(additionalProperties)) schema.additionalProperties = additionalProperties;
  // A primitive whose properties fit the type is assignable too (`{ length: number }` takes a string).
  const primitives = primitivesAssignableTo(checker, type);
  return primitives.length ? union([schema, ...primitives]) : schema;
}

function tupleSchema(context: Context, type: ts.TupleTypeReference): JsonSchema {
  const { checker } = context;
  const target = type.target;
  const elements = checker.getTypeArguments(type);
  const items: JsonSchema[] = [];
  let rest: JsonSchema | undefined;
  for (let index = 0; index < elements.length; index++) {
    const flags = target.elementFlags[index];
    if (flags & ts.ElementFlags.Variable) {
      // A rest element: the remaining items (and, when it is not last, the fixed ones after it) are each one of these.
      rest = union(
        elements
          .slice(index)
          .map((element, offset) =>
            target.elementFlags[index + offset] & ts.ElementFlags.Variadic ? restElementSchema(context, element) : schemaOf(context, element),
          ),
      );
      break;
    }
    const schema = schemaOf(context, elements[index]);
    items.push(flags & ts.ElementFlags.Optional ? union([schema, UNDEFINED]) : schema);
  }
  const schema: SchemaObject = { type: 'array' };
  if (items.length) schema.items = items;
  if (rest !== undefined && !isAny(rest)) schema[items.length ? 'additionalItems' : 'items'] = rest;
  if (target.minLength) schema.minItems = target.minLength;
  if (!target.hasRestElement) schema.maxItems = elements.length;
  return schema;
}

/** `a & b`: every member holds, except that object members of a branded primitive (`string & { __brand: 'Id' }`) exist only for the checker. */
function intersection(context: Context, type: ts.IntersectionType): JsonSchema {
  const primitive = ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.BigIntLike;
  const branded = type.types.some((member) => member.flags & primitive);
  const members = branded ? type.types.filter((member) => member.flags & primitive) : type.types;
  const schemas = members.map((member) => schemaOf(context, member)).filter((schema) => !isAny(schema));
  if (!schemas.length) return ANY;
  return schemas.length === 1 ? schemas[0] : { allOf: schemas };
}

/**
 * `a | b`: literals collapse into one `enum` (true and false into `type: boolean`), bare `type`s into one
 * `type` list, the rest into `anyOf`. A member that accepts anything makes the union accept anything.
 */
function union(schemas: JsonSchema[]): JsonSchema {
  const flat = schemas.flatMap((schema) => (isObject(schema) && Object.keys(schema).length === 1 && Array.isArray(schema.anyOf) ? schema.anyOf : [schema]));
  if (flat.some(isAny)) return ANY;
  const constants: unknown[] = [];
  const types: string[] = [];
  const others: JsonSchema[] = [];
  for (const schema of flat) {
    if (!isObject(schema)) continue; // `false` adds nothing to a union
    const keys = Object.keys(schema);
    if (keys.length === 1 && 'const' in schema) constants.push(schema.const);
    else if (keys.length === 1 && 'enum' in schema) constants.push(...schema.enum);
    else if (keys.length === 1 && 'type' in schema) types.push(...[schema.type].flat());
    else if (!others.some((other) => JSON.stringify(other) === JSON.stringify(schema))) others.push(schema);
  }
  if (constants.includes(true) && constants.includes(false)) types.push('boolean');
  const literals = [...new Set(constants)].filter(
    (value) => !types.includes(typeof value === 'boolean' ? 'boolean' : typeof value) && !(typeof value === 'number' && types.includes('number')),
  );
  const uniqueTypes = TYPE_ORDER.filter((name) => types.includes(name));
  const parts: JsonSchema[] = [];
  if (uniqueTypes.length) parts.push({ type: uniqueTypes.length === 1 ? uniqueTypes[0] : uniqueTypes });
  if (literals.length) parts.push(literals.length === 1 ? { const: literals[0] } : { enum: literals });
  // undefined reads best last (`string | undefined`)
  parts.push(...others.filter((schema) => !isUndefined(schema)), ...others.filter(isUndefined));
  if (!parts.length) return false;
  return parts.length === 1 ? parts[0] : { anyOf: parts };
}

/** Whether a value of `type` may be undefined (so the property carrying it may be missing). */
function acceptsUndefined(checker: ts.TypeChecker, type: ts.Type): boolean {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return true;
  if (type.flags & ts.TypeFlags.TypeParameter) {
    const constraint = checker.getBaseConstraintOfType(type);
    return !constraint || constraint === type || acceptsUndefined(checker, constraint);
  }
  return type.isUnion() && type.types.some((member) => acceptsUndefined(checker, member));
}

/** The primitives a value of which TypeScript lets through as `type` (`{}`-like and `{ length: number }`-like types). */
function primitivesAssignableTo(checker: ts.TypeChecker, type: ts.Type): JsonSchema[] {
  const candidates: [ts.Type, JsonSchema][] = [
    [checker.getStringType(), { type: 'string' }],
    [checker.getNumberType(), { type: 'number' }],
    [checker.getBooleanType(), { type: 'boolean' }],
    [checker.getBigIntType(), { instanceOf: 'bigint' }],
  ];
  const assignable = (source: ts.Type) =>
    typeof checker.isTypeAssignableTo === 'function'
      ? checker.isTypeAssignableTo(source, type)
      : checker.getPropertiesOfType(type).every((p) => p.flags & ts.SymbolFlags.Optional || checker.getPropertyOfType(checker.getApparentType(source), p.name));
  return candidates.filter(([source]) => assignable(source)).map(([, schema]) => schema);
}

/** A JSON Schema pattern for a template literal key type (`data-${string}`). */
function templatePattern(type: ts.TemplateLiteralType): string {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let pattern = '^' + escape(type.texts[0]);
  type.types.forEach((placeholder, index) => {
    pattern += placeholder.flags & ts.TypeFlags.NumberLike ? '(-?[0-9.e+-]+|NaN|-?Infinity)' : '.*';
    pattern += escape(type.texts[index + 1]);
  });
  return pattern + '$';
}

/**
 * JSON has no undefined: JSON.stringify sends an undefined argument or array element as null, and the service
 * checks values as decoded. So wherever a schema accepts undefined (outside object properties, which
 * leave undefined out already) it accepts null too, and a call passes over JSON as it does over msgpack.
 */
function nullForUndefined(schema: JsonSchema): JsonSchema {
  if (!isObject(schema)) return schema;
  if (isUndefined(schema)) return { anyOf: [UNDEFINED, { type: 'null' }] };
  const out: SchemaObject = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'anyOf' || keyword === 'allOf' || (keyword === 'items' && Array.isArray(value))) {
      out[keyword] = (value as JsonSchema[]).map((member) => (keyword === 'anyOf' && isUndefined(member) ? member : nullForUndefined(member)));
    } else if (keyword === 'properties' || keyword === 'patternProperties' || keyword === 'definitions') {
      out[keyword] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([key, member]) => [key, nullForUndefined(member)]));
    } else if (keyword === 'items' || keyword === 'additionalItems' || keyword === 'additionalProperties') {
      out[keyword] = nullForUndefined(value);
    } else {
      out[keyword] = value;
    }
  }
  if (Array.isArray(out.anyOf) && out.anyOf.some(isUndefined) && !out.anyOf.some(acceptsNull)) out.anyOf = [...out.anyOf, { type: 'null' }];
  return out;
}

/** Whether a schema of the shapes built here plainly takes null (so null need not be added beside undefined). */
function acceptsNull(schema: JsonSchema): boolean {
  if (!isObject(schema)) return schema;
  return [schema.type].flat().includes('null') || schema.const === null || (Array.isArray(schema.enum) && schema.enum.includes(null));
}

function isObject(schema: JsonSchema): schema is SchemaObject {
  return typeof schema === 'object' && schema !== null;
}

function isUndefined(schema: JsonSchema): boolean {
  return isObject(schema) && Object.keys(schema).length === 1 && schema.instanceOf === 'undefined';
}

function isAny(schema: JsonSchema): boolean {
  return schema === true || (isObject(schema) && Object.keys(schema).length === 0);
}
