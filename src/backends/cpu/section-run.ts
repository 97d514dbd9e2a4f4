/**
 * CPU runs with Poincaré sections, events and saved steps: the generated section runner (codegen/section-js.ts)
 * tests g after every step and writes the saved steps; at a crossing it calls back into `locateCrossing`, which
 * finds the fractional step τ ∈ (0, dt] with g(Φ_τ(z_n)) = 0 in f64: a cubic Hermite interpolation of g along
 * the step (g and dg/dt from the vector field at both ends) gives the first τ, then Newton corrections use the
 * step's own map Φ_τ (the plain runner with step τ) until τ stops changing at rounding level (at most 3).
 */
import { compileJsSectionRunner, type JsSectionRunner, type SectionRunState } from '../../codegen/section-js.js';
import type { JsRunFailure, JsRunner, JsRunStatus } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { Expr } from '../../ir/expr.js';
import type { StepProgram } from '../../integrators/step-program.js';
import type { RunControl } from '../run-control.js';
import { sectionProbe, type ResolvedSection, type SectionProbe, type SectionResult, type SavedResult } from '../sections.js';
import type { TrajectoryParams } from '../run-params.js';
import { trajectoryParamArrays } from './trajectory-runs.js';
import { runWindowed, type WindowedRunArgs, type WindowedRunStatus } from './windowed-run.js';

const runnerCache = new WeakMap<StepProgram, Map<Expr | null, JsSectionRunner>>();

/** The section runner of a program for g (null: saved steps only), compiled once per program and g. */
function sectionRunner(program: StepProgram, settings: FixedPointSettings, g: Expr | null): JsSectionRunner {
  let byG = runnerCache.get(program);
  if (byG === undefined) runnerCache.set(program, (byG = new Map()));
  let runner = byG.get(g);
  if (runner === undefined) byG.set(g, (runner = compileJsSectionRunner(program, settings, g)));
  return runner;
}

/** What `runSections` needs besides the plain run's arguments. */
export interface SectionRunRequest {
  program: StepProgram;
  settings: FixedPointSettings;
  /** The plain runner (its step with dt = τ is the fractional step Φ_τ). */
  plain: JsRunner;
  section: ResolvedSection | null;
  sectionOut: SectionResult | null;
  saveSteps: Int32Array;
  saved: SavedResult | null;
  /**
   * Per-trajectory parameters (a sweep): `program` and `plain` then read them from their params argument, and the
   * run calls the runner one trajectory at a time with that trajectory's values (the crossing locator too).
   */
  sweep?: TrajectoryParams | null;
}

/**
 * Runs the batch with the section runner in windows (as `runWindowed`), locating and storing every crossing.
 *
 * @example
 * const status = await runSections(args, { program, settings, plain, section, sectionOut, saveSteps, saved }, control);
 */
export async function runSections(a: WindowedRunArgs, r: SectionRunRequest, control: RunControl): Promise<WindowedRunStatus> {
  const n = r.program.system.dof;
  const runner = sectionRunner(r.program, r.settings, r.section?.g ?? null);
  const probe = r.section === null ? null : sectionProbe(r.program.system, r.section.g);
  const state: SectionRunState = {
    direction: r.section?.direction ?? 0,
    old: new Float64Array(2 * n),
    next: new Float64Array(2 * n),
    z: new Float64Array(2 * n),
    stopped: r.sectionOut?.stopped ?? new Uint8Array(a.batch),
    hit: () => false,
    saveSteps: r.saveSteps,
    savedQ: r.saved?.q ?? new Float64Array(0),
    savedP: r.saved?.p ?? new Float64Array(0),
  };
  const values = r.sweep ? trajectoryParamArrays(a.params, r.sweep) : null;
  const params = values?.arrays ?? a.params; // trajectory b's values while b runs (set below)
  if (r.section !== null && r.sectionOut !== null && probe !== null) {
    const locate = crossingLocator(r.plain, probe, { ...a, params }, n);
    const out = r.sectionOut, section = r.section;
    state.hit = (b, s) => {
      const t = locate(state, s);
      const k = out.count[b]!;
      if (k < section.max) {
        const slot = b * section.max + k;
        out.t[slot] = t;
        for (let i = 0; i < n; i++) {
          out.q[slot * n + i] = state.z[i]!;
          out.p[slot * n + i] = state.z[n + i]!;
        }
        out.count[b] = k + 1;
      } else {
        out.overflowed[b]!++;
      }
      if (!section.stop) return false;
      out.stopped[b] = 1;
      return true;
    };
  }
  const windowed: JsRunner = Object.assign(
    (Q: Float64Array, P: Float64Array, params: readonly Float64Array[], batch: number, steps: number, dt: number, t0: number, every: number, rq: Float64Array | null, rp: Float64Array | null, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps) =>
      values === null
        ? runner(Q, P, params, batch, steps, dt, t0, every, rq, rp, bFrom, bTo, sFrom, sTo, state)
        : sweepWindow((b) => {
            values.setTrajectory(b);
            return runner(Q, P, values.arrays, batch, steps, dt, t0, every, rq, rp, b, b + 1, sFrom, sTo, state);
          }, bFrom, bTo),
    { source: runner.source },
  );
  return runWindowed(windowed, a, control);
}

