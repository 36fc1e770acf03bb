import { posix } from 'node:path';
import * as ts from 'typescript';
import { hasModifier, type FilePart, type ImportBinding, type LiftPlan } from './analyze';
import { withoutLiftTag } from './text-edits';

export interface LibraryLayout {
  /** Workspace-relative folder the mirrored paths are taken relative to (the project's source root). */
  base: string;
  /** Workspace-relative path of each source file, as the plan's files know them. */
  pathOf: (sf: ts.SourceFile) => string;
  /** '.js' when the library's modules import each other with extensions (ESM, nodenext), else ''. */
  importExtension: '' | '.js';
  /** Workspace-relative path of the library's src/ folder. */
  librarySrc: string;
}

export interface LibraryFiles {
  /** Paths relative to the library's `src/`, e.g. `lib/functions.ts`. */
  files: Map<string, string>;
  /** The library's `src/index.ts`. */
  index: string;
}

/**
 * Where a project file lands inside the library's src/: its path below the project's source root, inside `lib/`.
 * A library project keeps its sources in `src/lib/` already; that folder is the library's `lib/`, not a second one.
 */
function mirrorPath(layout: LibraryLayout, sf: ts.SourceFile): string {
  const path = layout.pathOf(sf);
  const rel = path.startsWith(layout.base + '/') ? path.slice(layout.base.length + 1) : posix.basename(path);
  return rel.startsWith('lib/') ? rel : `lib/${rel}`;
}

function specifierBetween(fromMirror: string, toMirror: string, extension: string): string {
  let rel = posix.relative(posix.dirname(fromMirror), toMirror).replace(/\.(ts|tsx|mts|cts)$/, '');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel + extension;
}

function renderExternalImport(declaration: ts.ImportDeclaration, bindings: Set<ImportBinding>, specifier = declaration.moduleSpecifier.getText()): string {
  const clause = declaration.importClause;
  // A bare `import 'x'` binds nothing, so it is never among the bindings a part keeps.
  if (!clause) return `import ${specifier};`;
  const parts: string[] = [];
  if (clause.name && bindings.has(clause)) parts.push(clause.name.text);
  const named = clause.namedBindings;
  if (named && ts.isNamespaceImport(named) && bindings.has(named)) parts.push(named.getText());
  if (named && ts.isNamedImports(named)) {
    const kept = named.elements.filter((e) => bindings.has(e)).map((e) => e.getText());
    if (kept.length) parts.push(`{ ${kept.join(', ')} }`);
  }
  return `import ${clause.isTypeOnly ? 'type ' : ''}${parts.join(', ')} from ${specifier};`;
}

function renderInternalImports(part: FilePart, layout: LibraryLayout): string[] {
  const byTarget = new Map<ts.SourceFile, { defaults: string[]; named: string[]; namespaces: string[] }>();
  for (const entry of part.internalImports.values()) {
    const group = byTarget.get(entry.targetFile) ?? { defaults: [], named: [], namespaces: [] };
    if (entry.kind === 'namespace') group.namespaces.push(entry.local);
    else if (entry.kind === 'default') group.defaults.push(entry.local);
    else group.named.push(`${entry.typeOnly ? 'type ' : ''}${entry.exportName === entry.local ? entry.local : `${entry.exportName} as ${entry.local}`}`);
    byTarget.set(entry.targetFile, group);
  }
  const from = mirrorPath(layout, part.sourceFile);
  const lines: string[] = [];
  for (const [target, group] of byTarget) {
    const specifier = `'${specifierBetween(from, mirrorPath(layout, target), layout.importExtension)}'`;
    for (const ns of group.namespaces) lines.push(`import * as ${ns} from ${specifier};`);
    const head = group.defaults[0];
    if (head || group.named.length) {
      lines.push(`import ${[head, group.named.length ? `{ ${group.named.join(', ')} }` : undefined].filter(Boolean).join(', ')} from ${specifier};`);
    }
    for (const extra of group.defaults.slice(1)) lines.push(`import ${extra} from ${specifier};`);
  }
  return lines;
}

/** A statement's text with its JSDoc, `@lift` removed, and `export` added when another file (or the index) needs it. */
function renderStatement(statement: ts.Statement, sf: ts.SourceFile, addExport: boolean, isLifted: boolean): string {
  // line comments right above a declaration describe it: they travel with it
  const comments = ts.getLeadingCommentRanges(sf.text, statement.getFullStart()) ?? [];
  const firstComment = comments.find((c) => !sf.text.startsWith('/**', c.pos));
  const fullStart =
    firstComment && firstComment.pos < statement.getStart(sf, true) && sf.statements[0] !== statement ? firstComment.pos : statement.getStart(sf, true);
  const codeStart = statement.getStart(sf, false);
  let leading = sf.text.slice(fullStart, codeStart);
  if (isLifted) {
    const docs = ((statement as unknown as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []).map((d) => withoutLiftTag(d.getText(sf))).filter(Boolean);
    leading = sf.text.slice(fullStart, statement.getStart(sf, true)) + (docs.length ? docs.join('\n') + '\n' : '');
  }
  const code = sf.text.slice(codeStart, statement.end);
  return `${leading}${addExport ? 'export ' : ''}${code}`;
}

/** Renders the library's sources: every contributing project file mirrored with just what the function needs. */
export function renderLibraryFiles(plan: LiftPlan, layout: LibraryLayout): LibraryFiles {
  const files = new Map<string, string>();
  for (const part of plan.parts) {
    const sf = part.sourceFile;
    const imports: string[] = [];
    for (const declaration of sf.statements.filter(ts.isImportDeclaration)) {
      const bindings = part.externalBindings.get(declaration);
      if (!bindings?.size) continue;
      const outside = part.outsideFiles.get(declaration);
      const specifier =
        outside && `'${specifierBetween(posix.join(layout.librarySrc, mirrorPath(layout, sf)), layout.pathOf(outside), layout.importExtension)}'`;
      imports.push(renderExternalImport(declaration, bindings, specifier));
    }
    imports.push(...renderInternalImports(part, layout));
    const body: string[] = [];
    for (const statement of sf.statements) {
      if (!part.statements.has(statement)) continue;
      const isLifted = statement === plan.statement;
      const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
      const addExport = !exported && (part.needsExport.has(statement) || isLifted);
      body.push(renderStatement(statement, sf, addExport, isLifted));
    }
    files.set(mirrorPath(layout, sf), `${imports.length ? imports.join('\n') + '\n\n' : ''}${body.join('\n\n')}\n`);
  }
  const own = specifierBetween('index.ts', mirrorPath(layout, plan.sourceFile), layout.importExtension);
  const isDefault = hasModifier(plan.statement, ts.SyntaxKind.DefaultKeyword);
  const index = isDefault ? `export { default as ${plan.name} } from '${own}';\n` : `export { ${plan.name} } from '${own}';\n`;
  return { files, index };
}
