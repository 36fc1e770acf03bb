import { join } from 'node:path';
import * as ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { normalizeParameters } from '../../../../runtime/src/server/parameters';
import { parameterSchemas } from './parameter-schema';
import { tsLiteral } from './projects';

/** The standard library and @types/node, parsed once for all the programs below. */
const libraryFiles = new Map<string, ts.SourceFile | undefined>();

/** A program over in-memory files (the first one holds `function f`), with the standard library and @types/node from disk. */
function schemasOf(source: string, others: Record<string, string> = {}) {
  const dir = join(process.cwd(), '__parameter_schema__');
  const files = new Map(Object.entries({ 'main.ts': source, ...others }).map(([name, text]) => [join(dir, name), text]));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(name);
    if (text !== undefined) return ts.createSourceFile(name, text, version, true);
    if (!libraryFiles.has(name)) libraryFiles.set(name, getSourceFile.call(host, name, version, ...rest));
    return libraryFiles.get(name);
  };
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
  const { directoryExists } = host;
  host.directoryExists = (name) => name === dir || Boolean(directoryExists?.call(host, name));
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const main = program.getSourceFile(join(dir, 'main.ts'))!;
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
  let fn: ts.SignatureDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (fn) return;
    if (ts.isFunctionDeclaration(node) && node.name?.text === 'f') fn = node;
    else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'f' && node.initializer && ts.isArrowFunction(node.initializer))
      fn = node.initializer;
    else ts.forEachChild(node, visit);
  };
  visit(main);
  if (!fn) throw new Error('no function f in the source');
  return parameterSchemas(program, fn);
}

/** The schema of f's only parameter, with `declarations` in scope. */
const schemaOf = (declarations: string, parameterType: string) => schemasOf(`${declarations}\nexport function f(x: ${parameterType}) {}\n`)[0].schema;

/** Where the type allows undefined, JSON's null (which JSON.stringify sends for it) is accepted as well. */
const UNDEFINED = { anyOf: [{ instanceOf: 'undefined' }, { type: 'null' }] };
const orUndefined = (schema: object) => ({ anyOf: [schema, { instanceOf: 'undefined' }, { type: 'null' }] });

