// The argument check over real HTTP: a wrong value gets 400 TL_BAD_ARGUMENTS naming the parameter,
// over JSON and msgpack alike, on /v1/call and for each input of /v1/map; values only msgpack carries
// (Map, Set, Date, Buffer, bigint, undefined) pass when right; the service keeps serving; in a pool the
// workers check. Without the option nothing is checked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChildService, type ChildService } from '../../test/child-service';
import { decode } from '../codec';
import { packMsgpack } from '../codec/msgpack';
import { AUTH, type ParameterSchema } from '../contract';
import { closeConnections, serve, type RunningService } from '../index';
import { normalizeServeOptions } from './options';

const MSGPACK = 'application/vnd.turbolift.msgpack';

function distance(a: string, b: string): number {
  return Math.abs(a.length - b.length);
}
const DISTANCE: ParameterSchema[] = [
  { name: 'a', schema: { type: 'string' } },
  { name: 'b', schema: { type: 'string' } },
];

interface Point {
  x: number;
  y: number;
}
function spread(points: Point[]): number {
  return Math.max(...points.map((p) => p.x)) - Math.min(...points.map((p) => p.x));
}
const POINT = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false };
const SPREAD: ParameterSchema[] = [{ name: 'points', schema: { type: 'array', items: { $ref: '#/definitions/Point' }, definitions: { Point: POINT } } }];

function locate(point: Point | null): string {
  return point ? `${point.x},${point.y}` : 'nowhere';
}
const LOCATE: ParameterSchema[] = [{ name: 'point', schema: { anyOf: [{ type: 'null' }, { $ref: '#/definitions/Point' }], definitions: { Point: POINT } } }];

function inventory(counts: Map<string, number>, tags: Set<string>, at: Date, data: Buffer, big: bigint) {
  return {
    // Only real instances have these methods: a plain object in their place would throw here.
    total: [...counts.values()].reduce((sum, n) => sum + n, 0),
    tagged: tags.has('x'),
    year: at.getUTCFullYear(),
    bytes: data.readUInt16BE(0),
    next: big + 1n,
  };
}
const INVENTORY: ParameterSchema[] = [
  { name: 'counts', schema: { instanceOf: 'Map' } },
  { name: 'tags', schema: { instanceOf: 'Set' } },
  { name: 'at', schema: { instanceOf: 'Date' } },
  { name: 'data', schema: { instanceOf: 'Uint8Array' } },
  { name: 'big', schema: { instanceOf: 'bigint' } },
];

function greet(name: string, punctuation?: string | null): string {
  return `hello ${name}${punctuation ?? '.'}`;
}
// As the lift derives an optional parameter: undefined over msgpack, null over JSON.
const GREET: ParameterSchema[] = [
  { name: 'name', schema: { type: 'string' } },
  { name: 'punctuation', schema: { anyOf: [{ type: 'string' }, { instanceOf: 'undefined' }, { type: 'null' }] } },
];

function sum(...xs: number[]): number {
  return xs.reduce((total, x) => total + x, 0);
}
const SUM: ParameterSchema[] = [{ name: 'xs', schema: { type: 'number' }, rest: true }];

/** Where the function ran, and what it got: without a schema whatever was sent arrives. */
function echo(value: unknown) {
  return { thread: threadId, kind: typeof value };
}

type Reply = { status: number; body: unknown };

async function post(url: string, route: 'call' | 'map', body: unknown, as: 'json' | 'msgpack' = 'json'): Promise<Reply> {
  // The runtime's own msgpack, even for bodies JSON could carry.
  const bytes = as === 'json' ? JSON.stringify(body) : packMsgpack(body);
  const response = await request(`${url}/v1/${route}`, {
    method: 'POST',
    body: bytes,
    headers: { 'content-type': as === 'json' ? 'application/json' : MSGPACK },
  });
  const raw = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, body: decode(response.headers['content-type'] as string, raw) };
}

const error = (reply: Reply) => (reply.body as { error: { code: string; message: string } }).error;

