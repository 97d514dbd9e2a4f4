/**
 * Plots (src/plot) and `darboux plot`: the SVG is parsed back (linkedom) and checked for what a broken plot
 * would get wrong — one mark per series or point, the axis labels, a log axis labelled at powers of ten, and
 * the drawn data mapped back through the axis ticks equal to the input (so the domains cover the data). PNG:
 * the signature and the IHDR width. CLI: a file and exit 0; a file without frames exit 1; a bad kind exit 2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOMParser } from 'linkedom';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { compile, createRandom, parse, plot, radialDistribution, saveTrajectory, saveArrays, withFrameEnergies, type Trajectory } from '../../src/index.js';
import { main } from '../../src/cli/main.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-plot-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function svgOf(text: string): Element {
  expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml') as unknown as Document;
  return doc.querySelector('svg')!;
}

/** A tick label's number: 10⁻³ → 1e-3, '−0.2' → -0.2. */
function tickValue(label: string): number {
  const power = /^10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/.exec(label);
  if (power) return 10 ** Number(power[1]!.replace(/./g, (c) => '-0123456789'['⁻⁰¹²³⁴⁵⁶⁷⁸⁹'.indexOf(c)]!));
  return Number(label.replace('−', '-'));
}

/** The axis as a map from pixels back to data, fitted through its labelled ticks (in log10 for a log axis). */
function axis(svg: Element, which: 'x' | 'y', log: boolean) {
  const ticks = Array.from(svg.querySelectorAll(`g[aria-label="${which}-axis tick label"] text`))
    .filter((t) => t.textContent!.trim() !== '')
    .map((t) => {
      const [, x, y] = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(t.getAttribute('transform')!)!.map(Number);
      return { pixel: which === 'x' ? x! : y!, value: tickValue(t.textContent!.trim()), label: t.textContent!.trim() };
    });
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const f = (v: number) => (log ? Math.log10(v) : v);
  const a = ticks[0]!, b = ticks[ticks.length - 1]!;
  const slope = (f(b.value) - f(a.value)) / (b.pixel - a.pixel);
  const invert = (pixel: number) => {
    const u = f(a.value) + (pixel - a.pixel) * slope;
    return log ? 10 ** u : u;
  };
  // Every labelled tick sits where the fitted map puts it (the axis is linear in f).
  for (const t of ticks) expect(invert(t.pixel)).toBeCloseTo(t.value, 6);
  return { ticks, invert };
}

/**
 * Observable Plot writes coordinates with 3 decimals, so the drawn data comes back to about 1e-5 of the axis
 * span: the checks compare at 4 digits (linear) and 4 digits of the ratio (log).
 */
/** The vertices of every path of the marks labelled `mark`, one array per path. */
function paths(svg: Element, mark: string): { x: number; y: number }[][] {
  return Array.from(svg.querySelectorAll(`g[aria-label="${mark}"] path`)).map((p) =>
    [...p.getAttribute('d')!.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) })));
}

const extent = (values: number[]) => [Math.min(...values), Math.max(...values)];

/** H = (p² + q²)/2 with frames whose energies are H₀(1 + e_k): relative errors e_k exactly. */
function oscillatorTrajectory(errors: number[], h0 = 0.5): Trajectory {
  const frames = errors.length + 1;
  const q = Float64Array.from([0, ...errors], (e) => Math.sqrt(2 * h0 * (1 + e)));
  const t = Float64Array.from({ length: frames }, (_, k) => 0.5 * k);
  return { batch: 1, dof: 1, q: q.slice(-1), p: new Float64Array(1), frames: { t, q, p: new Float64Array(frames) } };
}

const oscillator = parse({ q: ['x'], p: ['px'], H: '(px^2 + x^2)/2' });

