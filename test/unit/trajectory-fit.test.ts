import { describe, expect, it } from 'vitest';
import { dataset, doubleWell, fit, hnn, mlpField, type NeuralModel } from '../../src/index.js';
import { trajectoryObjective } from '../../src/train/trajectory-fit.js';
import type { TrajectoryData } from '../../src/train/types.js';

/** Short noiseless double-well trajectories (dt = 0.05, 12 samples each). */
async function trajectories(count = 3): Promise<TrajectoryData> {
  const data = await dataset.fromHamiltonian(doubleWell().hamiltonian, { trajectories: count, tSpan: [0, 0.6], samplesPerUnitTime: 20, seed: 3, radius: [0.3, 1.2] });
  return data.trajectories;
}

function thetaOf(model: NeuralModel): Float64Array {
  const h = model.hamiltonian!;
  return Float64Array.from(h.params.flatMap((node) => model.params[node.attrs.name as string]!));
}

describe('trajectory training: exact gradients through any method', () => {
  const cases: [string, NeuralModel, 'adjoint' | 'backprop'][] = [
    ['leapfrog', hnn({ dof: 1, hidden: [6], seed: 1, separable: true }), 'adjoint'],
    ['midpoint', hnn({ dof: 1, hidden: [6], seed: 2 }), 'adjoint'],
    ['gauss4', hnn({ dof: 1, hidden: [5], seed: 3 }), 'adjoint'],
    ['rk4', hnn({ dof: 1, hidden: [5], seed: 4 }), 'backprop'],
  ];
  for (const [method, model, gradient] of cases) {
    it(`${method}: the ${gradient} gradient equals central finite differences of the loss, and both modes agree`, async () => {
      const data = await trajectories();
      const objective = trajectoryObjective(model, data, { method, horizon: 4, gradient });
      const rows = Uint32Array.from({ length: objective.windows }, (_, i) => i);
      const theta = thetaOf(model);
      const grad = new Float64Array(theta.length), scratch = new Float64Array(theta.length);
      await objective.evaluate(theta, rows, grad);
      let worst = 0, scale = 0;
      for (let i = 0; i < theta.length; i += 3) {
        const e = 1e-6 * Math.max(1, Math.abs(theta[i]!));
        const plus = theta.slice(), minus = theta.slice();
        plus[i] += e;
        minus[i] -= e;
        const fd = ((await objective.evaluate(plus, rows, scratch)) - (await objective.evaluate(minus, rows, scratch))) / (2 * e);
        worst = Math.max(worst, Math.abs(fd - grad[i]!));
        scale = Math.max(scale, Math.abs(grad[i]!));
      }
      expect(scale).toBeGreaterThan(0);
      expect(worst / scale).toBeLessThan(1e-6);
      if (method !== 'rk4') {
        const other = trajectoryObjective(model, data, { method, horizon: 4, gradient: 'backprop' });
        const g2 = new Float64Array(theta.length);
        await other.evaluate(theta, rows, g2);
        for (let i = 0; i < theta.length; i++) expect(Math.abs(g2[i]! - grad[i]!)).toBeLessThan(1e-10 * scale);
      }
    });
  }

  it('fit with loss rollout reduces the loss through implicit midpoint, deterministically', async () => {
    const data = await trajectories(4);
    const model = hnn({ dof: 1, hidden: [16], seed: 0 });
    const options = { loss: 'rollout' as const, method: 'midpoint', horizon: 5, gradient: 'adjoint' as const, steps: 60, lr: 1e-2, batchSize: 16, seed: 1 };
    const a = await fit(model, { trajectories: data }, options);
    const b = await fit(model, { trajectories: data }, options);
    expect(a.history).toEqual(b.history);
    const first = a.history.slice(0, 5).reduce((s, v) => s + v, 0), last = a.history.slice(-5).reduce((s, v) => s + v, 0);
    expect(last).toBeLessThan(first / 3);
    expect(a.hamiltonian).toBeDefined();
  });

  it('the adjoint holds state memory constant in the horizon; backprop grows with it', async () => {
    const data = await trajectories(1);
    const model = hnn({ dof: 1, hidden: [4], seed: 0 });
    const bytes = (horizon: number, gradient: 'adjoint' | 'backprop') => trajectoryObjective(model, data, { method: 'midpoint', horizon, gradient }).stateBytes(8);
    expect(bytes(2, 'adjoint')).toBe(bytes(10, 'adjoint'));
    expect(bytes(10, 'backprop')).toBeGreaterThan(3 * bytes(2, 'backprop'));
  });

  it('rejects bad input before any work', async () => {
    const data = await trajectories(1);
    const model = hnn({ dof: 1, hidden: [4], seed: 0 });
    const base = { loss: 'rollout' as const, steps: 1, lr: 1e-3 };
    await expect(fit(model, { trajectories: data }, { ...base, method: 'rk4', gradient: 'adjoint' })).rejects.toThrow(/rk4 has no inverse/);
    await expect(fit(model, { trajectories: data }, { ...base, horizon: 12 })).rejects.toThrow(/horizon must be an integer in \[1, 11\]/);
    await expect(fit(model, { trajectories: data }, { ...base, backend: 'gpu' })).rejects.toThrow(/CPU backend/);
    await expect(fit(model, { trajectories: { ...data, length: 5 } }, base)).rejects.toMatchObject({ code: 'INPUT' });
    await expect(fit(mlpField({ dof: 1, hidden: [4], seed: 0 }), { trajectories: data }, base)).rejects.toThrow(/use an hnn/);
    await expect(fit(model, { trajectories: data }, { ...base, method: 'leapfrog' })).rejects.toMatchObject({ code: 'NOT_SEPARABLE' });
    await expect(fit(model, { trajectories: data }, { ...base, lr: 0 })).rejects.toThrow(/lr must be/);
  });
});

