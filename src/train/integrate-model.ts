import { DarbouxError, showValue } from '../errors.js';
import { compile } from '../backends/compile.js';
import { compileJs } from '../codegen/emit-js.js';
import type { NeuralModel } from '../models/neural/model.js';

/** Options of `integrateModel`. */
export interface IntegrateModelOptions {
  /** Initial positions and momenta, batch × dof (trajectory-major). */
  q0: ArrayLike<number>;
  p0: ArrayLike<number>;
  /** Number of steps (sympnet: applications of the learned map). */
  steps: number;
  /** Step size (hnn, mlpField); a sympnet's step is the one it was trained at. */
  dt?: number;
  /** hnn: integration method of `compile` (default 'gauss4', symplectic for any H); lnn: 'variationalMidpoint' (default), 'variationalTrapezoid' or 'rk4'. */
  method?: string;
  /** Number of trajectories (default 1). */
  batch?: number;
  /** hnn: backend of `compile` (default 'cpu', f64). */
  backend?: 'cpu' | 'gpu' | 'auto';
}

/**
 * Integrates a learned model: an `hnn` through `compile` (a symplectic method), an `lnn` through `compile` of its
 * Lagrangian (p0 and the returned p are then velocities), an `mlpField` by classical RK4
 * on its vector field (the unconstrained, non-symplectic baseline), a `sympnet` by iterating its map. Returns
 * every state including the initial one: (steps + 1) × batch × dof, f64 — the layout of `st.run({ record: 1,
 * recordInitial: true })`, which the hnn and lnn paths return directly.
 *
 * @example
 * const { q, p } = await integrateModel(model, { q0: [1], p0: [0], steps: 300, dt: 0.1 });
 */
export async function integrateModel(model: NeuralModel, options: IntegrateModelOptions): Promise<{ q: Float64Array; p: Float64Array }> {
  const n = model.dof, batch = options.batch ?? 1, steps = options.steps;
  if (!Number.isInteger(steps) || steps < 0) throw new DarbouxError('INPUT', `integrateModel: steps must be a non-negative integer, got ${steps}`);
  if (options.q0.length !== batch * n || options.p0.length !== batch * n) {
    throw new DarbouxError('INPUT', `integrateModel: q0 and p0 need batch·dof = ${batch * n} values, got ${options.q0.length} and ${options.p0.length}`);
  }
  if (model.kind === 'lnn') {
    // An lnn's second slot holds velocities: p0 is v0, and the returned p the velocities (not the momenta).
    const st = await compile(model.lagrangian!, { method: options.method ?? 'variationalMidpoint', dt: requireDt(options.dt), backend: options.backend ?? 'cpu' });
    try {
      // The run's own record, initial state first (recordInitial), is the whole trajectory.
      const r = await st.run({ q0: options.q0, v0: options.p0, steps, batch, record: 1, recordInitial: true });
      return { q: r.record!.q, p: r.record!.v };
    } finally {
      st.dispose();
    }
  }
  if (model.kind === 'hnn') {
    const dt = requireDt(options.dt);
    const st = await compile(model.hamiltonian!, { method: options.method ?? 'gauss4', dt, backend: options.backend ?? 'cpu' });
    try {
      // The run's own record, initial state first (recordInitial): on the GPU the initial state is q0, p0 in f32.
      const r = await st.run({ q0: options.q0, p0: options.p0, steps, batch, record: 1, recordInitial: true });
      return { q: r.record!.q, p: r.record!.p };
    } finally {
      st.dispose();
    }
  }
  const Q = new Float64Array((steps + 1) * batch * n), P = new Float64Array((steps + 1) * batch * n);
  Q.set(Float64Array.from(options.q0));
  P.set(Float64Array.from(options.p0));
  const values = model.paramNodes.map((node) => model.params[node.attrs.name as string]!);
  const exprs = model.kind === 'sympnet' ? model.map!() : model.field!();
  const f = compileJs([model.q, model.p, ...model.paramNodes], [exprs.q, exprs.p]);
  const fq = new Float64Array(n), fp = new Float64Array(n);
  const evaluate = (q: ArrayLike<number>, p: ArrayLike<number>) => f([q, p, ...values], [fq, fp]);
  if (model.kind === 'sympnet') {
    for (let s = 0; s < steps; s++) {
      for (let b = 0; b < batch; b++) {
        const at = (s * batch + b) * n, to = at + batch * n;
        evaluate(Q.subarray(at, at + n), P.subarray(at, at + n));
        Q.set(fq, to);
        P.set(fp, to);
      }
    }
    return { q: Q, p: P };
  }
  // Classical RK4 on the learned field.
  const h = requireDt(options.dt);
  const kq = Array.from({ length: 4 }, () => new Float64Array(n)), kp = Array.from({ length: 4 }, () => new Float64Array(n));
  const tq = new Float64Array(n), tp = new Float64Array(n);
  for (let s = 0; s < steps; s++) {
    for (let b = 0; b < batch; b++) {
      const at = (s * batch + b) * n, to = at + batch * n;
      const q = Q.subarray(at, at + n), p = P.subarray(at, at + n);
      for (let k = 0; k < 4; k++) {
        const c = k === 0 ? 0 : k === 3 ? h : h / 2;
        for (let i = 0; i < n; i++) {
          tq[i] = q[i]! + (k === 0 ? 0 : c * kq[k - 1]![i]!);
          tp[i] = p[i]! + (k === 0 ? 0 : c * kp[k - 1]![i]!);
        }
        evaluate(tq, tp);
        kq[k]!.set(fq);
        kp[k]!.set(fp);
      }
      for (let i = 0; i < n; i++) {
        Q[to + i] = q[i]! + (h / 6) * (kq[0]![i]! + 2 * kq[1]![i]! + 2 * kq[2]![i]! + kq[3]![i]!);
        P[to + i] = p[i]! + (h / 6) * (kp[0]![i]! + 2 * kp[1]![i]! + 2 * kp[2]![i]! + kp[3]![i]!);
      }
    }
  }
  return { q: Q, p: P };
}

function requireDt(dt: number | undefined): number {
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt <= 0) throw new DarbouxError('OPTION', `integrateModel: dt must be a finite positive number, got ${showValue(dt)}`);
  return dt;
}
