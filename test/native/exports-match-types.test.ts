// The addon's surface is written twice: the exports.Set calls of native/ and the NativeAddon
// interface of lib/native/types.ts. This checks that they agree, name for name, so that neither
// a function the C++ stopped exporting nor one TypeScript cannot see goes unnoticed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { native } from '../../lib/native/binding';

const TYPES = path.join(__dirname, '..', '..', 'lib', 'native', 'types.ts');

/** Members of NativeAddon: every declaration of it (merged) and the interfaces they extend. */
function declaredMembers(): Set<string> {
  const src = ts.createSourceFile(TYPES, fs.readFileSync(TYPES, 'utf8'), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration[]>();
  src.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, [...(interfaces.get(n.name.text) ?? []), n]);
  });
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const decls = interfaces.get(name);
    if (decls === undefined) throw new Error(`${TYPES}: NativeAddon extends ${name}, which the file does not declare`);
    for (const d of decls) {
      for (const m of d.members) if (m.name !== undefined && ts.isIdentifier(m.name)) names.add(m.name.text);
      for (const h of d.heritageClauses ?? []) for (const t of h.types) visit(t.expression.getText(src));
    }
  };
  visit('NativeAddon');
  return names;
}

describe('the addon and lib/native/types.ts', () => {
  const declared = declaredMembers();
  const exported = new Set(Object.keys(native));

  it('declares a good number of members (the parser found the interface)', () => {
    expect(declared.size).toBeGreaterThan(50);
  });

  it('exports every function types.ts declares', () => {
    expect([...declared].filter((n) => !exported.has(n)).sort()).toEqual([]);
  });

  it('declares every function the addon exports', () => {
    expect([...exported].filter((n) => !declared.has(n)).sort()).toEqual([]);
  });
});
