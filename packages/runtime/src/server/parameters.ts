/**
 * Each argument checked against the schema the lift derived from the function's signature (the serve
 * option `parameters`, in the format of ParameterSchema in ../contract), where the body is decoded: in
 * the pool worker that runs the call, or on the main thread when the function runs inline. A wrong value
 * answers 400 `TL_BAD_ARGUMENTS` naming the parameter, before the function is called. The schemas are
 * compiled with fastify's own validator compiler (@fastify/ajv-compiler, so ajv), once per thread; a
 * service without `parameters` never loads it.
 *
 * The schemas: JSON Schema draft-07, one self-contained schema per parameter (its `$ref`s point into its
 * own `definitions`), plus the keyword `instanceOf` for what only msgpack carries: Map, Set, Date, RegExp,
 * Buffer (`"Uint8Array"`: msgpack's bin decodes as a Buffer, which is one), the other typed arrays,
 * ArrayBuffer, DataView, bigint and undefined. Mind that `"type": "object"` holds for every non-null
 * non-array object, a Map, a Date or a Buffer too, so those need their `instanceOf`. `"type": "number"`
 * holds for NaN and ±Infinity, as TypeScript's number does (msgpack carries them; JSON cannot).
 *
 * undefined and JSON's null:
 * - `{ "instanceOf": "undefined" }` holds for undefined only, as the contract says. The service never
 *   turns null into undefined or back: one validator checks the values as decoded, whatever the codec.
 * - JSON has no undefined (JSON.stringify sends an undefined argument or array element as null), so
 *   wherever the type allows undefined (an optional parameter, `T | undefined`, `void`, an array element)
 *   the lift emits both, and the same call passes over JSON and over msgpack:
 *     { "anyOf": [<T>, { "instanceOf": "undefined" }, { "type": "null" }] }
 * - Object properties need no null: a property whose value is undefined counts as absent (ajv's
 *   `properties` skips it and `required` misses it), as JSON leaves it out. An optional property is one
 *   left out of `required`; its schema is T alone.
 * - An argument left out (fewer arguments than parameters, which arity allows) is not checked at all;
 *   arguments beyond the parameters, without a rest parameter, are arity's business.
 */
import type * as AjvCompilerPackage from '@fastify/ajv-compiler';
import { INSTANCE_OF_KEYWORD, INSTANCE_OF_NAMES, type InstanceOfName, type JsonSchema, type ParameterSchema } from '../contract';
import { badArguments, type ServiceError } from './errors';

type Ajv = AjvCompilerPackage.Ajv;
type ErrorObject = AjvCompilerPackage.ErrorObject;
interface ValidateFunction {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * Bodies are checked as decoded, never changed. fastify's defaults are for querystrings and headers:
 * `coerceTypes: 'array'` would turn "2" into 2 (and a value into a one-element array), `useDefaults`
 * and `removeAdditional` would edit the caller's arguments. A function gets exactly what was sent.
 */
const AJV_OPTIONS = {
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  // The first failure answers the call, and bounds the work a hostile body can cause.
  allErrors: false,
  // Errors carry the failing value and its schema: the message says what was expected and what came.
  verbose: true,
  // NaN and ±Infinity are numbers (see above).
  strictNumbers: false,
  // An unknown keyword is a mistake in the schema, refused when it is compiled; the rest of ajv's strict
  // mode only logs advice about schemas that are valid as they are.
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  allowUnionTypes: true,
} as const;

const INSTANCE_TESTS: Record<InstanceOfName, (value: unknown) => boolean> = {
  undefined: (value) => value === undefined,
  bigint: (value) => typeof value === 'bigint',
  Date: (value) => value instanceof Date,
  RegExp: (value) => value instanceof RegExp,
  Map: (value) => value instanceof Map,
  Set: (value) => value instanceof Set,
  ArrayBuffer: (value) => value instanceof ArrayBuffer,
  DataView: (value) => value instanceof DataView,
  Uint8Array: (value) => value instanceof Uint8Array,
  Uint8ClampedArray: (value) => value instanceof Uint8ClampedArray,
  Int8Array: (value) => value instanceof Int8Array,
  Uint16Array: (value) => value instanceof Uint16Array,
  Int16Array: (value) => value instanceof Int16Array,
  Uint32Array: (value) => value instanceof Uint32Array,
  Int32Array: (value) => value instanceof Int32Array,
  Float32Array: (value) => value instanceof Float32Array,
  Float64Array: (value) => value instanceof Float64Array,
  BigInt64Array: (value) => value instanceof BigInt64Array,
  BigUint64Array: (value) => value instanceof BigUint64Array,
};

/** The ajv plugin that adds `instanceOf`; a name outside INSTANCE_OF_NAMES fails the schema's compilation. */
function instanceOfKeyword(ajv: Ajv): Ajv {
  return ajv.addKeyword({
    keyword: INSTANCE_OF_KEYWORD,
    schemaType: 'string',
    metaSchema: { enum: [...INSTANCE_OF_NAMES] },
    compile: (name: InstanceOfName) => INSTANCE_TESTS[name],
    errors: false,
  });
}

type CompileSchema = (schema: JsonSchema) => ValidateFunction;
let compileSchema: CompileSchema | undefined;

/** One compiler per thread, made with the first schema: the compiler, ajv and ajv-formats load then. */
function schemaCompiler(): CompileSchema {
  if (compileSchema) return compileSchema;
  const { AjvCompiler } = require('@fastify/ajv-compiler') as typeof AjvCompilerPackage;
  // Typed as taking the schema; it takes fastify's route part `{ schema, method, url, httpPart }`.
  const build = AjvCompiler()({}, { customOptions: AJV_OPTIONS, plugins: [instanceOfKeyword] }) as unknown as (part: {
    schema: JsonSchema;
  }) => ValidateFunction;
  return (compileSchema = (schema) => build({ schema }));
}

/**
 * The `parameters` option, normalised: the schemas as given (checked for shape, copied and frozen),
 * compiled at the first `compile` or `check`.
 */
export class ParameterCheck {
  private validators: ValidateFunction[] | undefined;
  /** Parameters before the rest parameter (all of them when there is none). */
  private readonly fixed: number;

