/**
 * darboux demo: integrates each model for 10⁵ steps and prints, per model and method, the maximum relative
 * energy error, the maximum symplecticity defect ‖JᵀΩJ − Ω‖ of the exact one-step Jacobian over sample points
 * of the trajectory, and the wall time. Exits non-zero if a check fails.
 *
 * Run: npm run demo
 */
import { compile, harmonicOscillator, henonHeiles, kepler, pendulum, symplecticDefect, type Model } from '../src/index.js';

interface Row {
  model: string;
  method: string;
  dt: number;
  steps: number;
  energyError: number;
  defect: number;
  seconds: number;
  ok: boolean;
  note: string;
}

const STEPS = 100_000;
const RECORD = 10;

async function measure(model: Model, method: string, symplectic: boolean): Promise<Row> {
  const h = model.hamiltonian;
  const st = await compile(h, { method, dt: model.dt, backend: 'cpu' });
  const start = performance.now();
  const res = await st.run({ q0: model.q0, p0: model.p0, steps: STEPS, record: RECORD });
  const seconds = (performance.now() - start) / 1000;
  const e0 = h.energy(model.q0, model.p0);
  let energyError = 0, defect = 0;
  const rec = res.record!;
  for (let k = 0; k < rec.count; k++) {
    const q = rec.q.subarray(k * h.dof, (k + 1) * h.dof), p = rec.p.subarray(k * h.dof, (k + 1) * h.dof);
    energyError = Math.max(energyError, Math.abs(h.energy(q, p) - e0) / Math.abs(e0));
    if (k % Math.floor(rec.count / 20) === 0) defect = Math.max(defect, symplecticDefect(st.jacobian(q, p)));
  }
  st.dispose();
  // Symplectic steps: Jacobian symplectic to rounding, bounded energy error. The control must visibly fail.
  const ok = symplectic ? defect < 1e-12 && energyError < 0.05 : defect > 1e-10;
  return { model: model.name, method, dt: model.dt, steps: STEPS, energyError, defect, seconds, ok, note: symplectic ? '' : 'non-symplectic control' };
}

const rows: Row[] = [];
for (const model of [harmonicOscillator(), pendulum(), kepler({ eccentricity: 0.6 }), henonHeiles()]) {
  rows.push(await measure(model, 'leapfrog', true));
}
rows.push(await measure(kepler({ eccentricity: 0.6 }), 'rk4', false));

const header = ['model', 'method', 'dt', 'steps', 'max |H−H₀|/|H₀|', 'max ‖JᵀΩJ−Ω‖', 'wall time', 'check'];
const table = rows.map((r) => [
  r.model, r.method, String(r.dt), String(r.steps), r.energyError.toExponential(2), r.defect.toExponential(2),
  `${(r.seconds * 1000).toFixed(0)} ms`, (r.ok ? 'ok' : 'FAILED') + (r.note ? ` (${r.note})` : ''),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log('darboux demo — backend: cpu (f64 JavaScript)\n');
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));
const failed = rows.filter((r) => !r.ok);
if (failed.length > 0) {
  console.error(`\n${failed.length} check(s) failed`);
  process.exit(1);
}
console.log('\nall checks passed');