describe('argument check (inline)', () => {
  const services: Record<string, RunningService> = {};
  const start = async (name: string, fn: (...args: never[]) => unknown, options: Parameters<typeof serve>[1]) => {
    services[name] = await serve(fn as never, { port: 0, manageProcess: false, workers: 0, ...options });
    return services[name].url;
  };
  let distanceUrl: string;

  beforeAll(async () => {
    vi.stubEnv(AUTH.authEnv, 'off');
    distanceUrl = await start('distance', distance, { name: 'distance', arity: 2, parameters: DISTANCE });
    await start('spread', spread, { name: 'spread', arity: 1, parameters: SPREAD });
    await start('locate', locate, { name: 'locate', arity: 1, parameters: LOCATE });
    await start('inventory', inventory, { name: 'inventory', arity: 5, parameters: INVENTORY });
    await start('greet', greet, { name: 'greet', arity: { min: 1, max: 2 }, parameters: GREET });
    await start('sum', sum, { name: 'sum', arity: { min: 0 }, parameters: SUM });
    await start('echo', echo, { name: 'echo', arity: 1 });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await closeConnections();
    await Promise.all(Object.values(services).map((service) => service.shutdown()));
  });

  it.each(['json', 'msgpack'] as const)('refuses numbers for string parameters over %s, naming the parameter', async (as) => {
    const first = await post(distanceUrl, 'call', [1, 'b'], as);
    expect(first.status).toBe(400);
    expect(error(first)).toEqual({ code: 'TL_BAD_ARGUMENTS', message: 'distance: argument 1 (a) must be string, got number' });
    const second = await post(distanceUrl, 'call', ['a', 2], as);
    expect(error(second)).toEqual({ code: 'TL_BAD_ARGUMENTS', message: 'distance: argument 2 (b) must be string, got number' });
  });

  it('does not coerce: a numeric string is not a number, a number is not a string', async () => {
    expect(error(await post(services.sum.url, 'call', [1, '2']))).toMatchObject({ code: 'TL_BAD_ARGUMENTS' });
    expect(error(await post(distanceUrl, 'call', ['a', true]))).toMatchObject({ message: 'distance: argument 2 (b) must be string, got boolean' });
  });

  it('answers valid calls and keeps serving after refused ones', async () => {
    for (let i = 0; i < 3; i++) expect((await post(distanceUrl, 'call', [i, i])).status).toBe(400);
    expect(await post(distanceUrl, 'call', ['abc', 'a'])).toEqual({ status: 200, body: 2 });
    expect(await post(distanceUrl, 'call', ['abc', 'a'], 'msgpack')).toEqual({ status: 200, body: 2 });
  });

  it('checks the count first (TL_ARGUMENT_COUNT)', async () => {
    const reply = await post(distanceUrl, 'call', [1]);
    expect(reply.status).toBe(400);
    expect(error(reply)).toEqual({ code: 'TL_ARGUMENT_COUNT', message: 'distance takes 2 arguments, got 1' });
  });

  it('names the path inside an argument', async () => {
    const points = [
      { x: 1, y: 1 },
      { x: 2, y: 2 },
      { x: 3, y: 3 },
      { x: 'four', y: 4 },
    ];
    expect(error(await post(services.spread.url, 'call', [points]))).toEqual({
      code: 'TL_BAD_ARGUMENTS',
      message: 'spread: argument 1 (points)/3/x must be number, got string',
    });
    expect(error(await post(services.spread.url, 'call', [[{ x: 1 }]])).message).toBe('spread: argument 1 (points)/0 must have the property "y"');
    expect(error(await post(services.spread.url, 'call', [[{ x: 1, y: 1, z: 1 }]])).message).toBe(
      'spread: argument 1 (points)/0 must not have the property "z"',
    );
    expect(await post(services.spread.url, 'call', [points.slice(0, 3)])).toEqual({ status: 200, body: 2 });
  });

  it('says which branch of a union failed, or lists the branches when none came close', async () => {
    const { url } = services.locate;
    expect(await post(url, 'call', [null])).toEqual({ status: 200, body: 'nowhere' });
    expect(await post(url, 'call', [{ x: 1, y: 2 }])).toEqual({ status: 200, body: '1,2' });
    expect(error(await post(url, 'call', [{ x: 1, y: '2' }])).message).toBe('locate: argument 1 (point)/y must be number, got string');
    expect(error(await post(url, 'call', [{ x: 1 }])).message).toBe('locate: argument 1 (point) must have the property "y"');
    expect(error(await post(url, 'call', ['1,2'])).message).toBe('locate: argument 1 (point) must be null or Point, got string');
  });

  it('passes a Map, a Set, a Date, a Buffer and a bigint, as the same types', async () => {
    const args = [
      new Map([
        ['a', 2],
        ['b', 3],
      ]),
      new Set(['x']),
      new Date('2024-05-06T00:00:00Z'),
      Buffer.from([1, 2, 3]),
      2n ** 70n,
    ];
    expect(await post(services.inventory.url, 'call', args, 'msgpack')).toEqual({
      status: 200,
      body: { total: 5, tagged: true, year: 2024, bytes: 0x0102, next: 2n ** 70n + 1n },
    });
  });

  it.each([
    ['an object for a Map', 0, { a: 2 }, 'argument 1 (counts) must be Map, got object'],
    ['an array for a Set', 1, ['x'], 'argument 2 (tags) must be Set, got array'],
    ['a string for a Date', 2, '2024-05-06T00:00:00Z', 'argument 3 (at) must be Date, got string'],
    ['an array of numbers for a Buffer', 3, [1, 2, 3], 'argument 4 (data) must be Uint8Array, got array'],
    ['a number for a bigint', 4, 5, 'argument 5 (big) must be bigint, got number'],
    ['a Map for a Set', 1, new Map(), 'argument 2 (tags) must be Set, got Map'],
  ])('refuses %s', async (_, index, value, message) => {
    const args: unknown[] = [new Map([['a', 2]]), new Set(['x']), new Date(0), Buffer.from([1, 2]), 1n];
    args[index] = value;
    const reply = await post(services.inventory.url, 'call', args, 'msgpack');
    expect(reply.status).toBe(400);
    expect(error(reply)).toEqual({ code: 'TL_BAD_ARGUMENTS', message: `inventory: ${message}` });
  });

  it('leaves an optional parameter out, or takes undefined (msgpack) or null (JSON) in its place', async () => {
    const { url } = services.greet;
    expect(await post(url, 'call', ['ada'])).toEqual({ status: 200, body: 'hello ada.' });
    expect(await post(url, 'call', ['ada', '!'])).toEqual({ status: 200, body: 'hello ada!' });
    expect(await post(url, 'call', ['ada', null])).toEqual({ status: 200, body: 'hello ada.' });
    expect(await post(url, 'call', ['ada', undefined], 'msgpack')).toEqual({ status: 200, body: 'hello ada.' });
    expect(error(await post(url, 'call', ['ada', 5]))).toEqual({
      code: 'TL_BAD_ARGUMENTS',
      message: 'greet: argument 2 (punctuation) must be string or undefined or null, got number',
    });
    // undefined is no string: a msgpack undefined for the required name is refused.
    expect(error(await post(url, 'call', [undefined], 'msgpack')).message).toBe('greet: argument 1 (name) must be string, got undefined');
  });

  it('checks each argument of a rest parameter, naming its index', async () => {
    const { url } = services.sum;
    expect(await post(url, 'call', [])).toEqual({ status: 200, body: 0 });
    expect(await post(url, 'call', [1, 2, 3])).toEqual({ status: 200, body: 6 });
    expect(error(await post(url, 'call', [1, 2, 'three', 4]))).toEqual({
      code: 'TL_BAD_ARGUMENTS',
      message: 'sum: argument 3 (xs[2]) must be number, got string',
    });
    expect(error(await post(url, 'call', [1, 2, 3, 4n], 'msgpack')).message).toBe('sum: argument 4 (xs[3]) must be number, got bigint');
  });

  it.each(['json', 'msgpack'] as const)('refuses a map batch with one bad input over %s, naming the input', async (as) => {
    const reply = await post(
      distanceUrl,
      'map',
      [
        ['a', 'bb'],
        ['c', 3],
        ['d', 'e'],
      ],
      as,
    );
    expect(reply.status).toBe(400);
    expect(error(reply)).toEqual({ code: 'TL_BAD_ARGUMENTS', message: 'input 1: distance: argument 2 (b) must be string, got number' });
    expect(
      await post(
        distanceUrl,
        'map',
        [
          ['a', 'bb'],
          ['ccc', ''],
        ],
        as,
      ),
    ).toEqual({ status: 200, body: [{ v: 1 }, { v: 3 }] });
  });

  it('checks nothing without the option', async () => {
    expect(normalizeServeOptions(echo, { arity: 1 }).parameters).toBeUndefined();
    expect(await post(services.echo.url, 'call', [42])).toEqual({ status: 200, body: { thread: threadId, kind: 'number' } });
    expect(await post(services.echo.url, 'call', ['42'])).toEqual({ status: 200, body: { thread: threadId, kind: 'string' } });
  });
});

