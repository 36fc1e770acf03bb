import * as ts from 'typescript';
import { lineOf } from './marked-functions';
import type { FilePart } from './analyze';
import { importDeclarationOf } from './import-bindings';

const FS_MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises']);
const FS_WRITES = new Set([
  'writeFile',
  'writeFileSync',
  'appendFile',
  'appendFileSync',
  'mkdir',
  'mkdirSync',
  'rm',
  'rmSync',
  'rmdir',
  'rmdirSync',
  'unlink',
  'unlinkSync',
  'rename',
  'renameSync',
  'copyFile',
  'copyFileSync',
  'cp',
  'cpSync',
  'createWriteStream',
  'truncate',
  'truncateSync',
  'chmod',
  'chmodSync',
  'symlink',
  'symlinkSync',
  'mkdtemp',
  'mkdtempSync',
]);
const NETWORK_MODULES: Record<string, Set<string> | 'all'> = {
  http: new Set(['request', 'get', 'createServer']),
  https: new Set(['request', 'get', 'createServer']),
  net: new Set(['connect', 'createConnection', 'createServer', 'Socket']),
  dgram: new Set(['createSocket']),
  tls: new Set(['connect']),
  http2: new Set(['connect']),
  undici: 'all',
  axios: 'all',
  'node-fetch': 'all',
};

function moduleOfImport(checker: ts.TypeChecker, id: ts.Identifier): { module: string; imported: string } | undefined {
  const symbol = checker.getSymbolAtLocation(id);
  const decl = symbol?.declarations?.[0];
  if (!decl) return undefined;
  const importDeclaration = importDeclarationOf(decl);
  const imported = ts.isImportSpecifier(decl) ? (decl.propertyName ?? decl.name).text : '*';
  if (!importDeclaration || !ts.isStringLiteral(importDeclaration.moduleSpecifier)) return undefined;
  return { module: importDeclaration.moduleSpecifier.text, imported };
}

function stripNodePrefix(module: string): string {
  return module.replace(/^node:/, '');
}

/** A call or write with an obvious effect outside the function, described for a warning; undefined otherwise. */
function describeEffect(checker: ts.TypeChecker, node: ts.Node): string | undefined {
  if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
    const callee = node.expression;
    if (ts.isIdentifier(callee)) {
      if (callee.text === 'fetch' && !checker.getSymbolAtLocation(callee)?.declarations?.some((d) => !d.getSourceFile().isDeclarationFile))
        return 'network call fetch()';
      const origin = moduleOfImport(checker, callee);
      if (origin && FS_MODULES.has(origin.module) && FS_WRITES.has(origin.imported)) return `file system write ${origin.imported}()`;
      const network = origin && NETWORK_MODULES[stripNodePrefix(origin.module)];
      if (network && (network === 'all' || network.has(origin.imported))) return `network call ${callee.text}() from ${origin.module}`;
    }
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
      const origin = moduleOfImport(checker, callee.expression);
      const method = callee.name.text;
      if (origin && FS_MODULES.has(origin.module) && FS_WRITES.has(method)) return `file system write ${callee.expression.text}.${method}()`;
      if (origin && origin.imported === 'promises' && FS_MODULES.has(origin.module) && FS_WRITES.has(method))
        return `file system write ${callee.expression.text}.${method}()`;
      const network = origin && NETWORK_MODULES[stripNodePrefix(origin.module)];
      if (network && (network === 'all' || network.has(method))) return `network call ${callee.expression.text}.${method}()`;
    }
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
    const target = node.left;
    if (isProcessEnvAccess(target)) return `write to process.env (${target.getText()})`;
    if ((ts.isPropertyAccessExpression(target) || ts.isElementAccessExpression(target)) && ts.isIdentifier(target.expression)) {
      const base = target.expression;
      if (base.text === 'globalThis' || base.text === 'global') return `write to global state (${target.getText()})`;
      if (moduleOfImport(checker, base)) return `mutation of module-level state imported from another module (${target.getText()})`;
    }
  }
  if (ts.isDeleteExpression(node) && isProcessEnvAccess(node.expression)) return `write to process.env (${node.expression.getText()})`;
  return undefined;
}

function isProcessEnvAccess(node: ts.Node): boolean {
  if (!ts.isPropertyAccessExpression(node) && !ts.isElementAccessExpression(node)) return false;
  const base = node.expression;
  return ts.isPropertyAccessExpression(base) && ts.isIdentifier(base.expression) && base.expression.text === 'process' && base.name.text === 'env';
}

/** Warnings naming every call/write in the lifted code with an obvious side effect (console output is fine). */
export function findSideEffects(program: ts.Program, name: string, parts: FilePart[], fileName: (sf: ts.SourceFile) => string): string[] {
  const checker = program.getTypeChecker();
  const warnings: string[] = [];
  for (const part of parts) {
    for (const statement of part.statements) {
      const visit = (node: ts.Node): void => {
        const effect = describeEffect(checker, node);
        if (effect)
          warnings.push(
            `${fileName(part.sourceFile)}:${lineOf(part.sourceFile, node).line} ${name} performs a ${effect}; ` +
              'once lifted it happens in the service process, not in the caller',
          );
        ts.forEachChild(node, visit);
      };
      visit(statement);
    }
  }
  return warnings;
}