describe('fit dispatch', () => {
  it('a dataset (samples and trajectories) trains per sample by default and on trajectories with loss rollout', async () => {
    const data = await dataset.fromHamiltonian(doubleWell().hamiltonian, { trajectories: 2, tSpan: [0, 0.5], samplesPerUnitTime: 20, seed: 1 });
    const model = hnn({ dof: 1, hidden: [4], seed: 0 });
    const perSample = await fit(model, data, { loss: 'derivative', steps: 2, lr: 1e-3 });
    expect(perSample.graph.loss).toBeGreaterThan(0);
    const onTrajectories = await fit(model, data, { loss: 'rollout', method: 'midpoint', horizon: 2, steps: 2, lr: 1e-3 });
    expect((onTrajectories as { memory?: unknown }).memory).toBeDefined();
  });
});

describe('trajectory training with Newton solves', () => {
  it('gives the same loss and gradient as the fixed-point solver (same fixed points, same exact adjoint)', async () => {
    const data = await trajectories(2);
    const model = hnn({ dof: 1, hidden: [6], seed: 5 });
    const theta = thetaOf(model);
    const a = trajectoryObjective(model, data, { method: 'gauss4', horizon: 3 });
    const b = trajectoryObjective(model, data, { method: 'gauss4', horizon: 3, solver: 'newton' });
    const rows = Uint32Array.from({ length: a.windows }, (_, i) => i);
    const ga = new Float64Array(theta.length), gb = new Float64Array(theta.length);
    const la = await a.evaluate(theta, rows, ga), lb = await b.evaluate(theta, rows, gb);
    expect(Math.abs(la - lb)).toBeLessThan(1e-14);
    const scale = Math.max(...ga.map(Math.abs));
    ga.forEach((g, i) => expect(Math.abs(g - gb[i]!)).toBeLessThan(1e-10 * scale));
    await expect(fit(model, { trajectories: data }, { loss: 'rollout', steps: 1, lr: 1e-3, solver: 'broyden' as never })).rejects.toThrow(/solver must be/);
  });
});
