/**
 * Trajectory training of Lagrangian networks on the GPU (f32): each window's loss graph (rk4 steps, or variational
 * steps with their Newton iterations unrolled) lowered to the per-sample training kernel. Batch loss and gradient
 * against the CPU objective (f64, the exact discrete adjoint with stored states), and a GPU `fit` that follows the
 * CPU run and lowers the loss. Small networks: llvmpipe compiles these kernels (~80 k characters of WGSL) slowly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fit, lnn } from '../../src/index.js';
import { size } from '../../src/ir/shape.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { evaluateGpuGradient } from '../../src/train/gpu-trainer.js';
import { lnnWindowPlan } from '../../src/train/lnn-trajectory-gpu.js';
import { NEWTON_MARKER, NEWTON_RESIDUAL_TOLERANCE } from '../../src/train/lnn-newton-check.js';
import { lnnWindowLossGraph } from '../../src/train/lnn-window-graph.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { DarbouxError } from '../../src/errors.js';
import { resolveFitOptions } from '../../src/train/options.js';
import { checkTrajectories, trajectoryObjective } from '../../src/train/trajectory-fit.js';

afterAll(() => releaseGpu());

/** |output weights|: with one softplus layer L is then convex in v (∂²L/∂v² > 0). */
function convexInV(model: ReturnType<typeof lnn>) {
  return model.withParams({ 'L.out.w': model.params['L.out.w']!.map(Math.abs) });
}

/** Trajectories of the oscillator L = v²/2 − q²/2 (closed form), velocities in the second slot. */
function oscillator(starts: readonly (readonly [number, number])[], dt: number, length: number) {
  const q = new Float64Array(starts.length * length), p = new Float64Array(starts.length * length);
  starts.forEach(([amplitude, phase], k) => {
    for (let j = 0; j < length; j++) {
      q[k * length + j] = amplitude * Math.cos(j * dt + phase);
      p[k * length + j] = -amplitude * Math.sin(j * dt + phase);
    }
  });
  return { q, p, dt, length };
}

