/**
 * The exact discrete adjoint of a Lagrangian run in its own variables: from (q0, v0) to (q_N, v_N, p_N), through
 * the phase-space adjoint of the step program and, on the host in f64, the momentum map at both ends.
 */
import { DarbouxError } from '../errors.js';
import type { Lagrangian } from '../system/lagrangian.js';
import { luSolve } from '../system/lagrangian-linear.js';
import type { Stepper, VjpMemory, VjpResult } from './stepper.js';

/** Options of `LagrangianStepper.vjp`: the run to differentiate, as `run` takes it, and cotangents of its result. */
export interface LagrangianVjpOptions {
  /** Initial positions, batch × dof. */
  q0: ArrayLike<number>;
  /** Initial velocities, batch × dof. */
  v0: ArrayLike<number>;
  steps: number;
  batch?: number;
  t0?: number;
  /** Cotangents of the final q, v and p (batch × dof each; any may be omitted: zero). */
  dq?: ArrayLike<number>;
  dv?: ArrayLike<number>;
  dp?: ArrayLike<number>;
  /** As for `Stepper.vjp`. */
  memory?: VjpMemory;
  checkpointEvery?: number;
}

/** Result of `LagrangianStepper.vjp`: the gradient of ⟨dq, q_N⟩ + ⟨dv, v_N⟩ + ⟨dp, p_N⟩. */
export interface LagrangianVjpResult {
  /** With respect to q0 (batch × dof). */
  dq0: Float64Array;
  /** With respect to v0 (batch × dof). */
  dv0: Float64Array;
  /** With respect to every parameter of L, by name, summed over the batch. */
  dparams: Record<string, number | Float64Array>;
  memory: VjpResult['memory'];
  stats?: VjpResult['stats'];
}

/** Adds `values` (aligned with L.params) into a by-name gradient record. */
function accumulate(L: Lagrangian, into: Record<string, number | Float64Array>, values: readonly Float64Array[], sign: number): void {
  L.params.forEach((node, k) => {
    const name = node.attrs.name as string, g = values[k]!;
    const current = into[name] ?? (node.shape.length === 0 ? 0 : new Float64Array(g.length));
    if (typeof current === 'number') into[name] = current + sign * g[0]!;
    else for (let i = 0; i < g.length; i++) current[i]! += sign * g[i]!;
    if (typeof current !== 'number') into[name] = current;
  });
}

/**
 * The cotangent (λ_q, λ_s) of the program's final state for cotangents (dq, dv, dp) of (q_N, v_N, p_N), with the
 * parameter gradient of the final momentum map added into `dparams`.
 */
function pullBackFinal(
  L: Lagrangian,
  state: 'momenta' | 'velocities',
  end: { q: Float64Array; s: Float64Array; t: number },
  cotangents: { dq: Float64Array; dv: Float64Array; dp: Float64Array },
  dparams: Record<string, number | Float64Array>,
): { lq: Float64Array; ls: Float64Array } {
  const n = L.dof, { dq, dv, dp } = cotangents, tN = end.t;
  const lq = new Float64Array(dq.length), ls = new Float64Array(dq.length);
  const part = (a: Float64Array, b: number) => a.subarray(b * n, (b + 1) * n);
  for (let b = 0; b < dq.length / n; b++) {
    const q = part(end.q, b), s = part(end.s, b);
    if (state === 'momenta') {
      const v = L.velocities(q, s, tN);
      const w = luSolve(L.factorHessian(q, v, tN, L.hessians(q, v, tN).hessian), part(dv, b));
      const back = L.momentaVjp(q, v, tN, w);
      for (let i = 0; i < n; i++) {
        lq[b * n + i] = dq[b * n + i]! - back.dq[i]!;
        ls[b * n + i] = dp[b * n + i]! + w[i]!;
      }
      accumulate(L, dparams, back.dparams, -1);
    } else {
      const back = L.momentaVjp(q, s, tN, part(dp, b));
      for (let i = 0; i < n; i++) {
        lq[b * n + i] = dq[b * n + i]! + back.dq[i]!;
        ls[b * n + i] = dv[b * n + i]! + back.dv[i]!;
      }
      accumulate(L, dparams, back.dparams, 1);
    }
  }
  return { lq, ls };
}

