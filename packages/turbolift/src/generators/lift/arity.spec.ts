import * as ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parameterArity } from './analyze';

const arityOf = (source: string) => {
  const file = ts.createSourceFile('f.ts', source, ts.ScriptTarget.Latest, true);
  const fn = file.statements.find(ts.isFunctionDeclaration);
  if (!fn) throw new Error('no function in the source');
  return parameterArity(fn);
};

describe('parameterArity', () => {
  it('requires every parameter without ? or a default, and takes no more than declared', () => {
    expect(arityOf('function distance(a: string, b: string) {}')).toEqual({ min: 2, max: 2 });
    expect(arityOf('function none() {}')).toEqual({ min: 0, max: 0 });
  });

  it('leaves optional and default parameters optional', () => {
    expect(arityOf('function pad(text: string, width = 8, fill?: string) {}')).toEqual({ min: 1, max: 3 });
    expect(arityOf('function f({ a }: { a: number } = { a: 1 }) {}')).toEqual({ min: 0, max: 1 });
  });

  it('has no upper bound with a rest parameter, and does not count `this`', () => {
    expect(arityOf('function sum(this: void, first: number, ...rest: number[]) {}')).toEqual({ min: 1 });
    expect(arityOf('function g(this: Window, a: number) {}')).toEqual({ min: 1, max: 1 });
  });

  it('counts a parameter that may be undefined but has no ? as required, as TypeScript does', () => {
    expect(arityOf('function h(a: number | undefined, b?: number) {}')).toEqual({ min: 1, max: 2 });
  });
});
