/** `darboux run --section EXPR --plot FILE`: from a model to a surface-of-section picture in one command. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-section-plot-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { io: CliStreams; out: () => string; err: () => string } {
  let out = '', err = '';
  return { io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} }, out: () => out, err: () => err };
}

describe('darboux run --plot', () => {
  it('draws one dot per crossing of the run (the same crossings as st.run) into an SVG', async () => {
    const file = path.join(dir, 'hh.svg');
    const c = capture();
    const args = ['run', '--model', 'henon-heiles', '--method', 'yoshida4', '--dt', '0.05', '--steps', '2000', '--section', 'y', '--section-direction', '1', '--plot', file, '--json', '--quiet'];
    expect(await main(args, c.io)).toBe(0);
    const summary = JSON.parse(c.out());
    const model = henonHeiles();
    const st = await compile(model.hamiltonian, { method: 'yoshida4', dt: 0.05, backend: 'cpu' });
    const lib = await st.run({ q0: model.q0, p0: model.p0, steps: 2000, section: { expr: 'y', direction: 1 } });
    const crossings = lib.section!.count[0]!;
    expect(crossings).toBeGreaterThan(5);
    expect(summary.plot).toEqual({ file, format: 'svg', crossings });
    const svg = fs.readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle/g)?.length).toBe(crossings);
    // The axes carry the system's names (x, px for Hénon–Heiles), not q0, p0.
    expect(svg).toContain('x →');
    expect(svg).toContain('↑ px');
    st.dispose();
  });

  it('--plot without --section is a usage error (exit 2)', async () => {
    const c = capture();
    expect(await main(['run', '--model', 'henon-heiles', '--steps', '10', '--plot', path.join(dir, 'x.svg'), '--quiet'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--section/);
  });
});
