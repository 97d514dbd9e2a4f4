/**
 * `darboux check`: measures what a method promises on a system: symplecticity (‖JᵀΩJ − Ω‖ of the one-step
 * Jacobian at sample states), reversibility (N steps forward, N steps with −dt, back to the start), the order
 * (errors at dt, dt/2, dt/4 against a fine reference), and the long-run relative energy error. Exit 1 when a
 * property the method claims fails.
 */
import { compile, symplecticDefect, type Hamiltonian, type Stepper } from '../index.js';
import { cpuStepper, stepProgram } from '../internals.js';
import { COMMON_OPTIONS, listFlag, numberFlag, parseCommand, UsageError } from './args.js';
import { chooseStates, chooseSystem, STATE_HELP, STATE_OPTIONS, SYSTEM_HELP, SYSTEM_OPTIONS } from './system.js';
import { backendFlag, STEPPER_OPTIONS } from './run.js';
import { printJson } from './output.js';
import { paint, progressLine, type CliStreams } from './terminal.js';

const OPTIONS = {
  ...COMMON_OPTIONS, ...SYSTEM_OPTIONS, ...STATE_OPTIONS, ...STEPPER_OPTIONS,
  steps: { type: 'string' },
  'reverse-steps': { type: 'string' },
  'order-steps': { type: 'string' },
  claim: { type: 'string', multiple: true },
  'symplectic-tol': { type: 'string' },
  'reverse-tol': { type: 'string' },
} as const;

/** Methods darboux ships that are not symplectic (every other one is). */
const NOT_SYMPLECTIC = new Set(['rk4']);

/** The usage text of `darboux check` (its --help, and the message of a usage error). */
export const CHECK_USAGE = `Usage: darboux check <system> [initial states] [--method M] [--dt h] [options]

Measures, at the initial states (default: the model's state, or --init random --batch 4):
  symplectic   max ‖JᵀΩJ − Ω‖ of the exact one-step Jacobian (st.jacobian), relative to max(1, |J|²)
  reversible   max |z − z₀| / max(1, |z₀|) after --reverse-steps steps with dt, then as many with −dt (f64 CPU)
  order        log₂(e(dt/2) / e(dt/4)), e(h) the error after --order-steps·dt of time against the method at dt/64
  energy       max relative energy error |H(z) − H(z₀)| / |H(z₀)| over a run of --steps steps (on --backend)
A method claims what it promises: symplectic (all but rk4), reversible (symmetric methods), its order.
Exit 1 when a claimed property fails; 0 otherwise.

${SYSTEM_HELP}

${STATE_HELP}

Options:
  --method NAME          integration method (default leapfrog)
  --dt NUMBER            step size (default: the model's, else required)
  --steps N              long run for the energy error (default 10000)
  --reverse-steps N      default 100
  --order-steps N        default 16
  --claim LIST           check these claims too, e.g. --claim symplectic,reversible,order=4; energy=X bounds the
                         long-run relative energy error by X (no method claims a bound by itself)
  --symplectic-tol X     default 1e-10
  --reverse-tol X        default 1e-9
  --backend B            cpu (default), gpu or auto, for the energy run
  --json                 a JSON report on stdout instead of the table
  --help, -h             this help

Example:
  darboux check --model henon-heiles --method leapfrog --dt 0.05     # exit 0
  darboux check --model henon-heiles --method rk4 --dt 0.1 --claim symplectic   # exit 1`;

/** One measured property: its value, the bound it is held to, whether the method claims it, and the verdict. */
interface CheckResult {
  value: number;
  claimed: boolean | number;
  tolerance?: number;
  pass: boolean | null;
  note?: string;
}

/** The claims of a method, with --claim added. */
function claimsOf(command: string, method: string, order: number, symmetric: boolean, extra: readonly string[]) {
  const claims: { symplectic: boolean; reversible: boolean; order: number; energy?: number } = { symplectic: !NOT_SYMPLECTIC.has(method), reversible: symmetric, order };
  for (const item of extra) {
    const m = /^order=(\d+)$/.exec(item), e = /^energy=(.+)$/.exec(item);
    if (item === 'symplectic') claims.symplectic = true;
    else if (item === 'reversible') claims.reversible = true;
    else if (m) claims.order = Number(m[1]);
    else if (e && Number(e[1]) > 0 && Number.isFinite(Number(e[1]))) claims.energy = Number(e[1]);
    else throw new UsageError(`--claim takes symplectic, reversible, order=N or energy=X (a positive bound), got '${item}'`, command);
  }
  return claims;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Max over the sample states of the relative symplecticity defect of one step. */
function symplecticity(st: Stepper, q0: Float64Array, p0: Float64Array, batch: number): number {
  const n = st.dof;
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const J = st.jacobian(q0.subarray(b * n, (b + 1) * n), p0.subarray(b * n, (b + 1) * n));
    worst = Math.max(worst, symplecticDefect(J) / Math.max(1, maxAbs(J) ** 2));
  }
  return worst;
}