/**
 * The gradient of ⟨dq, q_N⟩ + ⟨dv, v_N⟩ + ⟨dp, p_N⟩ with respect to (q0, v0, θ). With state (q, s) of the program
 * (s = p for the variational integrators, s = v for rk4): the final cotangents are pulled back through
 * v_N = V(q_N, s_N) (∂L/∂v(q, V) = s: w = (∂²L/∂v²)⁻¹dv, λ_s = dp + w, λ_q = dq − (∂p/∂q)ᵀw, g_θ = −(∂p/∂θ)ᵀw) or
 * through p_N = ∂L/∂v(q_N, v_N) (rk4), then through the phase-space adjoint (`phase.vjp`), then through
 * s0 = ∂L/∂v(q0, v0) (variational). Exact up to rounding, like the phase-space adjoint. @internal
 *
 * @example
 * const { dq0, dv0, dparams } = await lagrangianVjp(L, 'momenta', st.phase, { q0, v0, steps: 100, dq });
 */
export async function lagrangianVjp(
  L: Lagrangian,
  state: 'momenta' | 'velocities',
  phase: Stepper,
  toState: (q: Float64Array, v: Float64Array, t: number) => Float64Array,
  options: LagrangianVjpOptions,
): Promise<LagrangianVjpResult> {
  const n = L.dof, batch = options.batch ?? 1, t0 = options.t0 ?? 0, size = batch * n;
  const flat = (key: 'q0' | 'v0' | 'dq' | 'dv' | 'dp', required: boolean) => {
    const a = options[key];
    if (a === undefined && !required) return new Float64Array(size);
    if (a === undefined || a.length !== size) throw new DarbouxError('INPUT', `${key} must have length batch·dof = ${batch}·${n} = ${size}, got ${a?.length}`, { key });
    return Float64Array.from(a);
  };
  if (!Number.isInteger(batch) || batch < 1) throw new DarbouxError('INPUT', `batch must be a positive integer, got ${batch}`);
  const [q0, v0, dq, dv, dp] = [flat('q0', true), flat('v0', true), flat('dq', false), flat('dv', false), flat('dp', false)];
  const s0 = new Float64Array(size);
  const part = (a: Float64Array, b: number) => a.subarray(b * n, (b + 1) * n);
  for (let b = 0; b < batch; b++) s0.set(toState(part(q0, b), part(v0, b), t0), b * n);
  const end = await phase.run({ q0, p0: s0, steps: options.steps, batch, t0 });
  const tN = t0 + options.steps * phase.dt;
  const dparams: Record<string, number | Float64Array> = {};
  const { lq, ls } = pullBackFinal(L, state, { q: end.q, s: end.p, t: tN }, { dq, dv, dp }, dparams);
  const g = await phase.vjp({ q0, p0: s0, steps: options.steps, batch, t0, dq: lq, dp: ls, memory: options.memory, checkpointEvery: options.checkpointEvery });
  for (const [name, value] of Object.entries(g.dparams)) {
    const current = dparams[name];
    if (current === undefined) dparams[name] = value;
    else if (typeof current === 'number') dparams[name] = current + (value as number);
    else (value as Float64Array).forEach((x, i) => (current[i]! += x));
  }
  const dq0 = Float64Array.from(g.dq0), dv0 = Float64Array.from(g.dp0);
  if (state === 'momenta') {
    for (let b = 0; b < batch; b++) {
      const back = L.momentaVjp(part(q0, b), part(v0, b), t0, part(g.dp0, b));
      for (let i = 0; i < n; i++) {
        dq0[b * n + i]! += back.dq[i]!;
        dv0[b * n + i] = back.dv[i]!;
      }
      accumulate(L, dparams, back.dparams, 1);
    }
  }
  return { dq0, dv0, dparams, memory: g.memory, ...(g.stats ? { stats: g.stats } : {}) };
}
