/**
 * Trajectory training of an lnn: windows of rk4 on the learned Euler–Lagrange ODE compared with observed (q, v)
 * (or of a variational integrator: positions and discrete velocities against the data's finite differences),
 * gradients by the exact discrete adjoint (checked against central finite differences), and a fit on a 1-D
 * oscillator whose learned L reproduces held-out motion better than the initial one.
 */
import { describe, expect, it } from 'vitest';
import { DarbouxError, fit, integrateModel, lnn } from '../../src/index.js';
import { size } from '../../src/ir/shape.js';
import { checkTrajectories, trajectoryObjective } from '../../src/train/trajectory-fit.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { lnnWindowPlan } from '../../src/train/lnn-trajectory-gpu.js';
import { resolveFitOptions } from '../../src/train/options.js';

/** |output weights|: with one softplus layer L is then convex in v (∂²L/∂v² > 0, the EL ODE regular). */
function convexInV(model: ReturnType<typeof lnn>) {
  return model.withParams({ 'L.out.w': model.params['L.out.w']!.map(Math.abs) });
}

/** Trajectories of the oscillator L = v²/2 − ω²q²/2 (closed form), velocities in the second slot. */
function oscillator(starts: readonly (readonly [number, number])[], dt: number, length: number, omega = 1) {
  const q = new Float64Array(starts.length * length), p = new Float64Array(starts.length * length);
  starts.forEach(([amplitude, phase], k) => {
    for (let j = 0; j < length; j++) {
      q[k * length + j] = amplitude * Math.cos(omega * j * dt + phase);
      p[k * length + j] = -amplitude * omega * Math.sin(omega * j * dt + phase);
    }
  });
  return { q, p, dt, length };
}

