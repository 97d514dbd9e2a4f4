/**
 * The CLI draws on every Node the package supports (engines: >= 20), not only where the plotting libraries load
 * synchronously on first use (require of ES modules, Node >= 20.19): `darboux plot` and `darboux run --plot` load
 * them first. Simulated here by removing `process.getBuiltinModule` before anything in this process has loaded them
 * (vitest runs each file in its own fork), which is what an older Node looks like to src/plot/libraries.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plot, saveTrajectory } from '../../src/index.js';
import { main } from '../../src/cli/main.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-plot-load-'));
const saved = (process as { getBuiltinModule?: unknown }).getBuiltinModule;
afterAll(() => {
  (process as { getBuiltinModule?: unknown }).getBuiltinModule = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

function streams() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) }, env: { NO_COLOR: '1' } } };
}

describe('the CLI where the plotting libraries cannot load synchronously', () => {
  it('plot phase and run --plot still draw (they await plot.load()); the library alone says to load first', async () => {
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    const t = Float64Array.of(0, 1), q = Float64Array.of(1, 0.5), p = Float64Array.of(0, -0.5);
    const traj = { batch: 1, dof: 1, q: q.slice(1), p: p.slice(1), frames: { t, q, p } };
    // Nothing has loaded the libraries yet: a plot call now fails the way it would on Node < 20.19.
    expect(() => plot.phase(traj)).toThrow(/plot\.load\(\)/);
    const file = path.join(dir, 'frames.npz');
    saveTrajectory(file, traj);
    const a = streams();
    expect(await main(['plot', 'phase', file, '-o', path.join(dir, 'phase.svg')], a.io), a.out.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'phase.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
    const b = streams();
    const args = ['run', '--model', 'henon-heiles', '--steps', '400', '--batch', '2', '--init', 'random', '--section', 'y', '--plot', path.join(dir, 'section.svg'), '--quiet'];
    expect(await main(args, b.io), b.out.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'section.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
  });
});
