// The longest functions in src/ (lines from signature to closing brace), for the structure's health:
// npx tsx scripts/longest-functions.ts [N]
import ts from 'typescript';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const walk = (d: string): string[] => readdirSync(d).flatMap((e) => (statSync(path.join(d, e)).isDirectory() ? walk(path.join(d, e)) : e.endsWith('.ts') ? [path.join(d, e)] : []));
const rows: { name: string; lines: number }[] = [];
for (const file of walk('src')) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const visit = (n: ts.Node, owner: string) => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && n.body) {
      const name = (n as ts.FunctionDeclaration).name?.getText(sf) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(sf) : `${owner}:<anonymous>`);
      const lines = sf.getLineAndCharacterOfPosition(n.getEnd()).line - sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      rows.push({ name: `${file}:${name}`, lines });
      ts.forEachChild(n, (c) => visit(c, name));
      return;
    }
    ts.forEachChild(n, (c) => visit(c, owner));
  };
  visit(sf, '');
}
rows.sort((a, b) => b.lines - a.lines);
for (const r of rows.slice(0, Number(process.argv[2] ?? 10))) console.log(`${String(r.lines).padStart(4)}  ${r.name}`);
