/**
 * Poincaré sections, events and saved steps of `run`, shared by both backends: the options (`section`,
 * `saveAt`, `saveAtSteps`) checked and resolved against a system, the result arrays, and the f64 location of a
 * crossing from the states at both ends of a step (cubic Hermite interpolation of g along the step, then Newton
 * corrections of the fractional step τ with the step's own map Φ_τ).
 *
 * Layouts: `section.t` is batch × max (trajectory b's k-th crossing at b·max + k), `section.q`/`section.p` are
 * batch × max × dof; `saved.q`/`saved.p` are save × batch × dof (as `record`). Crossing times are
 * t0 + n·dt + τ (n the crossing step, dt the nominal step size, in f64 on both backends). The CPU runs these with
 * its single-threaded section runner (the `threads` setting does not apply); systems up to 64 dof on the CPU and
 * 32 on the GPU.
 */
import { DarbouxError, showValue } from '../errors.js';
import { add, dot, index, sub } from '../ir/build.js';
import { Expr } from '../ir/expr.js';
import { FORMULA_FUNCTIONS, parseFormula } from '../ir/parser.js';
import { topologicalOrder } from '../ir/traverse.js';
import { gradient } from '../autodiff/vjp.js';
import type { System } from '../system/system.js';
import { compileJs } from '../codegen/emit-js.js';

/** The `section` option of `run`. */
export interface SectionOptions {
  /**
   * The section function g: a formula string in the formula syntax over the names of q, p, the parameters and
   * `t` (the time), or an expression node of the system (the DSL). Crossings of g = 0 are recorded.
   */
  expr: string | Expr;
  /** +1: only where g goes from negative to non-negative; −1: positive to non-positive; 0 (default): both. */
  direction?: 1 | -1 | 0;
  /** Crossings stored per trajectory (default 1000, at most 10⁶ / batch, at least 1); later ones are counted in `overflowed`. */
  max?: number;
  /** End each trajectory at its first crossing (an event): its final state is the crossing state. */
  stop?: boolean;
}

/** `result.section`: the located crossings of each trajectory (layouts in the module comment). */
export interface SectionResult {
  /** Slots per trajectory. */
  max: number;
  /** Crossings stored per trajectory (at most `max`). */
  count: Uint32Array;
  /** Crossings found beyond `max`, counted but not stored. */
  overflowed: Uint32Array;
  /** Crossing times, batch × max (unused slots NaN). */
  t: Float64Array;
  /** Crossing states, batch × max × dof (unused slots NaN). */
  q: Float64Array;
  p: Float64Array;
  /** Trajectories that stopped at an event (`stop: true`): 1, else 0. */
  stopped: Uint8Array;
}

/** `result.saved`: the states at the steps of `saveAt` / `saveAtSteps`. */
export interface SavedResult {
  /** The time of each saved state, t0 + step·dt. */
  t: Float64Array;
  /** The step count of each saved state. */
  steps: Int32Array;
  /** States, save × batch × dof (after an event stop: NaN). */
  q: Float64Array;
  p: Float64Array;
}

/** A checked `section` option, with g as an expression of the system. */
export interface ResolvedSection {
  g: Expr;
  direction: 1 | -1 | 0;
  max: number;
  stop: boolean;
}

/**
 * Checks `section` against a system (OPTION for anything wrong, naming the value) and resolves its expression.
 *
 * @example
 * const s = resolveSection(h, { expr: 'y', direction: 1, max: 500 }, 1000); // s.g is index(h.q, 1)
 */
