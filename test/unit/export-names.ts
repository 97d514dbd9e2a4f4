/**
 * What a module's source exports, read syntactically with the TypeScript parser (no type checking): value names,
 * type-only names, and the count of `export *` clauses. Used by the public-surface tests.
 */
import fs from 'node:fs';
import ts from 'typescript';

export interface ExportNames {
  values: Set<string>;
  types: Set<string>;
  /** `export * from …` clauses (a curated entry point has none). */
  stars: number;
}

const hasExportModifier = (node: ts.Node) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/**
 * The names a TypeScript module exports, split into values and type-only names.
 *
 * @example
 * exportNames('src/index.ts').values.has('compile'); // true
 */
export function exportNames(file: string): ExportNames {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: ExportNames = { values: new Set(), types: new Set(), stars: 0 };
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (clause === undefined) out.stars++;
      else if (ts.isNamespaceExport(clause)) (statement.isTypeOnly ? out.types : out.values).add(clause.name.text);
      else for (const el of clause.elements) (statement.isTypeOnly || el.isTypeOnly ? out.types : out.values).add(el.name.text);
    } else if (hasExportModifier(statement)) {
      const named = statement as ts.Node & { name?: ts.Identifier };
      if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) out.types.add(statement.name.text);
      else if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) out.values.add(d.name.text);
      } else if (named.name !== undefined) out.values.add(named.name.text);
    }
  }
  return out;
}

/**
 * Names imported from `specifier` by the ```ts code blocks of a Markdown file (`type` markers dropped).
 *
 * @example
 * readmeImports(readme, 'darboux'); // ['parse', 'compile', …]
 */
export function readmeImports(markdown: string, specifier: string): string[] {
  const names: string[] = [];
  for (const block of markdown.matchAll(/```ts\n([\s\S]*?)```/g)) {
    for (const m of block[1]!.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
      if (m[2] !== specifier) continue;
      for (const part of m[1]!.split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim();
        if (name !== '') names.push(name);
      }
    }
  }
  return names;
}