describe('plot.energy', () => {
  const a = [1e-3, 2e-5, 5e-4, 3e-6], b = [1e-8, 4e-7, 2e-6, 6e-5];
  const svg = svgOf(plot.energy([{ label: 'leapfrog', trajectory: oscillatorTrajectory(a) }, { label: 'rk4', trajectory: oscillatorTrajectory(b) }], { hamiltonian: oscillator }));

  it('draws one line per run with its label, on a log axis labelled at powers of ten', () => {
    const lines = paths(svg, 'line');
    expect(lines.length).toBe(2);
    expect(lines.map((l) => l.length)).toEqual([4, 4]);
    expect(Array.from(svg.querySelectorAll('g[aria-label="text"] text')).map((t) => t.textContent)).toEqual(['leapfrog', 'rk4']);
    expect(svg.querySelector('g[aria-label="y-axis label"]')!.textContent).toContain('relative energy error');
    expect(svg.querySelector('g[aria-label="x-axis label"]')!.textContent).toContain('time');
    const { ticks } = axis(svg, 'y', true);
    // Labels at consecutive powers of ten (none between) from at most 1e-8 to at least 1e-3: the data's span.
    const exponents = ticks.map((t) => Math.log10(t.value));
    exponents.forEach((e, k) => expect(e).toBeCloseTo(exponents[0]! + k, 9));
    expect([exponents[0]! <= -8, exponents.at(-1)! >= -3, exponents.length <= 8]).toEqual([true, true, true]);
    expect(ticks[0]!.label).toMatch(/^10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]+$/);
  });

  it('puts the relative errors and the times where the axes say (the domain covers the data)', () => {
    const y = axis(svg, 'y', true), x = axis(svg, 'x', false);
    const [la, lb] = paths(svg, 'line');
    la!.forEach((v, k) => expect(y.invert(v.y) / a[k]!).toBeCloseTo(1, 4));
    lb!.forEach((v, k) => expect(y.invert(v.y) / b[k]!).toBeCloseTo(1, 4));
    expect(extent(la!.map((v) => x.invert(v.x)))).toEqual([expect.closeTo(0.5, 4), expect.closeTo(2, 4)]);
  });

  it('takes the worst member of a batch, and refuses a trajectory without frames', () => {
    const one = oscillatorTrajectory([1e-4, 1e-2]), two = oscillatorTrajectory([1e-3, 1e-5]);
    const merged: Trajectory = {
      batch: 2, dof: 1, q: new Float64Array(2), p: new Float64Array(2),
      frames: { t: one.frames!.t, q: Float64Array.from([0, 1, 2].flatMap((f) => [one.frames!.q[f]!, two.frames!.q[f]!])), p: new Float64Array(6) },
    };
    const s = svgOf(plot.energy(merged, { hamiltonian: oscillator }));
    const y = axis(s, 'y', true);
    expect(paths(s, 'line')[0]!.map((v) => y.invert(v.y))).toEqual([expect.closeTo(1e-3, 7), expect.closeTo(1e-2, 6)]);
    expect(() => plot.energy({ batch: 1, dof: 1, q: new Float64Array(1), p: new Float64Array(1) }, { hamiltonian: oscillator })).toThrow(/no frames/);
  });

  it('without a Hamiltonian, plots the energies the frames carry (withFrameEnergies, each member with its own parameters)', () => {
    // Two members of H = p²/2 + k q²/2 with k = 1 and k = 4: the same state, so energies differ only by k.
    const h = parse({ q: ['x'], p: ['u'], H: 'u^2/2 + k*x^2/2', params: { k: 1 } });
    const frames = { t: Float64Array.of(0, 1, 2), q: Float64Array.of(1, 1, 0.9, 0.9, 0.8, 0.8), p: Float64Array.of(0, 0, 0.1, 0.1, 0.2, 0.2) };
    const traj: Trajectory = { batch: 2, dof: 1, q: frames.q.slice(4), p: frames.p.slice(4), frames };
    const withE = withFrameEnergies(traj, h, { k: Float64Array.of(1, 4) });
    const closed = (k: number, f: number) => frames.p[2 * f]! ** 2 / 2 + (k * frames.q[2 * f]! ** 2) / 2;
    expect(Array.from(withE.frames!.energy!)).toEqual([0, 1, 2].flatMap((f) => [closed(1, f), closed(4, f)]).map((e) => expect.closeTo(e, 14)));
    expect(() => plot.energy(traj, {})).toThrow(/needs a Hamiltonian/);
    // The worst member's relative error at t = 1, 2, read back through the log axis.
    const s = svgOf(plot.energy(withE, {}));
    const y = axis(s, 'y', true);
    const rel = (f: number) => Math.max(...[1, 4].map((k) => Math.abs(closed(k, f) - closed(k, 0)) / closed(k, 0)));
    expect(paths(s, 'line')[0]!).toHaveLength(2);
    paths(s, 'line')[0]!.forEach((v, i) => expect(y.invert(v.y) / rel(i + 1)).toBeCloseTo(1, 4));
    expect(() => withFrameEnergies(traj, h, { k: Float64Array.of(1) })).toThrow(/one value per member/);
  });
});

