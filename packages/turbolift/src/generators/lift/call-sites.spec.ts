import * as ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { whyCallCannotAwait, whyValueUse } from './call-sites';

/** Each use of the identifier `fn` in `code`: the reason a call cannot await (undefined when it can), or why a value use is one. */
function reasons(code: string, file = 'apps/web/src/page.tsx'): Array<string | undefined> {
  const sf = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: Array<string | undefined> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'fn' && !ts.isImportSpecifier(node.parent)) {
      const parent = node.parent;
      found.push(ts.isCallExpression(parent) && parent.expression === node ? whyCallCannotAwait(parent, file) : whyValueUse(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('why a use of the lifted function cannot await it', () => {
  it('accepts calls in async functions, arrows and methods', () => {
    expect(reasons('async function a() { return fn(1); }\nconst b = async () => fn(2);\nclass C { async m() { return fn(3); } }')).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('names the synchronous function, the variable an arrow is assigned to, or the call a callback is passed to', () => {
    expect(reasons('function total() { return fn(1); }\nconst doubled = () => fn(2) * 2;\n[1].forEach((x) => fn(x));', 'libs/a/src/a.ts')).toEqual([
      'in synchronous function total',
      'in synchronous function doubled',
      'in synchronous function (callback passed to forEach)',
    ]);
  });

  it('names class field initializers, getters, setters, constructors and static blocks, which can never be async', () => {
    const code = [
      'class Cart {',
      '  total = fn(1);',
      '  get sum() { return fn(2); }',
      '  set sum(v: number) { fn(v); }',
      '  constructor() { fn(3); }',
      '  static { fn(4); }',
      '}',
    ].join('\n');
    expect(reasons(code, 'libs/a/src/cart.ts')).toEqual([
      'in a class field initializer (Cart.total)',
      'in a getter (sum)',
      'in a setter (sum)',
      'in a constructor (class Cart)',
      'in a static initialization block of class Cart',
    ]);
  });

  it('names JSX render code, default parameter values, generators and the top level of a module', () => {
    expect(reasons('export function Total() { const t = fn(1); return <b>{t}</b>; }\nconst Row = () => <i>{fn(2)}</i>;')).toEqual([
      'in JSX render code of Total',
      'in JSX render code of Row',
    ]);
    expect(reasons('async function f(x = fn(1)) { return x; }\nfunction* g() { yield fn(2); }\nconst top = fn(3);', 'libs/a/src/a.ts')).toEqual([
      'in a default parameter value of f',
      'in generator function g',
      'at the top level of the module (awaiting there would hold up every module that imports it)',
    ]);
    expect(reasons('const top = fn(3);', 'libs/a/src/a.cts')).toEqual(['at the top level of a CommonJS module']);
  });

  it('says when a synchronous caller is in a spec file', () => {
    expect(reasons("it('adds', () => { expect(fn(1)).toBe(1); });", 'libs/a/src/a.spec.ts')).toEqual([
      'in synchronous function (callback passed to it) (a spec file)',
    ]);
  });

  it('says what a use as a value does with the function', () => {
    const code = [
      'const selected = store.select(fn, 1);',
      'const mapped = [1].map(fn);',
      'const alias = fn;',
      'const handlers = { total: fn, fn };',
      'const list = [fn];',
      'const made = new Worker(fn);',
      'function pick() { return fn; }',
      'const name = fn.name;',
    ].join('\n');
    expect(reasons(code, 'libs/a/src/a.ts')).toEqual([
      'used as a value: passed to select',
      'used as a value: passed to map',
      'used as a value: assigned to alias',
      'used as a value: stored in property total',
      'used as a value: stored in property fn',
      'used as a value: stored in an array',
      'used as a value: passed to new Worker',
      'used as a value: returned',
      'used as a value: its name is used',
    ]);
    expect(reasons('export const Btn = () => <button onClick={fn}>go</button>;')).toEqual(['used as a value: passed as JSX attribute onClick']);
  });
});