/** The distance back to the start after N steps forward and N steps with −dt (f64 CPU steppers). */
async function reversal(h: Hamiltonian, method: string, dt: number, steps: number, q0: Float64Array, p0: Float64Array, batch: number): Promise<number> {
  const program = stepProgram(h, method);
  const forward = cpuStepper(program, dt), backward = cpuStepper(program, -dt);
  const there = await forward.run({ q0, p0, batch, steps });
  const back = await backward.run({ q0: there.q, p0: there.p, batch, steps, t0: steps * dt });
  forward.dispose(); backward.dispose();
  let worst = 0;
  const n = h.dof;
  for (let b = 0; b < batch; b++) {
    const scale = Math.max(1, maxAbs(q0.subarray(b * n, (b + 1) * n)), maxAbs(p0.subarray(b * n, (b + 1) * n)));
    for (let i = 0; i < n; i++) {
      const k = b * n + i;
      worst = Math.max(worst, Math.abs(back.q[k]! - q0[k]!) / scale, Math.abs(back.p[k]! - p0[k]!) / scale);
    }
  }
  return worst;
}

/** Errors at dt, dt/2, dt/4 after the same time against the method at dt/64, and the order from the finest pair. */
async function measuredOrder(h: Hamiltonian, method: string, dt: number, steps: number, q0: Float64Array, p0: Float64Array, batch: number) {
  const final = async (factor: number) => {
    const st = await compile(h, { method, dt: dt / factor, backend: 'cpu' });
    const res = await st.run({ q0, p0, batch, steps: steps * factor });
    st.dispose();
    return res;
  };
  const reference = await final(64);
  const errors: number[] = [];
  for (const factor of [1, 2, 4]) {
    const res = await final(factor);
    let e = 0;
    for (let i = 0; i < res.q.length; i++) e = Math.max(e, Math.abs(res.q[i]! - reference.q[i]!), Math.abs(res.p[i]! - reference.p[i]!));
    errors.push(e);
  }
  const scale = Math.max(1, maxAbs(reference.q), maxAbs(reference.p));
  const roundoff = errors[2]! < 1e-12 * scale;
  return { errors, order: Math.log2(errors[1]! / errors[2]!), roundoff };
}

/** The energy error of a long run, at 100 recorded frames and the end. */
async function energyDrift(st: Stepper, h: Hamiltonian, q0: Float64Array, p0: Float64Array, batch: number, steps: number, io: CliStreams, quiet: boolean): Promise<number> {
  const every = Math.max(1, Math.floor(steps / 100));
  const bar = progressLine(io, { total: steps, unit: 'steps', label: 'check: energy run', enabled: !quiet });
  const res = await st.run({ q0, p0, batch, steps, record: every, onProgress: ({ stepsDone }) => bar.update(stepsDone) });
  bar.finish();
  const n = h.dof, size = batch * n;
  const states = [...Array.from({ length: res.record!.count }, (_, f) => ({ q: res.record!.q.subarray(f * size, (f + 1) * size), p: res.record!.p.subarray(f * size, (f + 1) * size) })), { q: res.q, p: res.p }];
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const at = (s: { q: Float64Array; p: Float64Array }) => h.energy(s.q.subarray(b * n, (b + 1) * n), s.p.subarray(b * n, (b + 1) * n));
    const e0 = at({ q: q0, p: p0 });
    for (const s of states) worst = Math.max(worst, Math.abs(at(s) - e0) / Math.max(Math.abs(e0), 1e-300));
    if (states.some((s) => Number.isNaN(at(s)))) return NaN;
  }
  return worst;
}

/**
 * `darboux check`: exit 0 when every claimed property holds, 1 when one fails.
 *
 * @example
 * await checkCommand(['--model', 'henon-heiles', '--method', 'leapfrog', '--dt', '0.05'], processStreams()); // 0
 */