describe('the parameters option', () => {
  const normalize = (parameters: unknown) => () => normalizeServeOptions(sum, { name: 'sum', parameters: parameters as ParameterSchema[] }, {});

  it.each([
    ['not an array', { a: 1 }, 'serve(sum): the parameters option must be an array of { name, schema, rest? }, got object'],
    [
      'a rest parameter not last',
      [
        { name: 'xs', schema: {}, rest: true },
        { name: 'b', schema: {} },
      ],
      'serve(sum): parameters[0] (xs) is a rest parameter but not the last one',
    ],
    ['a parameter without a name', [{ schema: {} }], 'serve(sum): parameters[0] needs a name (a non-empty string), got undefined'],
    [
      'a schema that is not one',
      [{ name: 'a', schema: 'string' }],
      'serve(sum): parameters[0] (a) needs a schema (a JSON Schema object or a boolean), got string',
    ],
    ['a rest flag that is not a boolean', [{ name: 'a', schema: {}, rest: 'yes' }], 'serve(sum): parameters[0] (a): rest must be a boolean, got string'],
  ])('refuses %s', (_, parameters, message) => {
    expect(normalize(parameters)).toThrow(new TypeError(message));
  });

  it.each([
    ['an unknown instanceOf name', { instanceOf: 'WeakMap' }],
    ['an unknown keyword', { type: 'string', minLenght: 2 }],
    ['an unknown type', { type: 'text' }],
  ])('refuses a schema with %s when it is compiled, at serve', (_, schema) => {
    expect(normalize([{ name: 'a', schema }])).toThrow(/^serve\(sum\): the schema of parameters\[0\] \(a\) is not valid: /);
  });

  it('refuses a value nested deeper than it can check with TL_BAD_ARGUMENTS, not a crash', () => {
    const list = { $ref: '#/definitions/List', definitions: { List: { type: 'object', properties: { next: { $ref: '#/definitions/List' } } } } };
    const { parameters } = normalizeServeOptions(sum, { name: 'walk', parameters: [{ name: 'list', schema: list }] }, {});
    let deep: { next?: unknown } = {};
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    expect(() => parameters!.check([deep])).toThrow(
      expect.objectContaining({ code: 'TL_BAD_ARGUMENTS', message: 'walk: argument 1 (list) is nested too deeply to check' }),
    );
    expect(() => parameters!.check([{ next: { next: 1 } }])).toThrow('walk: argument 1 (list)/next/next must be object, got number');
  });

  it('keeps what was given, frozen, and compiles only where calls run', () => {
    const given = [{ name: 'xs', schema: { type: 'number' }, rest: true }];
    const inline = normalizeServeOptions(sum, { parameters: given }, {});
    expect(inline.parameters?.parameters).toEqual(given);
    expect(Object.isFrozen(inline.parameters?.parameters)).toBe(true);
    // With a pool, the main thread leaves the schemas to the workers: a bad one is not compiled here.
    expect(() =>
      normalizeServeOptions(sum, { workers: 1, entry: __filename, parameters: [{ name: 'a', schema: { instanceOf: 'WeakMap' } }] }, {}),
    ).not.toThrow();
  });
});