describe('parameterSchemas', () => {
  it('maps primitives to their JSON type, bigint and undefined to instanceOf', () => {
    expect(schemasOf('export function f(s: string, n: number, b: boolean, z: null, big: bigint, u: undefined, v: void) {}')).toEqual([
      { name: 's', schema: { type: 'string' } },
      { name: 'n', schema: { type: 'number' } },
      { name: 'b', schema: { type: 'boolean' } },
      { name: 'z', schema: { type: 'null' } },
      { name: 'big', schema: { instanceOf: 'bigint' } },
      { name: 'u', schema: UNDEFINED },
      { name: 'v', schema: UNDEFINED },
    ]);
    expect(schemaOf('', '`id-${number}`')).toEqual({ type: 'string' });
  });

  it('maps literals and unions of literals, enums included, to const and enum', () => {
    expect(schemaOf('', "'a' | 'b' | 'c'")).toEqual({ enum: ['a', 'b', 'c'] });
    expect(schemaOf('', "'only'")).toEqual({ const: 'only' });
    expect(schemaOf('', '1 | 2 | true')).toEqual({ enum: [true, 1, 2] });
    expect(schemaOf('enum Color { Red, Green, Blue }', 'Color')).toEqual({ enum: [0, 1, 2] });
    expect(schemaOf("enum Level { Low = 'low', High = 'high' }", 'Level')).toEqual({ enum: ['low', 'high'] });
    expect(schemaOf("const enum Level { Low = 'low', High = 'high' }", 'Level.High')).toEqual({ const: 'high' });
    expect(schemaOf("enum Mixed { A = 1, B = 'b' }", 'Mixed')).toEqual({ enum: [1, 'b'] });
  });

  it('collapses true | false into boolean and keeps T | undefined working', () => {
    expect(schemaOf('', 'boolean | undefined')).toEqual(orUndefined({ type: 'boolean' }));
    expect(schemaOf('', 'string | number')).toEqual({ type: ['string', 'number'] });
    expect(schemaOf('', "'a' | 'b' | undefined")).toEqual(orUndefined({ enum: ['a', 'b'] }));
    expect(schemaOf('', 'string | null')).toEqual({ type: ['string', 'null'] });
    expect(schemaOf('', "string | 'a'")).toEqual({ type: 'string' });
    expect(schemaOf('', 'number[] | { n: number }')).toEqual({
      anyOf: [
        { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        { type: 'array', items: { type: 'number' } },
      ],
    });
  });

  it('maps arrays and readonly arrays to items', () => {
    expect(schemaOf('', 'string[]')).toEqual({ type: 'array', items: { type: 'string' } });
    expect(schemaOf('', 'ReadonlyArray<number | null>')).toEqual({ type: 'array', items: { type: ['number', 'null'] } });
    expect(schemaOf('', 'readonly boolean[][]')).toEqual({ type: 'array', items: { type: 'array', items: { type: 'boolean' } } });
    expect(schemaOf('', 'unknown[]')).toEqual({ type: 'array', items: {} });
  });

  it('maps tuples to positional items with their lengths, optional and rest elements included', () => {
    expect(schemaOf('', '[string, number]')).toEqual({ type: 'array', items: [{ type: 'string' }, { type: 'number' }], minItems: 2, maxItems: 2 });
    expect(schemaOf('', '[x: number, y?: number]')).toEqual({
      type: 'array',
      items: [{ type: 'number' }, orUndefined({ type: 'number' })],
      minItems: 1,
      maxItems: 2,
    });
    expect(schemaOf('', '[string, ...number[]]')).toEqual({ type: 'array', items: [{ type: 'string' }], additionalItems: { type: 'number' }, minItems: 1 });
    expect(schemaOf('', 'readonly [...string[], number]')).toEqual({ type: 'array', items: { type: ['string', 'number'] }, minItems: 1 });
    expect(schemaOf('', '[]')).toEqual({ type: 'array', maxItems: 0 });
  });

  it('maps interfaces from another file to properties and required, allowing other properties', () => {
    const [point, shape] = schemasOf("import type { Point, Shape } from './shapes';\nexport function f(p: Point, s: Shape) {}\n", {
      'shapes.ts': [
        'export interface Point { x: number; y: number; label?: string; note: string | undefined; extra: unknown }',
        "export type Shape = { kind: 'circle'; r: number } | { kind: 'square'; side: number };",
      ].join('\n'),
    });
    expect(point.schema).toEqual({
      type: 'object',
      properties: {
        x: { type: 'number' },
        y: { type: 'number' },
        label: { type: 'string' },
        note: { type: 'string' },
        extra: {},
      },
      required: ['x', 'y'],
    });
    expect(point.schema).not.toHaveProperty('additionalProperties');
    expect(shape.schema).toEqual({
      anyOf: [
        { type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'number' } }, required: ['kind', 'r'] },
        { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'number' } }, required: ['kind', 'side'] },
      ],
    });
  });

  it('maps index signatures to additionalProperties and patternProperties', () => {
    expect(schemaOf('', 'Record<string, number>')).toEqual({ type: 'object', additionalProperties: { type: 'number' } });
    expect(schemaOf('', '{ total: number; [key: string]: number }')).toEqual({
      type: 'object',
      properties: { total: { type: 'number' } },
      required: ['total'],
      additionalProperties: { type: 'number' },
    });
    expect(schemaOf('', '{ [index: number]: boolean }')).toEqual({
      type: 'object',
      patternProperties: { '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?(e[+-][0-9]+)?|NaN|-?Infinity)$': { type: 'boolean' } },
    });
    // a string has a number index signature of strings
    expect(schemaOf('', '{ [index: number]: string }')).toEqual({ anyOf: [{ type: 'string' }, expect.objectContaining({ type: 'object' })] });
    expect(schemaOf('', '{ [key: `data-${string}`]: string }')).toEqual({ type: 'object', patternProperties: { '^data-.*$': { type: 'string' } } });
    expect(schemaOf('', "Record<'a' | 'b', boolean>")).toEqual({
      type: 'object',
      properties: { a: { type: 'boolean' }, b: { type: 'boolean' } },
      required: ['a', 'b'],
    });
    expect(schemaOf('', 'Record<string, unknown>')).toEqual({ type: 'object' });
  });

  it('maps the data shape of a class and the instance types of a generic interface', () => {
    expect(schemaOf('class Point { x = 0; y?: number; constructor(public label: string) {} }', 'Point')).toEqual({
      type: 'object',
      properties: { x: { type: 'number' }, y: { type: 'number' }, label: { type: 'string' } },
      required: ['x', 'label'],
    });
    expect(schemaOf('interface Box<T> { value: T; all: T[] }', 'Box<Date>')).toEqual({
      type: 'object',
      properties: { value: { instanceOf: 'Date' }, all: { type: 'array', items: { instanceOf: 'Date' } } },
      required: ['value', 'all'],
    });
  });

  it('maps the standard types msgpack carries to instanceOf, Buffer and Uint8Array alike', () => {
    const types = [
      ...['Date', 'RegExp', 'Map<string, number>', 'ReadonlyMap<string, number>', 'Set<number>', 'ReadonlySet<string>'],
      ...['ArrayBuffer', 'DataView', 'Buffer', 'Uint8Array', 'Float64Array', 'BigInt64Array'],
    ];
    const source = `export function f(${types.map((type, index) => `p${index}: ${type}`).join(', ')}) {}`;
    expect(schemasOf(source).map((parameter) => parameter.schema)).toEqual(
      ['Date', 'RegExp', 'Map', 'Map', 'Set', 'Set', 'ArrayBuffer', 'DataView', 'Uint8Array', 'Uint8Array', 'Float64Array', 'BigInt64Array'].map((name) => ({
        instanceOf: name,
      })),
    );
  });

  it('checks a workspace type named like a standard one by its shape', () => {
    expect(schemaOf('interface Map { tiles: string[] }', 'Map')).toEqual({
      type: 'object',
      properties: { tiles: { type: 'array', items: { type: 'string' } } },
      required: ['tiles'],
    });
  });

  it('maps intersections to allOf, and a branded primitive to the primitive', () => {
    expect(schemaOf('type A = { a: number }; type B = { b: string }', 'A & B')).toEqual({
      allOf: [
        { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] },
        { type: 'object', properties: { b: { type: 'string' } }, required: ['b'] },
      ],
    });
    expect(schemaOf("type UserId = string & { readonly __brand: 'UserId' }", 'UserId')).toEqual({ type: 'string' });
  });

  it('accepts anything for any, unknown, unconstrained type parameters, functions, symbols and what it does not spell out', () => {
    const [a, u, t, fn, sym, obj] = schemasOf('export function f<T>(a: any, u: unknown, t: T, fn: () => void, sym: symbol, obj: {}) {}');
    for (const parameter of [a, u, t, fn, sym, obj]) expect(parameter.schema).toEqual({});
    expect(schemaOf('', 'object')).toEqual({ type: ['object', 'array'] });
  });

  it('follows the constraint of a type parameter', () => {
    expect(schemasOf('export function f<T extends string, U extends { id: number }>(t: T, u: U[]) {}').map((p) => p.schema)).toEqual([
      { type: 'string' },
      { type: 'array', items: { type: 'object', properties: { id: { type: 'number' } }, required: ['id'] } },
    ]);
  });

  it('gives a recursive type a definition its uses point to, in the schema of the parameter itself', () => {
    const tree = {
      type: 'object',
      properties: { value: { type: 'number' }, children: { type: 'array', items: { $ref: '#/definitions/Tree' } } },
      required: ['value', 'children'],
    };
    expect(schemaOf('interface Tree { value: number; children: Tree[] }', 'Tree')).toEqual({ $ref: '#/definitions/Tree', definitions: { Tree: tree } });
    expect(schemaOf('interface Tree { value: number; children: Tree[] }', '{ left: Tree; right?: Tree }')).toEqual({
      type: 'object',
      properties: { left: { $ref: '#/definitions/Tree' }, right: { $ref: '#/definitions/Tree' } },
      required: ['left'],
      definitions: { Tree: tree },
    });
    expect(schemaOf('type Json = string | number | boolean | null | Json[] | { [key: string]: Json }', 'Json')).toEqual({
      $ref: '#/definitions/Json',
      definitions: {
        Json: {
          anyOf: [
            { type: ['string', 'number', 'boolean', 'null'] },
            { type: 'array', items: { $ref: '#/definitions/Json' } },
            { type: 'object', additionalProperties: { $ref: '#/definitions/Json' } },
          ],
        },
      },
    });
    expect(schemaOf('interface Person { name: string; friend?: Pet } interface Pet { owner: Person }', 'Person')).toEqual({
      $ref: '#/definitions/Person',
      definitions: {
        Person: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            friend: { type: 'object', properties: { owner: { $ref: '#/definitions/Person' } }, required: ['owner'] },
          },
          required: ['name'],
        },
      },
    });
  });

  it('accepts anything below a bounded depth, where a generic type keeps growing', () => {
    const schema = JSON.stringify(schemaOf('interface Deep<T> { value: T; next: Deep<T[]> }', 'Deep<number>'));
    expect(schema).toContain('"next":{}');
    expect(schema).not.toContain('$ref');
  });

  it('spells out a type used twice side by side, which is not recursion', () => {
    const point = { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] };
    expect(schemaOf('interface P { x: number }', '{ from: P; to: P }')).toEqual({
      type: 'object',
      properties: { from: point, to: point },
      required: ['from', 'to'],
    });
  });

  it('lets a primitive through where TypeScript does (an object type whose properties a string has)', () => {
    expect(schemaOf('', '{ length: number }')).toEqual({
      anyOf: [{ type: 'string' }, { type: 'object', properties: { length: { type: 'number' } }, required: ['length'] }],
    });
    expect(schemaOf('', '{ size?: number }')).toEqual({ type: 'object', properties: { size: { type: 'number' } } });
  });

  it('lets optional and default parameters be undefined, skips `this`, and gives a rest parameter its element schema', () => {
    expect(schemasOf('export function f(this: void, text: string, width = 8, fill?: string, ...more: number[]) {}')).toEqual([
      { name: 'text', schema: { type: 'string' } },
      { name: 'width', schema: orUndefined({ type: 'number' }) },
      { name: 'fill', schema: orUndefined({ type: 'string' }) },
      { name: 'more', schema: { type: 'number' }, rest: true },
    ]);
    expect(schemasOf('export function f(...pair: [string, number]) {}')).toEqual([{ name: 'pair', schema: { type: ['string', 'number'] }, rest: true }]);
  });

  it('names a destructured parameter by its pattern, or by its position when the pattern is long', () => {
    const names = schemasOf(
      'export const f = ({ a, b: renamed }: { a: number; b: string }, [x, , ...ys]: number[], ' +
        '{ first, second, third, fourth, fifth, sixth }: Record<string, number>) => 0;',
    ).map((parameter) => parameter.name);
    expect(names).toEqual(['{ a, b }', '[x, , ...ys]', 'argument 3']);
  });

  it('accepts null beside undefined outside object properties, where JSON sends undefined as null', () => {
    expect(schemaOf('', '{ a: boolean | undefined; list: (string | undefined)[]; b?: null }')).toEqual({
      type: 'object',
      properties: { a: { type: 'boolean' }, list: { type: 'array', items: orUndefined({ type: 'string' }) }, b: { type: 'null' } },
      required: ['list'],
    });
    expect(schemaOf('', 'string | null | undefined')).toEqual({ anyOf: [{ type: ['string', 'null'] }, { instanceOf: 'undefined' }] });
    expect(schemaOf('', '[number, (Date | undefined)?]')).toEqual({
      type: 'array',
      items: [{ type: 'number' }, orUndefined({ instanceOf: 'Date' })],
      minItems: 1,
      maxItems: 2,
    });
  });
});