describe('plot.phase and plot.section', () => {
  it('phase: one curve per trajectory through the recorded (q_i, p_i)', () => {
    const frames = 20, batch = 3, dof = 2;
    const q = new Float64Array(frames * batch * dof), p = new Float64Array(frames * batch * dof);
    for (let f = 0; f < frames; f++) for (let b = 0; b < batch; b++) {
      q[(f * batch + b) * dof + 1] = (b + 1) * Math.cos(0.3 * f);
      p[(f * batch + b) * dof + 1] = -(b + 1) * Math.sin(0.3 * f);
    }
    const traj: Trajectory = { batch, dof, q: q.slice(-batch * dof), p: p.slice(-batch * dof), frames: { t: Float64Array.from({ length: frames }, (_, k) => k), q, p } };
    const svg = svgOf(plot.phase(traj, { dof: 1, names: { q: 'y', p: 'p_y' } }));
    const curves = paths(svg, 'line');
    expect(curves.length).toBe(batch);
    expect(svg.querySelector('g[aria-label="x-axis label"]')!.textContent).toContain('y');
    const x = axis(svg, 'x', false), y = axis(svg, 'y', false);
    curves.forEach((c, b) => c.forEach((v, f) => {
      expect(x.invert(v.x)).toBeCloseTo(q[(f * batch + b) * dof + 1]!, 4);
      expect(y.invert(v.y)).toBeCloseTo(p[(f * batch + b) * dof + 1]!, 4);
    }));
  });

  it('section: one dot per crossing at (q_i, p_i), from a hand-made { count, t, q, p }', () => {
    const count = 50;
    const q = Float64Array.from({ length: 2 * count }, (_, k) => (k % 2 === 1 ? 0.3 * Math.sin(k) : 0));
    const p = Float64Array.from({ length: 2 * count }, (_, k) => (k % 2 === 1 ? 0.2 * Math.cos(3 * k) : 9));
    const svg = svgOf(plot.section({ count, t: Float64Array.from({ length: count }, (_, k) => k), q, p }, { dof: 1 }));
    const dots = Array.from(svg.querySelectorAll('g[aria-label="dot"] circle'));
    expect(dots.length).toBe(count);
    const x = axis(svg, 'x', false), y = axis(svg, 'y', false);
    dots.forEach((c, k) => {
      expect(x.invert(Number(c.getAttribute('cx')))).toBeCloseTo(q[2 * k + 1]!, 4);
      expect(y.invert(Number(c.getAttribute('cy')))).toBeCloseTo(p[2 * k + 1]!, 4);
    });
    expect(() => plot.section({ count: 3, t: [0, 1], q: [0, 0, 0], p: [0, 0, 0] })).toThrow(/count/);
    expect(() => plot.section({ count: 1, t: [0], q: [0, 0], p: [0, 0] }, { dof: 2 })).toThrow(/dof/);
  });

  it("section: a run's result.section (per-trajectory slots) gives one dot per stored crossing", async () => {
    const h = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2 + py^2)/2 + (x^2 + 2*y^2)/2' });
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const r = await st.run({ q0: [0.1, 0, 0.2, 0], p0: [0, 0.3, 0.1, 0.2], batch: 2, steps: 400, section: { expr: 'y', direction: 1, max: 8 } });
    const s = r.section!;
    const svg = svgOf(plot.section(s));
    const dots = Array.from(svg.querySelectorAll('g[aria-label="dot"] circle'));
    expect(dots.length).toBe(s.count[0]! + s.count[1]!);
    const x = axis(svg, 'x', false);
    expect(x.invert(Number(dots[s.count[0]!]!.getAttribute('cx')))).toBeCloseTo(s.q[2 * 8]!, 4);
  });
});