describe('argument check in a pool worker (real service process)', () => {
  let dir: string;
  let service: ChildService | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turbolift-parameters-'));
    const entry = join(dir, 'checked-service.ts');
    const runtime = join(__dirname, '..', 'index').replace(/\\/g, '/');
    writeFileSync(
      entry,
      `import { threadId } from 'node:worker_threads';
import { serve } from ${JSON.stringify(runtime)};
function scale(factor: number, values: Map<string, number>) {
  return { thread: threadId, scaled: [...values].map(([key, value]) => [key, value * factor]) };
}
void serve(scale, {
  name: 'scale',
  arity: 2,
  parameters: [
    { name: 'factor', schema: { type: 'number' } },
    { name: 'values', schema: { instanceOf: 'Map' } },
  ],
});
`,
    );
    service = await startChildService(entry, { TURBOLIFT_WORKERS: '1', [AUTH.authEnv]: 'off' });
  }, 60_000);
  afterAll(async () => {
    service?.dispose();
    rmSync(dir, { recursive: true, force: true });
    await closeConnections();
  });

  it('refuses bad arguments from the worker and serves good ones there', async () => {
    const { url } = service!;
    expect(service!.output()).toContain('1 worker');
    const bad = await post(url, 'call', [2, { a: 1 }]);
    expect(bad.status).toBe(400);
    expect(error(bad)).toEqual({ code: 'TL_BAD_ARGUMENTS', message: 'scale: argument 2 (values) must be Map, got object' });
    expect(
      error(
        await post(
          url,
          'map',
          [
            [2, new Map()],
            ['2', new Map()],
          ],
          'msgpack',
        ),
      ),
    ).toEqual({
      code: 'TL_BAD_ARGUMENTS',
      message: 'input 1: scale: argument 1 (factor) must be number, got string',
    });
    const good = await post(url, 'call', [2, new Map([['a', 1]])], 'msgpack');
    expect(good.status).toBe(200);
    const body = good.body as { thread: number; scaled: unknown };
    // Not the main thread (0): the call ran, and so was checked, in the worker.
    expect(body.thread).not.toBe(0);
    expect(body.scaled).toEqual([['a', 2]]);
  });
});