export function resolveSection(system: System, section: unknown, batch: number): ResolvedSection | null {
  if (section === undefined) return null;
  if (section === null || typeof section !== 'object' || Array.isArray(section)) {
    throw new DarbouxError('OPTION', `section must be { expr, direction?, max?, stop? }, got ${showValue(section)}`, { name: 'section', value: showValue(section) });
  }
  const s = section as Record<string, unknown>;
  const direction = s.direction ?? 0;
  if (direction !== 1 && direction !== -1 && direction !== 0) {
    throw new DarbouxError('OPTION', `section.direction must be 1, -1 or 0, got ${showValue(direction)}`, { name: 'section.direction', value: showValue(direction) });
  }
  const max = s.max ?? Math.max(1, Math.min(1000, Math.floor(1e6 / batch)));
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1 || max * batch > 2 ** 28) {
    throw new DarbouxError('OPTION', `section.max must be a positive integer with max·batch ≤ 2^28, got ${showValue(max)} (batch ${batch})`, { name: 'section.max', value: showValue(max) });
  }
  if (s.stop !== undefined && typeof s.stop !== 'boolean') {
    throw new DarbouxError('OPTION', `section.stop must be true or false, got ${showValue(s.stop)}`, { name: 'section.stop', value: showValue(s.stop) });
  }
  return { g: sectionExpression(system, s.expr), direction, max, stop: s.stop === true };
}

/** The section function as an expression of the system: a parsed formula, or a checked DSL node. */
function sectionExpression(system: System, expr: unknown): Expr {
  if (typeof expr === 'string') {
    const scope = new Map<string, Expr>();
    system.names.q.forEach((n, i) => scope.set(n, index(system.q, i)));
    system.names.p.forEach((n, i) => scope.set(n, index(system.p, i)));
    for (const node of system.params) scope.set(node.attrs.name as string, node);
    if (!scope.has('t') && !FORMULA_FUNCTIONS.has('t')) scope.set('t', system.time);
    const g = parseFormula(expr, scope, { finiteConstants: true });
    return g;
  }
  if (!(expr instanceof Expr)) {
    throw new DarbouxError('OPTION', `section.expr must be a formula string (names of q, p, parameters and t) or an expression of the system, got ${showValue(expr)}`, { name: 'section.expr', value: showValue(expr) });
  }
  if (expr.shape.length !== 0) throw new DarbouxError('OPTION', `section.expr must be a scalar expression, got shape [${expr.shape.join(', ')}]`, { name: 'section.expr', shape: [...expr.shape] });
  const allowed = new Set<Expr>([system.q, system.p, system.time, ...system.params]);
  const foreign = topologicalOrder([expr]).find((node) => node.op === 'input' && !allowed.has(node));
  if (foreign !== undefined) {
    throw new DarbouxError('OPTION', `section.expr reads the input '${String(foreign.attrs.name)}', which is not q, p, t or a parameter of this system: build it from the system's own inputs`, { name: 'section.expr', input: String(foreign.attrs.name) });
  }
  return expr;
}

/**
 * The step counts of `saveAt` (times: each must be t0 + k·dt for an integer k within rounding) or `saveAtSteps`,
 * strictly increasing and within 0…steps; OPTION otherwise, naming the value. Empty when neither is given.
 *
 * @example
 * resolveSaveSteps({ saveAt: [0.5, 1] }, 0.01, 0, 1000); // Int32Array [50, 100]
 */
export function resolveSaveSteps(options: { saveAt?: unknown; saveAtSteps?: unknown }, dt: number, t0: number, steps: number): Int32Array {
  const { saveAt, saveAtSteps } = options;
  if (saveAt !== undefined && saveAtSteps !== undefined) {
    throw new DarbouxError('OPTION', 'give saveAt (times) or saveAtSteps (step counts), not both', { name: 'saveAt' });
  }
  const name = saveAt !== undefined ? 'saveAt' : 'saveAtSteps';
  const list = saveAt ?? saveAtSteps;
  if (list === undefined) return new Int32Array(0);
  if (!Array.isArray(list) && !ArrayBuffer.isView(list)) {
    throw new DarbouxError('OPTION', `${name} must be an array of ${name === 'saveAt' ? 'times' : 'step counts'}, got ${showValue(list)}`, { name, value: showValue(list) });
  }
  const values = Array.from(list as ArrayLike<unknown>);
  const out = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DarbouxError('OPTION', `${name}[${i}] must be a finite number, got ${showValue(v)}`, { name, index: i, value: showValue(v) });
    const k = name === 'saveAt' ? stepOfTime(v, i, dt, t0) : v;
    if (!Number.isInteger(k) || k < 0 || k > steps) {
      throw new DarbouxError('OPTION', `${name}[${i}] = ${v} is ${name === 'saveAt' ? `step ${k}, ` : ''}outside the run (steps 0…${steps}${name === 'saveAt' ? `, times ${t0}…${t0 + steps * dt}` : ''})`, { name, index: i, value: v });
    }
    if (i > 0 && k <= out[i - 1]!) {
      throw new DarbouxError('OPTION', `${name} must be strictly increasing${name === 'saveAt' && dt < 0 ? ' in steps (decreasing times for dt < 0)' : ''}: ${name}[${i}] = ${v} comes after ${showValue(values[i - 1])}`, { name, index: i, value: v });
    }
    out[i] = k;
  });
  return out;
}