describe('plot.loss, plot.gradientMemory, plot.rdf', () => {
  it('loss: train and validation curves on a log axis', () => {
    const history = Array.from({ length: 100 }, (_, k) => 10 ** (-k / 33));
    const svg = svgOf(plot.loss({ history, validationHistory: [0.5, 0.05, 0.002], validationSteps: [0, 50, 99] }));
    const [train, validation] = paths(svg, 'line');
    expect([train!.length, validation!.length]).toEqual([100, 3]);
    const y = axis(svg, 'y', true);
    expect(extent(train!.map((v) => y.invert(v.y)))).toEqual([expect.closeTo(10 ** (-99 / 33), 7), expect.closeTo(1, 4)]);
    expect(y.invert(validation![2]!.y) / 0.002).toBeCloseTo(1, 4);
    expect(() => plot.loss({ history: [1, Number.NaN] })).toThrow(/history\[1\]/);
  });

  it('gradientMemory: one line and a dot per measurement for each memory mode, log–log', () => {
    const rows = [4, 64, 1024, 4096].flatMap((steps) => [
      { steps, memory: 'reverse', stateBytes: 512 },
      { steps, memory: 'store', stateBytes: 256 * (steps + 1) },
    ]);
    const svg = svgOf(plot.gradientMemory(rows));
    const lines = paths(svg, 'line');
    expect(lines.length).toBe(2);
    expect(svg.querySelectorAll('g[aria-label="dot"] circle').length).toBe(8);
    const x = axis(svg, 'x', true), y = axis(svg, 'y', true);
    expect(lines[1]!.map((v) => Math.round(x.invert(v.x)))).toEqual([4, 64, 1024, 4096]);
    expect(y.invert(lines[1]![3]!.y) / (256 * 4097)).toBeCloseTo(1, 4);
  });

  it('rdf: one line per curve over r, with g = 1 marked', () => {
    const r = Float64Array.from({ length: 30 }, (_, k) => 0.05 + 0.1 * k);
    const g = Float64Array.from(r, (x) => (x < 0.9 ? 0 : 1 + Math.exp(-(x - 1.1)) * Math.cos(6 * x)));
    const svg = svgOf(plot.rdf([{ label: 'a', rdf: { r, g } }, { label: 'b', rdf: { r, g: g.map((v) => v * 0.5) } }]));
    const lines = paths(svg, 'line');
    expect(lines.length).toBe(2);
    const x = axis(svg, 'x', false), y = axis(svg, 'y', false);
    lines[0]!.forEach((v, k) => {
      expect(x.invert(v.x)).toBeCloseTo(r[k]!, 4);
      expect(y.invert(v.y)).toBeCloseTo(g[k]!, 4);
    });
    expect(svg.querySelectorAll('g[aria-label="rule"] line').length).toBe(1);
  });
});

describe('PNG and options', () => {
  it('rasterises at the requested width (a PNG signature and IHDR width)', async () => {
    const png = await plot.section({ count: 2, t: [0, 1], q: [0.1, 0.2], p: [0.3, -0.1] }, { format: 'png', width: 300, height: 200, title: 'two crossings' });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
    expect(view.getUint32(16)).toBe(300);
    // The title adds a 24-pixel band above the 200-pixel plot: 224 at scale 1.
    expect(view.getUint32(20)).toBe(224);
  });

  it('types the result by the format: string for SVG, a Promise of bytes for PNG', () => {
    const g = { r: [1, 2], g: [0, 1] };
    expectTypeOf(plot.rdf(g)).toEqualTypeOf<string>();
    expectTypeOf(plot.rdf(g, { width: 320 })).toEqualTypeOf<string>();
    expectTypeOf(plot.rdf(g, { format: 'svg' })).toEqualTypeOf<string>();
    expectTypeOf(plot.rdf(g, { format: 'png' })).toEqualTypeOf<Promise<Uint8Array>>();
    expect(typeof plot.rdf(g, { width: 320 })).toBe('string');
  });

  it('refuses bad sizes and formats with OPTION errors', () => {
    expect(() => plot.rdf({ r: [1], g: [1] }, { width: 10 })).toThrow(/width/);
    expect(() => plot.rdf({ r: [1], g: [1] }, { format: 'gif' as 'svg' })).toThrow(/format/);
  });
});