describe("parameterSchemas, checked by the runtime's validator", () => {
  /** The service's check of `args` against the schemas of `source`'s f: undefined when they pass, else the 400's message. */
  const checker = (source: string, others?: Record<string, string>) => {
    const check = normalizeParameters(schemasOf(source, others), 'f')!;
    check.compile();
    return (...args: unknown[]) => {
      try {
        check.check(args);
        return undefined;
      } catch (error) {
        expect(error).toMatchObject({ code: 'TL_BAD_ARGUMENTS', statusCode: 400 });
        return (error as Error).message;
      }
    };
  };
  /** What the service decodes from a plain-JSON body. */
  const overJson = (...args: unknown[]) => JSON.parse(JSON.stringify(args)) as unknown[];

  it('passes the calls the signature allows, over JSON and with the values msgpack carries', () => {
    const call = checker(
      [
        "import type { Options } from './options';",
        'export function f(text: string, options: Options, when?: Date, ...tags: Array<string | undefined>) {}',
      ].join('\n'),
      { 'options.ts': "export interface Options { width: number; fill?: string; align: 'left' | 'right' | undefined; extra?: Map<string, bigint> }" },
    );
    expect(call('a', { width: 3, align: 'left' })).toBeUndefined();
    expect(call(...overJson('a', { width: 3, fill: undefined, align: undefined, more: true }, undefined, 'x', undefined))).toBeUndefined();
    expect(call('a', { width: 3, align: undefined, extra: new Map([['k', 1n]]) }, new Date(), undefined, 'y')).toBeUndefined();
  });

  it('answers 400 naming the argument that does not match', () => {
    const call = checker('interface Box { size: number; unit: "cm" | "in" }\nexport function f(label: string, box: Box, ...counts: number[]) {}');
    expect(call(1, { size: 1, unit: 'cm' })).toMatch(/argument 1 \(label\)/);
    expect(call('a', { size: 1, unit: 'mm' })).toMatch(/argument 2 \(box\)\/unit/);
    expect(call('a', { unit: 'cm' })).toMatch(/argument 2 \(box\) must have the property "size"/);
    expect(call('a', { size: 1, unit: 'in' }, 1, '2')).toMatch(/argument 4 \(counts\[1\]\)/);
    expect(call('a', new Map())).toMatch(/argument 2 \(box\)/);
  });

  it('checks a recursive type all the way down', () => {
    const call = checker('interface Tree { value: number; children?: Tree[] }\nexport function f(tree: Tree) {}');
    expect(call({ value: 1, children: [{ value: 2 }, { value: 3, children: [{ value: 4, children: [] }] }] })).toBeUndefined();
    expect(call({ value: 1, children: [{ value: 2 }, { value: 3, children: [{ value: '4' }] }] })).toMatch(
      /argument 1 \(tree\)\/children\/1\/children\/0\/value/,
    );
  });

  it('compiles every schema it derives, with the instanceOf keyword and nothing ajv does not know', () => {
    const call = checker(
      'type Json = string | number | boolean | null | Json[] | { [key: string]: Json };\n' +
        'enum Kind { A, B }\n' +
        'export function f(a: Json, b: [Kind, ...Uint8Array[]], c: Record<number, Set<string>>, d: { [k: `x-${number}`]: RegExp }, e: object, g: unknown) {}',
    );
    expect(call({ x: [1, null, { y: 'z' }] }, [0, Buffer.from('a'), new Uint8Array(2)], { 1: new Set(['s']) }, { 'x-1': /r/ }, [], undefined)).toBeUndefined();
    expect(call(1, [2])).toMatch(/argument 2 \(b\)\/0 must be 0 or 1/);
    expect(call(1, [1, 'no'])).toMatch(/argument 2 \(b\)\/1 must be Uint8Array/);
    expect(call(1, [1], { 1: ['s'] })).toMatch(/argument 3 \(c\)\/1 must be Set/);
    expect(call(1, [1], {}, { 'x-2': 'r' })).toMatch(/argument 4 \(d\)\/x-2 must be RegExp/);
    expect(call(1, [1], {}, {}, 'text')).toMatch(/argument 5 \(e\)/);
  });
});

describe('tsLiteral, how the service main.ts spells the schemas', () => {
  it('writes short values on one line, longer ones over several, with bare keys where they can be', () => {
    expect(tsLiteral([{ name: 'xs', schema: { type: 'array', items: { type: 'number' } } }])).toBe(
      "[{ name: 'xs', schema: { type: 'array', items: { type: 'number' } } }]",
    );
    expect(tsLiteral({ anyOf: [{ type: 'string' }, { instanceOf: 'undefined' }, { type: 'null' }], $ref: '#/definitions/Tree' }, '  ')).toBe(
      "{\n    anyOf: [{ type: 'string' }, { instanceOf: 'undefined' }, { type: 'null' }],\n    $ref: '#/definitions/Tree',\n  }",
    );
  });

  it('reads back as the same value, whatever the strings and keys hold', () => {
    const value = {
      patternProperties: { '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?)$': { const: 'it\'s "quoted" \\ and\nnew' } },
      'data-key': [true, null, 1.5, -2, { enum: ['a', '\u2028'] }],
      required: [],
      properties: {},
    };
    expect(new Function(`return ${tsLiteral(value)};`)()).toEqual(value);
  });
});
