/**
 * How many arguments a served function accepts. `fn.length` counts the parameters before the first
 * default or rest parameter, and TypeScript's optional parameters (`b?: T`) count too although callers
 * may leave them out. So by default: any count from 0 up to `fn.length`, and no upper bound when the
 * parameter list has a default or rest parameter. `arity` in the options makes it exact.
 */
export interface ArityRange {
  min: number;
  max: number;
}

export type ArityOption = number | { min?: number; max?: number };

export function normalizeArity(fn: (...args: never[]) => unknown, option: ArityOption | undefined, fnName: string): ArityRange {
  if (option === undefined) return { min: 0, max: hasDefaultOrRestParameter(fn) ? Infinity : fn.length };
  const range = typeof option === 'number' ? { min: option, max: option } : { min: option.min ?? 0, max: option.max ?? Infinity };
  if (!(range.min >= 0 && range.max >= range.min) || !Number.isInteger(range.min) || !(Number.isInteger(range.max) || range.max === Infinity)) {
    throw new TypeError(`serve(${fnName}): arity ${JSON.stringify(option)} is not a count or a {min, max} range`);
  }
  return range;
}

/** Looks for `=` or `...` at the top level of the parameter list in the function's source text. */
export function hasDefaultOrRestParameter(fn: (...args: never[]) => unknown): boolean {
  const source = Function.prototype.toString.call(fn);
  const open = source.indexOf('(');
  const arrow = source.indexOf('=>');
  // `x => x`: a single plain parameter without parentheses.
  if (open === -1 || (arrow !== -1 && arrow < open)) return false;
  let depth = 0;
  let quote = '';
  for (let i = open + 1; i < source.length; i++) {
    const char = source[i];
    if (quote) {
      if (char === '\\') i++;
      else if (char === quote) quote = '';
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') {
      if (depth === 0) return false;
      depth--;
    } else if (depth === 0 && (char === '=' || source.startsWith('...', i))) return true;
  }
  return false;
}