describe('darboux plot', () => {
  async function cli(args: string[]) {
    let stdout = '', stderr = '';
    const code = await main(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { NO_COLOR: '1' } });
    return { code, stdout, stderr };
  }
  const system = ['--H', '(px^2 + x^2)/2', '--q', 'x', '--p', 'px'];

  it('plot energy writes an SVG of the file\'s frames and exits 0; --json reports it', async () => {
    const file = path.join(dir, 'traj.npz'), out = path.join(dir, 'energy.svg');
    saveTrajectory(file, oscillatorTrajectory([1e-3, 1e-5, 1e-4]));
    const res = await cli(['plot', 'energy', file, ...system, '-o', out, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ command: 'plot', kind: 'energy', format: 'svg', output: out });
    const svg = svgOf(fs.readFileSync(out, 'utf8'));
    const y = axis(svg, 'y', true);
    expect(paths(svg, 'line')[0]!.map((v) => y.invert(v.y))).toEqual([expect.closeTo(1e-3, 7), expect.closeTo(1e-5, 9), expect.closeTo(1e-4, 8)]);
  });

  it('plot section reads t, q, p arrays; phase writes SVG to stdout', async () => {
    const file = path.join(dir, 'section.npz');
    saveArrays(file, { t: { shape: [3], data: Float64Array.of(1, 2, 3) }, q: { shape: [3, 1], data: Float64Array.of(0.1, 0.2, 0.3) }, p: { shape: [3, 1], data: Float64Array.of(0, 1, 0) } });
    const res = await cli(['plot', 'section', file]);
    expect(res.code).toBe(0);
    expect(svgOf(res.stdout.trim()).querySelectorAll('g[aria-label="dot"] circle').length).toBe(3);
  });

  it('plot loss reads the history of a train JSON; plot rdf computes g(r) from a particle trajectory in --box', async () => {
    const trainJson = path.join(dir, 'model.json'), lossSvg = path.join(dir, 'loss.svg');
    const history = [0.9, 0.3, 0.05, 0.02, 0.011];
    fs.writeFileSync(trainJson, JSON.stringify({ kind: 'hnn', options: {}, params: {}, loss: 0.011, steps: 5, history }));
    expect((await cli(['plot', 'loss', trainJson, '-o', lossSvg, '--quiet'])).code).toBe(0);
    const lossPlot = svgOf(fs.readFileSync(lossSvg, 'utf8'));
    const ly = axis(lossPlot, 'y', true);
    paths(lossPlot, 'line')[0]!.forEach((v, k) => expect(ly.invert(v.y) / history[k]!).toBeCloseTo(1, 4));

    // 6 particles in a 2-d box of side 4, 5 frames of random positions; 8 bins on [0, 2).
    const n = 6, frames = 5, random = createRandom(5);
    const qs = Float64Array.from({ length: frames * n * 2 }, () => 4 * random.next());
    const file = path.join(dir, 'particles.npz'), out = path.join(dir, 'rdf.svg');
    saveTrajectory(file, { batch: 1, dof: n * 2, q: qs.slice(-n * 2), p: new Float64Array(n * 2), frames: { t: Float64Array.from({ length: frames }, (_, k) => k), q: qs, p: new Float64Array(qs.length) } });
    expect((await cli(['plot', 'rdf', file, '--box', '4,4', '--bins', '8', '-o', out, '--quiet'])).code).toBe(0);
    const expected = radialDistribution(qs, { n, dim: 2, box: [4, 4], bins: 8, rMax: 2 });
    const rdfPlot = svgOf(fs.readFileSync(out, 'utf8'));
    const x = axis(rdfPlot, 'x', false), y = axis(rdfPlot, 'y', false);
    const drawn = paths(rdfPlot, 'line')[0]!;
    expect(drawn.length).toBe(8);
    drawn.forEach((v, k) => {
      expect(x.invert(v.x)).toBeCloseTo(expected.r[k]!, 4);
      expect(y.invert(v.y)).toBeCloseTo(expected.g[k]!, 3);
    });
    const noBox = await cli(['plot', 'rdf', file]);
    expect([noBox.code, /--box L,L/.test(noBox.stderr)]).toEqual([2, true]);
  });

  it('a file without frames exits 1 saying how to record them; a bad kind exits 2', async () => {
    const file = path.join(dir, 'final.npz');
    saveTrajectory(file, { batch: 1, dof: 1, q: Float64Array.of(1), p: Float64Array.of(0) });
    const noFrames = await cli(['plot', 'energy', file, ...system, '-o', path.join(dir, 'x.svg')]);
    expect(noFrames.code).toBe(1);
    expect(noFrames.stderr).toMatch(/final\.npz holds only a final state, no frames.*--save-every/);
    expect(fs.existsSync(path.join(dir, 'x.svg'))).toBe(false);
    const missing = await cli(['plot', 'phase', path.join(dir, 'nope.npz')]);
    expect([missing.code, /cannot read .*nope\.npz/.test(missing.stderr)]).toEqual([1, true]);
    const bad = await cli(['plot', 'histogram', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown plot kind 'histogram'; kinds: energy, phase, section, loss, memory, rdf/);
  });
});

describe('loading the plotting libraries', () => {
  it('no module imports Observable Plot or linkedom at load time (only src/plot/libraries.ts, on first use)', () => {
    const root = path.resolve(__dirname, '../../src');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const eager = files.filter((f) => {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      return /^import (?!type )[^;]*from '(@observablehq\/plot|linkedom)'/m.test(text);
    });
    expect(eager).toEqual([]);
  });

  it('plot.load() resolves and the plot functions draw after it', async () => {
    await plot.load();
    expect(plot.loss({ history: [1, 0.5, 0.25] })).toMatch(/^<svg/);
  });
});