/** The step count k of a time t = t0 + k·dt, or OPTION when t is not on the step grid within rounding. */
function stepOfTime(t: number, i: number, dt: number, t0: number): number {
  const k = (t - t0) / dt;
  const nearest = Math.round(k);
  if (Math.abs(k - nearest) > Math.max(1e-9, 64 * Number.EPSILON * Math.abs(k))) {
    throw new DarbouxError(
      'OPTION',
      `saveAt[${i}] = ${t} is not a step time (t0 + k·dt with t0 = ${t0}, dt = ${dt}: k = ${k}); states are saved at exact steps only: use the nearest step time ${t0 + nearest * dt} or saveAtSteps`,
      { name: 'saveAt', index: i, value: t },
    );
  }
  return nearest;
}

/**
 * Empty section arrays (NaN in unused slots) for `batch` trajectories.
 *
 * @example
 * const out = sectionArrays(1000, 500, 2);
 */
export function sectionArrays(batch: number, max: number, dof: number): SectionResult {
  return {
    max,
    count: new Uint32Array(batch),
    overflowed: new Uint32Array(batch),
    t: new Float64Array(batch * max).fill(NaN),
    q: new Float64Array(batch * max * dof).fill(NaN),
    p: new Float64Array(batch * max * dof).fill(NaN),
    stopped: new Uint8Array(batch),
  };
}

/**
 * Saved-state arrays, with the slots of step 0 holding the initial state (the rest NaN until written).
 *
 * @example
 * const saved = savedArrays(steps, q0, p0, batch, dof, dt, t0);
 */
export function savedArrays(saveSteps: Int32Array, q0: ArrayLike<number>, p0: ArrayLike<number>, batch: number, dof: number, dt: number, t0: number): SavedResult {
  const m = batch * dof;
  const saved: SavedResult = {
    t: Float64Array.from(saveSteps, (k) => t0 + k * dt),
    steps: saveSteps,
    q: new Float64Array(saveSteps.length * m).fill(NaN),
    p: new Float64Array(saveSteps.length * m).fill(NaN),
  };
  if (saveSteps[0] === 0) {
    for (let j = 0; j < m; j++) {
      saved.q[j] = q0[j]!;
      saved.p[j] = p0[j]!;
    }
  }
  return saved;
}

/**
 * dg/dt along the flow of a Hamiltonian system as an expression: ∇_q g·∂H/∂p − ∇_p g·∂H/∂q + ∂g/∂t (SPEC for a
 * system without H: its vector field locates the crossings).
 *
 * @example
 * sectionRate(h, index(h.q, 1)); // ẏ = ∂H/∂p_y
 */
export function sectionRate(system: System, g: Expr): Expr {
  const H = (system as { H?: unknown }).H;
  if (!(H instanceof Expr)) throw new DarbouxError('SPEC', 'sections need a Hamiltonian system (its vector field locates the crossings)', { dof: system.dof });
  const [gq, gp, gt] = gradient(g, [system.q, system.p, system.time]);
  const [Hq, Hp] = gradient(H, [system.q, system.p]);
  return add(gt!, sub(dot(gq!, Hp!), dot(gp!, Hq!)));
}

/**
 * g and its time derivative along the flow, dg/dt = ∇_q g·∂H/∂p − ∇_p g·∂H/∂q + ∂g/∂t, at a point (with the
 * system's parameter values, or `params` aligned with `system.params`: a trajectory's values in a sweep).
 */
export type SectionProbe = (q: Float64Array, p: Float64Array, t: number, params?: readonly Float64Array[]) => { g: number; rate: number };