  constructor(
    private readonly fnName: string,
    readonly parameters: readonly ParameterSchema[],
  ) {
    this.fixed = parameters.length > 0 && parameters[parameters.length - 1].rest ? parameters.length - 1 : parameters.length;
  }

  /** Compiles every schema now; a schema ajv refuses is a TypeError naming the service and the parameter. */
  compile(): ValidateFunction[] {
    if (this.validators) return this.validators;
    const compile = schemaCompiler();
    this.validators = this.parameters.map(({ name, schema }, index) => {
      try {
        return compile(schema);
      } catch (error) {
        throw new TypeError(`serve(${this.fnName}): the schema of parameters[${index}] (${name}) is not valid: ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
    return this.validators;
  }

  /** Throws 400 TL_BAD_ARGUMENTS at the first argument that does not match; `where` prefixes the message (`input 3: `). */
  check(args: readonly unknown[], where = ''): void {
    const validators = this.validators ?? this.compile();
    const fixed = Math.min(args.length, this.fixed);
    let i = 0;
    try {
      for (; i < fixed; i++) {
        if (!validators[i](args[i])) throw this.failure(i, validators[i], where);
      }
      if (this.fixed === this.parameters.length) return;
      const rest = validators[this.fixed];
      for (; i < args.length; i++) {
        if (!rest(args[i])) throw this.failure(i, rest, where);
      }
    } catch (error) {
      // A value nested deeper than the stack (through a recursive schema) is the caller's to fix, not a 500.
      if (!(error instanceof RangeError)) throw error;
      throw badArguments(`${where}${this.fnName}: argument ${i + 1} (${this.label(i)}) is nested too deeply to check`);
    }
  }

  private label(argument: number): string {
    const parameter = Math.min(argument, this.fixed);
    const { name, rest } = this.parameters[parameter];
    return rest ? `${name}[${argument - parameter}]` : name;
  }

  private failure(argument: number, validate: ValidateFunction, where: string): ServiceError {
    const { path, text } = explain(validate.errors ?? []);
    return badArguments(`${where}${this.fnName}: argument ${argument + 1} (${this.label(argument)})${oneLine(path)} ${text}`);
  }
}

/**
 * Shape checks of the `parameters` option, at `serve`: a list of `{ name, schema, rest? }`, a rest
 * parameter only last. Whether each schema is valid JSON Schema is ajv's to say, when it is compiled.
 */
export function normalizeParameters(option: unknown, fnName: string): ParameterCheck | undefined {
  if (option === undefined) return undefined;
  const refuse = (reason: string): never => {
    throw new TypeError(`serve(${fnName}): ${reason}`);
  };
  if (!Array.isArray(option)) return refuse(`the parameters option must be an array of { name, schema, rest? }, got ${describeValue(option)}`);
  const parameters = option.map((parameter: unknown, index): ParameterSchema => {
    const position = `parameters[${index}]`;
    if (typeof parameter !== 'object' || parameter === null || Array.isArray(parameter))
      return refuse(`${position} must be an object { name, schema, rest? }, got ${describeValue(parameter)}`);
    const { name, schema, rest } = parameter as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') return refuse(`${position} needs a name (a non-empty string), got ${describeValue(name)}`);
    const named = `${position} (${name})`;
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema)))
      return refuse(`${named} needs a schema (a JSON Schema object or a boolean), got ${describeValue(schema)}`);
    if (rest !== undefined && typeof rest !== 'boolean') return refuse(`${named}: rest must be a boolean, got ${describeValue(rest)}`);
    if (rest && index !== option.length - 1) return refuse(`${named} is a rest parameter but not the last one`);
    return Object.freeze(rest ? { name, schema, rest } : { name, schema });
  });
  return new ParameterCheck(fnName, Object.freeze(parameters));
}

/** The failure to report, as the path under the argument (`/3/x`) and what is wrong there. */
function explain(errors: readonly ErrorObject[]): { path: string; text: string } {
  // With allErrors off, the last error is the one that failed the value; those before it are the
  // failed branches of an anyOf/oneOf that ended with it.
  const last = errors[errors.length - 1];
  if (!last) return { path: '', text: 'is not valid' };
  if ((last.keyword === 'anyOf' || last.keyword === 'oneOf') && !last.params?.passingSchemas) {
    // A branch that got further into the value (a deeper path, or past its kind: a missing property of an
    // object) is most likely the one the caller meant; else none came close, and the message lists them all.
    const branches = errors.slice(0, -1);
    const closeness = (error: ErrorObject) => 2 * depth(error) + (KIND_KEYWORDS.has(error.keyword) ? 0 : 1);
    const closest = branches.reduce<ErrorObject | undefined>((best, error) => (!best || closeness(error) > closeness(best) ? error : best), undefined);
    if (closest && closeness(closest) > 2 * depth(last)) return explain(branches.slice(0, branches.indexOf(closest) + 1));
    return { path: last.instancePath, text: `must be ${describeSchemas(last.schema as JsonSchema[])}, got ${describeValue(last.data)}` };
  }
  return { path: last.instancePath, text: describeError(last) };
}

/** Keywords that fail a value for being of another kind than the schema's, not for what is inside it. */
const KIND_KEYWORDS = new Set(['type', INSTANCE_OF_KEYWORD, 'const', 'enum', 'false schema', 'anyOf', 'oneOf']);

function depth(error: ErrorObject): number {
  return error.instancePath === '' ? 0 : error.instancePath.split('/').length - 1;
}

function describeError(error: ErrorObject): string {
  const got = `got ${describeValue(error.data)}`;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(error.params.type).split(',').join(' or ')}, ${got}`;
    case INSTANCE_OF_KEYWORD:
      return `must be ${String(error.schema)}, ${got}`;
    case 'const':
      return `must be ${short(error.params.allowedValue)}, got ${short(error.data)}`;
    case 'enum':
      return `must be ${(error.params.allowedValues as unknown[]).map(short).join(' or ')}, got ${short(error.data)}`;
    case 'required':
      return `must have the property ${short(error.params.missingProperty)}`;
    case 'additionalProperties':
      return `must not have the property ${short(error.params.additionalProperty)}`;
    case 'false schema':
      return `is not allowed, ${got}`;
    default:
      return error.message ?? `does not match its ${error.keyword}`;
  }
}

function describeSchemas(schemas: readonly JsonSchema[]): string {
  const names = schemas.flatMap(describeSchema);
  return [...new Set(names)].join(' or ');
}

function describeSchema(schema: JsonSchema): string[] {
  if (typeof schema === 'boolean') return [schema ? 'anything' : 'nothing'];
  if (typeof schema[INSTANCE_OF_KEYWORD] === 'string') return [schema[INSTANCE_OF_KEYWORD]];
  if ('const' in schema) return [short(schema.const)];
  if (Array.isArray(schema.enum)) return schema.enum.map(short);
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.map(String);
  if (Array.isArray(schema.anyOf)) return schema.anyOf.flatMap(describeSchema);
  if (Array.isArray(schema.oneOf)) return schema.oneOf.flatMap(describeSchema);
  // `#/definitions/Point`: the lift names its definitions after the TypeScript types.
  if (typeof schema.$ref === 'string') return [schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1) || 'valid'];
  return ['valid'];
}

/** What a value is, in the words the schemas use: `number`, `null`, `array`, `object`, `Map`, `Buffer`… */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value !== 'object') return typeof value;
  const constructorName = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof constructorName === 'string' && constructorName !== 'Object' && constructorName !== '' ? constructorName : 'object';
}

/** A short literal for messages: strings quoted, other primitives as written, anything else by its kind. */
function short(value: unknown): string {
  if (typeof value === 'string') return oneLine(JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  return describeValue(value);
}

/** Paths and strings come from the caller's data: keep the message on one line and of bounded length. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u2028\u2029]/g, ' ');
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
