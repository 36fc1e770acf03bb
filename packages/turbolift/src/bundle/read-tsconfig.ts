/**
 * Thin reader: what TypeScript itself makes of a tsconfig file, `extends` chains included (relative files,
 * arrays, packages such as `@tsconfig/node20`), so the bundle follows the same rules as the workspace's compiler.
 * Only the options are wanted: the host lists no files, so nothing is globbed.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type * as TypeScript from 'typescript';
import type { TsconfigFacts } from './resolution';

/** Loaded on first use: a bundle that needs no tsconfig does not pay for the compiler. */
let typescript: typeof TypeScript | undefined;
const loadTypeScript = (): typeof TypeScript => (typescript ??= require('typescript') as typeof TypeScript);

/** The facts of each file that exists, in the order given. */
export function readTsconfigFacts(files: readonly string[]): TsconfigFacts[] {
  return files.filter((file) => existsSync(file)).map(readOne);
}

function readOne(file: string): TsconfigFacts {
  const ts = loadTypeScript();
  const read = ts.readConfigFile(file, ts.sys.readFile);
  // A file TypeScript cannot read says nothing; the next candidate decides.
  if (read.error || typeof read.config !== 'object' || read.config === null) return { file };
  const host: TypeScript.ParseConfigHost = {
    useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames,
    readDirectory: () => [],
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
  };
  const parsed = ts.parseJsonConfigFileContent(read.config, host, dirname(file), undefined, file);
  const conditions = parsed.options.customConditions;
  return Array.isArray(conditions) ? { file, customConditions: conditions } : { file };
}