/** A window of a sweep: one runner call per trajectory (`call(b)`), their statuses merged. */
function sweepWindow(call: (b: number) => JsRunStatus, bFrom: number, bTo: number): JsRunStatus {
  const out: JsRunStatus & { failures: JsRunFailure[] } = { failure: null, failures: [], iterationsTotal: 0, iterationsMax: 0 };
  for (let b = bFrom; b < bTo; b++) {
    const status = call(b);
    out.iterationsTotal += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
    out.failures.push(...status.failures!);
  }
  out.failure = out.failures[0] ?? null;
  return out;
}

/** Newton corrections of τ with the step map after the Hermite guess (each also stops once τ changes by rounding only). */
const NEWTON_CORRECTIONS = 3;

/**
 * The crossing locator: from `state.old`, `state.next` (the states before and after step s) it puts the crossing
 * state in `state.z` and returns its time.
 */
function crossingLocator(plain: JsRunner, probe: SectionProbe, a: WindowedRunArgs, n: number) {
  const zq = new Float64Array(n), zp = new Float64Array(n);
  const oq = new Float64Array(n), op = new Float64Array(n), nq = new Float64Array(n), np = new Float64Array(n);
  const dt = a.dt;
  /** Φ_τ(z_n) into zq, zp (the step from the old state with step size τ, at the step's start time). */
  const fractionalStep = (tau: number, tn: number) => {
    zq.set(oq);
    zp.set(op);
    plain(zq, zp, a.params, 1, 1, tau, tn, 0, null, null);
  };
  return (state: SectionRunState, s: number): number => {
    for (let i = 0; i < n; i++) {
      oq[i] = state.old[i]!; op[i] = state.old[n + i]!;
      nq[i] = state.next[i]!; np[i] = state.next[n + i]!;
    }
    const tn = a.t0 + s * dt;
    const start = probe(oq, op, tn, a.params), end = probe(nq, np, tn + dt, a.params);
    let tau = hermiteRoot(start.g, start.rate * dt, end.g, end.rate * dt) * dt;
    for (let k = 0; k < NEWTON_CORRECTIONS; k++) {
      fractionalStep(tau, tn);
      const at = probe(zq, zp, tn + tau, a.params);
      if (!(at.rate !== 0 && Number.isFinite(at.g / at.rate))) break;
      const next = clampStep(tau - at.g / at.rate, dt);
      const change = Math.abs(next - tau);
      tau = next;
      if (change <= 4 * Number.EPSILON * Math.abs(dt)) break;
    }
    fractionalStep(tau, tn);
    for (let i = 0; i < n; i++) {
      state.z[i] = zq[i]!;
      state.z[n + i] = zp[i]!;
    }
    return tn + tau;
  };
}

/** τ kept within the step: between 0 (exclusive) and dt (sign of dt). */
function clampStep(tau: number, dt: number): number {
  const u = tau / dt;
  return (u <= 0 ? Number.EPSILON : u > 1 ? 1 : u) * dt;
}

/**
 * The root in (0, 1] of the cubic Hermite interpolant of g over one step, from g and its derivative (per unit of
 * the step, i.e. dg/dt·dt) at both ends, where g0 and g1 have opposite signs (or g1 = 0): safeguarded Newton
 * from the secant root, bisection when a step leaves the bracket.
 *
 * @example
 * hermiteRoot(-1, 2, 1, 2); // 0.5 (g = 2u − 1)
 */
export function hermiteRoot(g0: number, d0: number, g1: number, d1: number): number {
  if (g1 === 0) return 1;
  const value = (u: number) => {
    const u2 = u * u, u3 = u2 * u;
    return (2 * u3 - 3 * u2 + 1) * g0 + (u3 - 2 * u2 + u) * d0 + (-2 * u3 + 3 * u2) * g1 + (u3 - u2) * d1;
  };
  const slope = (u: number) => {
    const u2 = u * u;
    return (6 * u2 - 6 * u) * g0 + (3 * u2 - 4 * u + 1) * d0 + (-6 * u2 + 6 * u) * g1 + (3 * u2 - 2 * u) * d1;
  };
  let lo = 0, hi = 1;
  let u = g0 / (g0 - g1);
  for (let k = 0; k < 40; k++) {
    const v = value(u);
    if (v === 0) return u;
    if (Math.sign(v) === Math.sign(g0)) lo = u;
    else hi = u;
    const d = slope(u);
    let next = d !== 0 ? u - v / d : NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - u) <= 2 * Number.EPSILON) return next;
    u = next;
  }
  return u;
}