describe('lnn trajectory training', () => {
  it.each(['rk4', 'variationalMidpoint', 'variationalTrapezoid'])('the rollout loss gradient (exact adjoint through %s) matches central finite differences', async (method) => {
    const model = convexInV(lnn({ dof: 1, hidden: [4], seed: 3 }));
    const data = oscillator([[0.8, 0.1], [0.5, 2]], 0.1, 6);
    const objective = trajectoryObjective(model, data, { method, horizon: 3 });
    const params = model.lagrangian.params;
    const theta = new Float64Array(objective.sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const node of params) {
      theta.set(model.params[node.attrs.name as string]!, at);
      at += size(node.shape);
    }
    const rows = Uint32Array.from({ length: objective.windows }, (_, i) => i);
    const grad = new Float64Array(theta.length), scratch = new Float64Array(theta.length);
    const loss = await objective.evaluate(theta, rows, grad);
    expect(loss).toBeGreaterThan(1e-4);
    let worst = 0;
    for (let i = 0; i < theta.length; i++) {
      const h = 1e-5, plus = theta.slice(), minus = theta.slice();
      plus[i]! += h;
      minus[i]! -= h;
      const fd = ((await objective.evaluate(plus, rows, scratch)) - (await objective.evaluate(minus, rows, scratch))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[i]!) / (1e-6 + Math.abs(fd)));
    }
    expect(worst).toBeLessThan(1e-5);
    expect(Math.hypot(...grad)).toBeGreaterThan(1e-6);
  });

  it.each([
    // measured: loss 5.6e-2 → 2.3e-4, held-out RMS error 1.81 → 0.067
    { method: 'rk4', horizon: 4, steps: 200, batchSize: undefined, factor: 10, heldFactor: 5, heldMax: 0.15 },
    // The variational windows compare discrete velocities with the data's finite differences: longer windows of
    // the initial L reach discrete momenta outside its continuous momentum map (softplus: ∂L/∂v is bounded), where
    // V(q, p) does not exist — horizon 4 used to stop there with NO_CONVERGENCE.
    // measured: loss 1.8e-3 → 2.0e-5, held-out RMS error 1.82 → 0.071
    { method: 'variationalMidpoint', horizon: 1, steps: 150, batchSize: 32, factor: 20, heldFactor: 10, heldMax: 0.15 },
    // measured: loss 4.1e-2 → 8.3e-4, held-out RMS error 1.82 → 0.080
    { method: 'variationalMidpoint', horizon: 4, steps: 150, batchSize: 32, factor: 20, heldFactor: 10, heldMax: 0.15 },
  ])('fit through $method (horizon $horizon) on oscillator trajectories lowers the loss and the learned L rolls out held-out motion better than the initial one', async ({ method, horizon, steps, batchSize, factor, heldFactor, heldMax }) => {
    const model = convexInV(lnn({ dof: 1, hidden: [16], seed: 0 }));
    const dt = 0.1;
    const train = oscillator([[1, 0], [0.6, 1], [1.3, 2.5], [0.4, 4], [0.9, 5.5]], dt, 20);
    const res = await fit(model, { trajectories: train }, { loss: 'rollout', method, horizon, steps, batchSize, lr: 1e-2, seed: 0 });
    expect(res.model.kind).toBe('lnn');
    expect(res.lagrangian).toBeDefined();
    expect((res as typeof res & { memory: { mode: string } }).memory.mode).toBe('backprop');
    const first = res.history.slice(0, 5).reduce((a, b) => a + b) / 5, last = res.history.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first / factor);
    // Held out: a start not in the training set, 20 steps (2 time units), compared with the closed form.
    const held = oscillator([[1.1, 0.7]], dt, 21);
    const error = async (m: typeof model) => {
      const run = await integrateModel(m, { q0: [held.q[0]!], p0: [held.p[0]!], steps: 20, dt, method });
      let e = 0;
      for (let j = 0; j <= 20; j++) e += (run.q[j]! - held.q[j]!) ** 2 + (run.p[j]! - held.p[j]!) ** 2;
      return Math.sqrt(e / 21);
    };
    const before = await error(model), after = await error(res.model as typeof model);
    expect(after).toBeLessThan(before / heldFactor);
    expect(after).toBeLessThan(heldMax);
  });

  it.each(['rk4', 'variationalMidpoint', 'variationalTrapezoid'])('the window loss graph of the GPU path (%s, Newton unrolled) gives the exact adjoint\'s loss and gradient in f64', async (method) => {
    const model = convexInV(lnn({ dof: 1, hidden: [4], seed: 3 }));
    const data = oscillator([[0.8, 0.1], [0.5, 2]], 0.1, 8);
    const horizon = 3;
    const objective = trajectoryObjective(model, data, { method, horizon });
    const { starts } = checkTrajectories(model, data, { method, horizon });
    const plan = lnnWindowPlan(model, data, { method, horizon, starts }, resolveFitOptions(model, { steps: 1, lr: 1e-3, loss: 'acceleration' }));
    const rows = Uint32Array.from({ length: objective.windows }, (_, i) => i);
    const theta = new Float64Array(objective.sizes.reduce((a, b) => a + b, 0)), offsets = new Map<string, number>();
    let at = 0;
    for (const node of model.lagrangian.params) {
      offsets.set(node.attrs.name as string, at);
      theta.set(model.params[node.attrs.name as string]!, at);
      at += size(node.shape);
    }
    const exact = new Float64Array(theta.length);
    const loss = await objective.evaluate(theta, rows, exact);
    const sums = new Float64Array(1 + plan.program.layout.total);
    compileCpuGradient(plan.program)(plan.train.rows, plan.theta, rows, rows.length, sums);
    expect(Math.abs(sums[0]! / rows.length - loss)).toBeLessThan(1e-12 * loss);
    let d = 0, n = 0;
    plan.program.layout.names.forEach((name, k) => {
      for (let i = 0; i < plan.program.layout.sizes[k]!; i++) {
        d += (sums[1 + plan.program.layout.offsets[k]! + i]! / rows.length - exact[offsets.get(name)! + i]!) ** 2;
        n += exact[offsets.get(name)! + i]! ** 2;
      }
    });
    // measured: 5e-16 (rk4), 1.3e-13 (variational)
    expect(Math.sqrt(d / n)).toBeLessThan(1e-11);
  });

  it('refuses Hamiltonian-only methods and gradient adjoint for an lnn, naming its methods and backprop', async () => {
    const model = convexInV(lnn({ dof: 1, hidden: [4], seed: 1 }));
    const trajectories = oscillator([[1, 0]], 0.1, 4);
    const e1 = (await fit(model, { trajectories }, { loss: 'rollout', method: 'gauss4', steps: 1, lr: 1e-3 }).catch((x) => x)) as DarbouxError;
    expect([e1.code, e1.message]).toEqual(['OPTION', expect.stringMatching(/'variationalMidpoint', 'variationalTrapezoid', 'rk4' .*got 'gauss4'/)]);
    const e2 = (await fit(model, { trajectories }, { loss: 'rollout', gradient: 'adjoint', steps: 1, lr: 1e-3 }).catch((x) => x)) as DarbouxError;
    expect([e2.code, e2.message]).toEqual(['OPTION', expect.stringMatching(/gradient: 'backprop'/)]);
  });
});
