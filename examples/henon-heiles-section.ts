/**
 * The classic Hénon–Heiles surface of section y = 0, p_y > 0 at E = 1/8 (mostly regular islands) and E = 1/6 (a
 * chaotic sea around them): 1 000 orbits started on the section, their crossings located by the kernel
 * (`run({ section })`), each orbit with a twin started 10⁻⁶ away. An orbit looks chaotic when its twin has
 * separated by more than 10⁻² at the end; the table gives the fraction, and the share of the accessible
 * (x, p_x) disc the chaotic orbits' crossings cover on a 40 × 40 grid.
 *
 * Run: npx tsx examples/henon-heiles-section.ts [--batch 1000] [--steps 20000] [--backend auto|gpu|cpu] [--svg prefix]
 * (auto: a hardware GPU when there is one, else the CPU; `--svg out` writes out-0.125.svg and out-0.1667.svg.)
 */
import { writeFileSync } from 'node:fs';
import { compile, henonHeiles, plot, type GpuStepper, type Stepper } from '../src/index.js';
import { releaseGpu } from '../src/runtime/index.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const batch = Number(arg('--batch', '1000')), steps = Number(arg('--steps', '20000'));
const choice = arg('--backend', 'auto'), svgPrefix = arg('--svg', '');
const dt = 0.05, separation = 1e-6, chaoticAbove = 1e-2;
const h = henonHeiles().hamiltonian;

/** A GPU stepper when asked for (or, with auto, when the adapter is hardware), else the CPU one. */
async function stepper(): Promise<Stepper> {
  if (choice !== 'cpu') {
    try {
      const st = (await compile(h, { method: 'yoshida4', dt, backend: 'gpu' })) as GpuStepper;
      if (choice === 'gpu' || (st.gpu.adapterKind !== 'llvmpipe' && st.gpu.adapterKind !== 'swiftshader')) return st;
      st.dispose();
    } catch (e) {
      if (choice === 'gpu') throw e;
    }
  }
  return compile(h, { method: 'yoshida4', dt, backend: 'cpu' });
}

/** Orbits on the section at energy E: (x, y = 0, p_x, p_y = √(2E − x² − p_x²)), then their twins shifted in x. */
function starts(E: number): { q0: Float64Array; p0: Float64Array } {
  const q0 = new Float64Array(4 * batch), p0 = new Float64Array(4 * batch);
  const r = Math.sqrt(2 * E);
  for (let b = 0; b < batch; b++) {
    const u = ((b + 1) * 0.6180339887498949) % 1, v = ((b + 1) * 0.7548776662466927) % 1;
    const x = Math.sqrt(0.95 * u) * r * Math.cos(2 * Math.PI * v), px = Math.sqrt(0.95 * u) * r * Math.sin(2 * Math.PI * v);
    const py = Math.sqrt(2 * E - x * x - px * px);
    for (const [k, dx] of [[b, 0], [batch + b, separation]] as const) {
      q0[2 * k] = x + dx;
      p0[2 * k] = px;
      p0[2 * k + 1] = py;
    }
  }
  return { q0, p0 };
}

/** Whether the centre of grid cell (i, j) lies in the accessible disc x² + p_x² ≤ 2E (the section's boundary). */
function insideDisc(i: number, j: number, cells = 40): boolean {
  return Math.hypot((2 * i + 1) / cells - 1, (2 * j + 1) / cells - 1) <= 1;
}

const st = await stepper();
console.log(`Hénon–Heiles, surface of section y = 0, p_y > 0: ${batch} orbits (+ twins), ${steps} steps of yoshida4, dt = ${dt} (t = ${steps * dt}), on the ${st.backend.toUpperCase()}${st.backend === 'gpu' ? ` (${(st as GpuStepper).gpu.adapterKind})` : ''}\n`);
console.log('E        crossings   per orbit   chaotic fraction   chaotic coverage   max |H − E| on the section   wall time');
for (const E of [1 / 8, 1 / 6]) {
  const { q0, p0 } = starts(E);
  const began = performance.now();
  const r = await st.run({ q0, p0, batch: 2 * batch, steps, section: { expr: 'y', direction: 1, max: Math.ceil(steps * dt / 4) } });
  const seconds = (performance.now() - began) / 1000;
  const s = r.section!;
  let crossings = 0, chaotic = 0, worst = 0;
  const grid = new Set<number>(), cells = 40, reach = Math.sqrt(2 * E);
  for (let b = 0; b < batch; b++) {
    const gap = Math.hypot(r.q[2 * b]! - r.q[2 * (batch + b)]!, r.q[2 * b + 1]! - r.q[2 * (batch + b) + 1]!, r.p[2 * b]! - r.p[2 * (batch + b)]!, r.p[2 * b + 1]! - r.p[2 * (batch + b) + 1]!);
    const isChaotic = !(gap < chaoticAbove);
    if (isChaotic) chaotic++;
    crossings += s.count[b]!;
    for (let k = 0; k < s.count[b]!; k++) {
      const slot = b * s.max + k;
      const x = s.q[2 * slot]!, px = s.p[2 * slot]!;
      worst = Math.max(worst, Math.abs(h.energy(s.q.subarray(2 * slot, 2 * slot + 2), s.p.subarray(2 * slot, 2 * slot + 2)) - E));
      const i = Math.floor(((x / reach + 1) / 2) * cells), j = Math.floor(((px / reach + 1) / 2) * cells);
      if (isChaotic && insideDisc(i, j)) grid.add(i * cells + j);
    }
  }
  let inside = 0;
  for (let i = 0; i < cells; i++) for (let j = 0; j < cells; j++) if (insideDisc(i, j)) inside++;
  console.log(
    `${E.toFixed(4)}   ${String(crossings).padEnd(9)}   ${(crossings / batch).toFixed(1).padEnd(9)}   ${(chaotic / batch).toFixed(3).padEnd(16)}   ${(grid.size / inside).toFixed(3).padEnd(16)}   ${worst.toExponential(2).padEnd(26)}   ${seconds.toFixed(2)} s`,
  );
  if (svgPrefix !== '') {
    const file = `${svgPrefix}-${E.toFixed(4)}.svg`;
    writeFileSync(file, plot.section({ ...s, count: s.count.subarray(0, batch) }, { names: { q: 'x', p: 'p_x' }, title: `Hénon–Heiles, E = ${E.toFixed(4)}` }));
    console.log(`         wrote ${file}`);
  }
}
st.dispose();
releaseGpu();