/**
 * The f64 probe of a section function for a Hamiltonian system (SPEC for a system without H).
 *
 * @example
 * const probe = sectionProbe(h, index(h.q, 1)); probe(q, p, 0).rate; // ẏ = p_y
 */
export function sectionProbe(system: System, g: Expr): SectionProbe {
  let bySystem = probeCache.get(system);
  if (bySystem === undefined) probeCache.set(system, (bySystem = new Map()));
  let probe = bySystem.get(g);
  if (probe === undefined) bySystem.set(g, (probe = compileProbe(system, g)));
  return probe;
}

const probeCache = new WeakMap<System, Map<Expr, SectionProbe>>();

/** The compiled probe of `sectionProbe`. */
function compileProbe(system: System, g: Expr): SectionProbe {
  const f = compileJs([system.q, system.p, system.time, ...system.params], [g, sectionRate(system, g)]);
  const outs = [new Float64Array(1), new Float64Array(1)];
  const tIn = new Float64Array(1);
  const inputs: Float64Array[] = [new Float64Array(0), new Float64Array(0), tIn, ...system.paramValues];
  const count = system.params.length;
  return (q, p, t, params) => {
    tIn[0] = t;
    inputs[0] = q;
    inputs[1] = p;
    for (let k = 0; k < count; k++) inputs[3 + k] = params?.[k] ?? system.paramValues[k]!;
    f(inputs, outs);
    return { g: outs[0]![0]!, rate: outs[1]![0]! };
  };
}

/** A run's resolved `section` and saved steps, with the result arrays they fill. */
export interface RunExtras {
  section: ResolvedSection | null;
  saveSteps: Int32Array;
  sectionOut: SectionResult | null;
  saved: SavedResult | null;
}

/**
 * Resolves `section`, `saveAt` and `saveAtSteps` of a run (null when it has none), refusing (OPTION) a section
 * with `stop` together with `record`, and systems larger than `maxDof`.
 *
 * @example
 * const extras = runExtras(h, options, { dt, t0, steps, batch, record, maxDof: 64 });
 */
export function runExtras(
  system: System,
  options: { section?: unknown; saveAt?: unknown; saveAtSteps?: unknown; q0: ArrayLike<number>; p0: ArrayLike<number> },
  run: { dt: number; t0: number; steps: number; batch: number; record: number; maxDof: number },
): RunExtras | null {
  if (options.section === undefined && options.saveAt === undefined && options.saveAtSteps === undefined) return null;
  if (system.dof > run.maxDof) {
    throw new DarbouxError('OPTION', `section and saveAt take systems of at most ${run.maxDof} degrees of freedom on this backend, got ${system.dof}: use record`, { name: 'section', dof: system.dof });
  }
  const section = resolveSection(system, options.section, run.batch);
  if (section?.stop === true && run.record > 0) {
    throw new DarbouxError('OPTION', 'section.stop cannot be combined with record (a stopped trajectory has no later snapshots): use saveAt', { name: 'section.stop' });
  }
  const saveSteps = resolveSaveSteps(options, run.dt, run.t0, run.steps);
  return {
    section,
    saveSteps,
    sectionOut: section === null ? null : sectionArrays(run.batch, section.max, system.dof),
    saved: options.saveAt === undefined && options.saveAtSteps === undefined ? null : savedArrays(saveSteps, options.q0, options.p0, run.batch, system.dof, run.dt, run.t0),
  };
}

/**
 * OPTION for `section`, `saveAt` or `saveAtSteps` given to a stepper that does not take them (`where` names it).
 *
 * @example
 * refuseSectionOptions(options, 'the GPU particle kernels'); // throws when options.section is set
 */
export function refuseSectionOptions(options: { section?: unknown; saveAt?: unknown; saveAtSteps?: unknown }, where: string): void {
  const given = (['section', 'saveAt', 'saveAtSteps'] as const).find((name) => options[name] !== undefined);
  if (given === undefined) return;
  throw new DarbouxError('OPTION', `${given} is not available on ${where}: use the per-trajectory kernels (compile with particleKernel: 'off') or the CPU backend`, { name: given });
}
