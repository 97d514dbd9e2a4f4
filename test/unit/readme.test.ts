/**
 * The README's TypeScript examples run as written: every ```ts block (not the ```ts sketch blocks, which list
 * contracts with placeholder values) is written to a module with its `darboux` imports pointed at src/, and
 * imported; the values its comments promise are checked where a block states them.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const scratch = path.join(root, 'test', '.readme-blocks');

/** The fenced blocks of the README with their info strings and first line numbers. */
function fencedBlocks(text: string): { info: string; code: string; line: number }[] {
  const blocks: { info: string; code: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    blocks.push({ info: `${open[1]} ${open[2]}`.trim(), code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** Points the block's `darboux` and `darboux/internals` imports at the sources. */
function pointAtSources(code: string): string {
  const src = (file: string) => JSON.stringify(pathToFileURL(path.join(root, 'src', file)).href);
  return code.replace(/from 'darboux\/internals'/g, `from ${src('internals.ts')}`).replace(/from 'darboux'/g, `from ${src('index.ts')}`);
}

const runnable = fencedBlocks(readme).filter((b) => b.info === 'ts');

describe('README examples', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('has runnable TypeScript examples (the quick example and the DSL one at least)', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(2);
    expect(runnable.some((b) => b.code.includes('symplecticDefect(J)'))).toBe(true);
  });

  for (const block of runnable) {
    it(`the block at README.md line ${block.line} runs`, async () => {
      mkdirSync(scratch, { recursive: true });
      const file = path.join(scratch, `block-${block.line}.ts`);
      // Each block exports what it defined so the test can check the values its comments state.
      const names = [...block.code.matchAll(/^(?:const|let) (?:\{ ([^}]+) \}|(\w+))/gm)].flatMap((m) =>
        m[1] !== undefined ? m[1].split(',').map((s) => s.trim().split(':').pop()!.trim()) : [m[2]!],
      );
      writeFileSync(file, `${pointAtSources(block.code)}\nexport { ${names.join(', ')} };\n`);
      const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      if (block.code.includes('symplecticDefect(J)')) {
        const { symplecticDefect } = await import('../../src/index.js');
        const h = module.h as { isSeparable: boolean; dof: number };
        expect(h.isSeparable).toBe(true);
        expect(h.dof).toBe(2);
        expect(symplecticDefect(module.J as Float64Array)).toBeLessThan(1e-13);
        expect((module.q as Float64Array).length).toBe(4);
        expect((module.p as Float64Array).every(Number.isFinite)).toBe(true);
      }
      if (block.code.includes('params: { lam }')) {
        // The parameter sweep: 256 trajectories, each with its own λ and its own derivative.
        const sweep = module.sweep as { q: Float64Array };
        expect(sweep.q.length).toBe(512);
        expect(sweep.q.every(Number.isFinite)).toBe(true);
        const dlam = (module.grads as { dparams: Record<string, unknown> }).dparams.lam as Float64Array;
        expect(dlam).toBeInstanceOf(Float64Array);
        expect(dlam.length).toBe(256);
        expect(new Set(dlam).size).toBeGreaterThan(200); // each λ its own derivative
      }
      if (block.code.includes('particles({')) {
        const sys = module.sys as { temperature(p: Float64Array): number; momentum(p: Float64Array): Float64Array; hamiltonian: { energy(q: Float64Array, p: Float64Array): number } };
        const p = module.p as Float64Array, end = module.end as { q: Float64Array; p: Float64Array };
        expect(module.n).toBe(32);
        expect(sys.temperature(p)).toBeCloseTo(0.72, 12);
        for (const m of sys.momentum(end.p)) expect(Math.abs(m)).toBeLessThan(1e-12);
        const e0 = sys.hamiltonian.energy(module.q as Float64Array, p), e1 = sys.hamiltonian.energy(end.q, end.p);
        expect(Math.abs(e1 - e0) / Math.abs(e0)).toBeLessThan(1e-2);
        expect((module.g as Float64Array).length).toBe(20);
        expect((module.g as Float64Array).every(Number.isFinite)).toBe(true);
      }
      if (block.code.includes('lst.lyapunov(')) {
        // The chaotic orbit's spectrum: clearly positive, in ± pairs summing to 0; the regular one's far smaller.
        const e = (module.spectrum as { exponents: Float64Array }).exponents;
        expect(e.length).toBe(8);
        expect(e[0]!).toBeGreaterThan(0.03);
        expect(Math.abs(e[0]! + e[1]! + e[2]! + e[3]!)).toBeLessThan(1e-12);
        expect(e[4]!).toBeLessThan(0.3 * e[0]!);
      }
      if (block.code.includes('phaseSpace(2)')) {
        const h = module.h as { isSeparable: boolean; energy(q: number[], p: number[]): number };
        expect(h.isSeparable).toBe(true);
        // H = |p|²/2 + |q|²/2 + λ(x²y − y³/3) at λ = 1, written out by hand.
        const [x, y, px, py] = [0.1, 0.2, 0.3, 0.1];
        expect(h.energy([x, y], [px, py])).toBeCloseTo((px ** 2 + py ** 2) / 2 + (x ** 2 + y ** 2) / 2 + (x * x * y - y ** 3 / 3), 14);
      }
    });
  }
});