describe('lnn trajectory training on the GPU', () => {
  it.each(['rk4', 'variationalMidpoint'])('batch loss and gradient through %s agree with the CPU exact adjoint at f32 precision', async (method) => {
    const model = convexInV(lnn({ dof: 1, hidden: [4], seed: 3 }));
    const data = oscillator([[0.8, 0.1], [0.5, 2], [1.2, 4]], 0.1, 8);
    const horizon = 3;
    const objective = trajectoryObjective(model, data, { method, horizon });
    const { starts } = checkTrajectories(model, data, { method, horizon });
    const plan = lnnWindowPlan(model, data, { method, horizon, starts }, resolveFitOptions(model, { steps: 1, lr: 1e-3, loss: 'acceleration' }));
    const rows = Uint32Array.from({ length: objective.windows }, (_, i) => (7 * i + 2) % objective.windows);
    // CPU: θ in the Lagrangian's parameter order; compared by name with the training layout.
    const theta = new Float64Array(objective.sizes.reduce((a, b) => a + b, 0)), offsets = new Map<string, number>();
    let at = 0;
    for (const node of model.lagrangian.params) {
      offsets.set(node.attrs.name as string, at);
      theta.set(model.params[node.attrs.name as string]!, at);
      at += size(node.shape);
    }
    const cpu = new Float64Array(theta.length);
    const loss = await objective.evaluate(theta, rows, cpu);
    const gpu = await evaluateGpuGradient(plan.program, plan.train, plan.theta, rows);
    expect(loss).toBeGreaterThan(1e-4);
    expect(Math.abs(gpu[0]! / rows.length - loss) / loss).toBeLessThan(1e-4);
    let d = 0, n = 0;
    plan.program.layout.names.forEach((name, k) => {
      for (let i = 0; i < plan.program.layout.sizes[k]!; i++) {
        const a = gpu[1 + plan.program.layout.offsets[k]! + i]! / rows.length, b = cpu[offsets.get(name)! + i]!;
        d += (a - b) ** 2;
        n += b * b;
      }
    });
    expect(Math.sqrt(n)).toBeGreaterThan(1e-4);
    expect(Math.sqrt(d / n)).toBeLessThan(1e-3);
  });

  it('fit through variationalMidpoint with backend gpu follows the CPU run and lowers the loss', async () => {
    const trajectories = oscillator([[1, 0], [0.6, 1], [1.3, 2.5], [0.4, 4]], 0.1, 12);
    const options = { loss: 'rollout', method: 'variationalMidpoint', horizon: 2, steps: 150, lr: 2e-2, batchSize: 16, seed: 0, checkEvery: 50 } as const;
    const gpu = await fit(convexInV(lnn({ dof: 1, hidden: [4], seed: 0 })), { trajectories }, { ...options, backend: 'gpu' });
    const cpu = await fit(convexInV(lnn({ dof: 1, hidden: [4], seed: 0 })), { trajectories }, { ...options, backend: 'cpu' });
    expect(gpu.backend).toBe('gpu');
    expect(gpu.lagrangian).toBeInstanceOf(cpu.lagrangian!.constructor);
    for (let t = 0; t < 10; t++) expect(Math.abs(gpu.history[t]! - cpu.history[t]!)).toBeLessThan(1e-3 * cpu.history[t]!);
    const mean = (a: number[]) => a.reduce((x, y) => x + y) / a.length;
    // measured (llvmpipe): loss 8.8e-3 → 6.4e-4 on both backends
    expect(mean(gpu.history.slice(-5))).toBeLessThan(mean(gpu.history.slice(0, 5)) / 5);
  });

  // dt = 0.9 (horizon 2): three Newton iterations from the previous velocity leave a relative residual of ~3e-3 on the
  // second step of the window starting at (1.3 cos 2.5, −1.3 sin 2.5) (measured in f64; ≤ 1e-7 at dt = 0.1).
  it('marks each unconverged unrolled Newton step in the device loss, as many as the f64 residuals over tolerance', async () => {
    const model = convexInV(lnn({ dof: 1, hidden: [4], seed: 0 }));
    const data = oscillator([[1.3, 2.5], [1, 0]], 0.9, 3);
    const horizon = 2;
    const { starts } = checkTrajectories(model, data, { method: 'variationalMidpoint', horizon });
    const plan = lnnWindowPlan(model, data, { method: 'variationalMidpoint', horizon, starts }, resolveFitOptions(model, { steps: 1, lr: 1e-3, loss: 'acceleration' }));
    // Oracle: the residuals of the same window graph by the reference f64 evaluator.
    const graph = lnnWindowLossGraph(model, { method: 'variationalMidpoint', horizon, dt: 0.9 });
    const layout = gradientProgram(model, graph).layout, theta = packParams(layout, model.params);
    const f64 = graphEvaluator([model.q, model.p, ...layout.nodes], graph.newtonResiduals);
    let over = 0;
    for (const start of starts) {
      const out = graph.newtonResiduals.map(() => new Float64Array(1));
      f64([[data.q[start]!], [data.p[start]!], ...layout.nodes.map((_, k) => theta.subarray(layout.offsets[k]!, layout.offsets[k]! + layout.sizes[k]!))], out);
      over += out.filter(([r]) => r! > NEWTON_RESIDUAL_TOLERANCE).length;
    }
    expect(over).toBe(1);
    const sums = await evaluateGpuGradient(plan.program, plan.train, plan.theta, Uint32Array.from(starts, (_, i) => i));
    expect(Math.round(sums[0]! / NEWTON_MARKER)).toBe(over);
    expect(plan.convergence!.explain(1, plan.theta, 0)).toBeInstanceOf(DarbouxError);
  });

  it.each([0.9, 2])('fit through variationalMidpoint at dt = %s on the GPU throws NO_CONVERGENCE (window, step, residual) instead of a loss', async (dt) => {
    const trajectories = oscillator([[1.3, 2.5], [1, 0]], dt, 4);
    const options = { loss: 'rollout', method: 'variationalMidpoint', horizon: 2, steps: 4, lr: 1e-3, seed: 0, checkEvery: 2, backend: 'gpu' } as const;
    const error = await fit(convexInV(lnn({ dof: 1, hidden: [4], seed: 0 })), { trajectories }, options).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    const { code, details, message } = error as DarbouxError;
    expect(code).toBe('NO_CONVERGENCE');
    expect(details.step).toBe(1);
    expect(details.windowStep).toBeGreaterThanOrEqual(1);
    expect(message).toMatch(/smaller dt/);
    // dt = 0.9: the device loss carries the marker (finite residual over tolerance); dt = 2: the Newton iterates overflow.
    if (dt < 1) expect(details.flagged).toBe(1);
    else expect(details.parameters).toBe('initial');
    expect(!((details.residual as number) <= NEWTON_RESIDUAL_TOLERANCE)).toBe(true);
  });
});