export async function checkCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseCommand('check', argv, OPTIONS);
  if (values.help) { io.stdout.write(`${CHECK_USAGE}\n`); return 0; }
  const chosen = chooseSystem('check', values);
  const h = chosen.hamiltonian;
  const method = values.method ?? 'leapfrog';
  const dt = numberFlag('check', 'dt', values.dt, { positive: true }) ?? chosen.model?.dt;
  if (dt === undefined) throw new UsageError('--dt is required (a positive step size)', 'check');
  const steps = numberFlag('check', 'steps', values.steps, { integer: true, positive: true }) ?? 10000;
  const reverseSteps = numberFlag('check', 'reverse-steps', values['reverse-steps'], { integer: true, positive: true }) ?? 100;
  const orderSteps = numberFlag('check', 'order-steps', values['order-steps'], { integer: true, positive: true }) ?? 16;
  const symplecticTol = numberFlag('check', 'symplectic-tol', values['symplectic-tol'], { positive: true }) ?? 1e-10;
  const reverseTol = numberFlag('check', 'reverse-tol', values['reverse-tol'], { positive: true }) ?? 1e-9;
  const backend = backendFlag('check', values.backend);
  const batchFlag = numberFlag('check', 'batch', values.batch, { integer: true, positive: true });
  const { q0, p0, batch } = chooseStates('check', values, chosen, batchFlag ?? (values.q0 === undefined && values.init !== undefined ? 4 : undefined));
  const program = stepProgram(h, method);
  const claims = claimsOf('check', method, program.order, program.symmetric, (values.claim ?? []).flatMap((c) => listFlag(c) ?? []));
  const st = await compile(h, { method, dt, backend });
  const checks: Record<string, CheckResult> = {};
  try {
    const defect = symplecticity(st, q0, p0, batch);
    checks.symplectic = { value: defect, claimed: claims.symplectic, tolerance: symplecticTol, pass: claims.symplectic ? defect <= symplecticTol : null };
    const back = await reversal(h, method, dt, reverseSteps, q0, p0, batch);
    checks.reversible = { value: back, claimed: claims.reversible, tolerance: reverseTol, pass: claims.reversible ? back <= reverseTol : null };
    const order = await measuredOrder(h, method, dt, orderSteps, q0, p0, batch);
    checks.order = {
      value: order.order, claimed: claims.order, tolerance: 0.5,
      pass: order.roundoff ? null : order.order >= claims.order - 0.5,
      note: order.roundoff ? `errors at round-off (${order.errors.map((e) => e.toExponential(1)).join(', ')}): use a larger --dt` : `errors ${order.errors.map((e) => e.toExponential(2)).join(', ')}`,
    };
    const energy = await energyDrift(st, h, q0, p0, batch, steps, io, values.quiet === true || values.json === true);
    checks.energy = claims.energy === undefined
      ? { value: energy, claimed: false, pass: null, note: `${steps} steps` }
      : { value: energy, claimed: true, tolerance: claims.energy, pass: energy <= claims.energy, note: `${steps} steps` };
  } finally {
    st.dispose();
  }
  const pass = Object.values(checks).every((c) => c.pass !== false);
  if (values.json) printJson(io, { command: 'check', system: chosen.label, method, dt, dof: h.dof, batch, backend: st.backend, checks, pass });
  else printTable(io, `${method}, dt ${dt}, ${chosen.label} (dof ${h.dof}, ${batch} state${batch === 1 ? '' : 's'})`, checks, pass);
  return pass ? 0 : 1;
}

function printTable(io: CliStreams, title: string, checks: Record<string, CheckResult>, pass: boolean): void {
  const green = paint(io.stdout, io.env, 32), red = paint(io.stdout, io.env, 31);
  const verdict = (c: CheckResult) => (c.pass === null ? '-' : c.pass ? green('ok') : red('FAIL'));
  const value = (name: string, c: CheckResult) => (name === 'order' ? c.value.toFixed(2) : c.value.toExponential(2));
  const claimed = (name: string, c: CheckResult) => (name === 'order' ? String(c.claimed) : name === 'energy' && !c.claimed ? '-' : c.claimed ? 'yes' : 'no');
  const rows = Object.entries(checks).map(([name, c]) => [name, value(name, c), claimed(name, c), c.tolerance === undefined ? '-' : name === 'order' ? `≥ ${Number(c.claimed) - 0.5}` : `≤ ${c.tolerance.toExponential(0)}`, verdict(c), c.note ?? '']);
  const header = ['property', 'measured', 'claimed', 'bound', 'result', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.replace(/\x1b\[\d+m/g, '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i]! - c.replace(/\x1b\[\d+m/g, '').length)).join('  ').trimEnd();
  io.stdout.write(`check: ${title}\n${line(header)}\n${rows.map(line).join('\n')}\n${pass ? green('all claimed properties hold') : red('a claimed property fails')}\n`);
}
