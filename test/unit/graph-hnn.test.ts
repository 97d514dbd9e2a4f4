/**
 * Graph Hamiltonian networks (`graphHnn`): a learned pair potential V_θ(r), an MLP of the distance, inside a pair
 * sum. Oracles: the MLP written out by hand in the test, central finite differences (parameter gradients of the
 * energy, of the derivative loss and of the leapfrog rollout loss through the adjoint), rigid motions and
 * permutations of the particles, and force matching on data of a known pair potential (the learned V_θ′ against it).
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fit, graphHnn, graphSize, particles, type NeuralModel } from '../../src/index.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { lossGraph } from '../../src/train/losses.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { trajectoryObjective } from '../../src/train/trajectory-fit.js';
import { jitteredLattice } from './particle-fixtures.js';

/** Park–Miller stream in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

/** n particles in [0, L)^dim with no pair closer than rMin, also through the periodic images (rejection sampling). */
function scattered(n: number, dim: number, L: number, rMin: number, seed: number): Float64Array {
  const rnd = random(seed), q = new Float64Array(n * dim);
  for (let i = 0; i < n; ) {
    for (let a = 0; a < dim; a++) q[i * dim + a] = L * rnd();
    let ok = true;
    for (let j = 0; j < i && ok; j++) {
      let r2 = 0;
      for (let a = 0; a < dim; a++) {
        const d = q[i * dim + a]! - q[j * dim + a]!;
        r2 += (d - L * Math.round(d / L)) ** 2;
      }
      ok = r2 > rMin * rMin;
    }
    if (ok) i++;
  }
  return q;
}

/** θ in the Hamiltonian's parameter order (the trajectory objective's layout). */
function thetaOf(model: NeuralModel): Float64Array {
  return Float64Array.from(model.hamiltonian!.params.flatMap((node) => model.params[node.attrs.name as string]!));
}

/** The one-hidden-layer MLP V(r) = w·σ(a·r + b) and its derivative, written out (the test's own oracle). */
function handMlp(model: NeuralModel, activation: (x: number) => number, slope: (x: number) => number) {
  const a = model.params['V.l0.W']!, b = model.params['V.l0.b']!, w = model.params['V.out.w']!;
  return {
    V: (r: number) => a.reduce((s, ak, k) => s + w[k]! * activation(ak * r + b[k]!), 0),
    dV: (r: number) => a.reduce((s, ak, k) => s + w[k]! * ak * slope(ak * r + b[k]!), 0),
  };
}

const tanhSlope = (x: number) => 1 - Math.tanh(x) ** 2;

describe('graphHnn: the Hamiltonian', () => {
  it('H = Σ|p|²/2m + Σ_{i<j} (V_θ(r_ij) − V_θ(r_c)) for the MLP written out by hand (periodic box, cutoff, shift)', () => {
    const n = 6, dim = 3, L = 4, rc = 1.9, mass = 1.7;
    const model = graphHnn({ n, dim, hidden: [7], cutoff: rc, box: [L, L, L], mass, seed: 3 });
    const mlp = handMlp(model, Math.tanh, tanhSlope);
    const q = scattered(n, dim, L, 0.6, 11), p = Float64Array.from({ length: n * dim }, (_, k) => Math.sin(k));
    let want = p.reduce((s, x) => s + x * x, 0) / (2 * mass), pairs = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let r2 = 0;
        for (let a = 0; a < dim; a++) {
          const d = q[i * dim + a]! - q[j * dim + a]!;
          r2 += (d - L * Math.round(d / L)) ** 2;
        }
        if (r2 < rc * rc) {
          want += mlp.V(Math.sqrt(r2)) - mlp.V(rc);
          pairs++;
        }
      }
    }
    expect(pairs).toBeGreaterThan(3);
    const got = model.hamiltonian!.energy(q, p);
    expect(Math.abs(got - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
    expect(model.hamiltonian!.isSeparable).toBe(true);
  });

  it('parameter gradients of the energy (one and two hidden layers) equal central finite differences', () => {
    for (const [hidden, box] of [[[6], [3.6, 3.8, 4]], [[5, 4], undefined]] as const) {
      const n = 7, dim = 3;
      const model = graphHnn({ n, dim, hidden, cutoff: box ? 1.7 : undefined, box, activation: 'softplus', seed: 5 });
      const h = model.hamiltonian!;
      const grads = gradient(h.H, h.params);
      const f = graphEvaluator([h.q, h.p, ...h.params], [h.H, ...grads]);
      const q = scattered(n, dim, box ? 3.6 : 2.5, 0.5, 7), p = new Float64Array(n * dim);
      const values = h.params.map((node) => Float64Array.from(model.params[node.attrs.name as string]!));
      const run = (vals: Float64Array[]) => {
        const out = [new Float64Array(1), ...h.params.map((node) => new Float64Array(node.shape.reduce((a, b) => a * b, 1)))];
        f([q, p, ...vals], out);
        return out;
      };
      const exact = run(values);
      let checked = 0;
      values.forEach((v, k) => {
        for (let i = 0; i < v.length; i++) {
          const e = 1e-6 * Math.max(1, Math.abs(v[i]!));
          const up = values.map((x) => x.slice()), dn = values.map((x) => x.slice());
          up[k]![i]! += e;
          dn[k]![i]! -= e;
          const fd = (run(up)[0]![0]! - run(dn)[0]![0]!) / (2 * e);
          expect(Math.abs(exact[1 + k]![i]! - fd), `${String(h.params[k]!.attrs.name)}[${i}]`).toBeLessThan(1e-6 * Math.max(1e-2, Math.abs(fd)));
          checked++;
        }
      });
      expect(checked).toBeGreaterThan(10);
    }
  });

  it('parameter gradients of the derivative (force-matching) loss, as fit compiles them, equal finite differences', () => {
    const n = 6, dim = 2, L = 4.2;
    const model = graphHnn({ n, dim, hidden: [6, 3], cutoff: 2, box: [L, L], seed: 2 });
    const program = gradientProgram(model, lossGraph(model, { loss: 'derivative' }));
    const f = compileCpuGradient(program);
    const rnd = random(4);
    const samples = 3, stride = program.graph.stride;
    const data = new Float64Array(samples * stride);
    for (let s = 0; s < samples; s++) {
      data.set(scattered(n, dim, L, 0.7, 20 + s), s * stride);
      for (let k = n * dim; k < stride; k++) data[s * stride + k] = 4 * (rnd() - 0.5);
    }
    const theta = packParams(program.layout, model.params);
    const rows = Uint32Array.of(0, 1, 2), out = new Float64Array(1 + theta.length);
    const loss = (t: Float64Array) => {
      const o = new Float64Array(1 + theta.length);
      f(data, t, rows, samples, o);
      return o[0]!;
    };
    f(data, theta, rows, samples, out);
    let worst = 0, scale = 0;
    for (let i = 0; i < theta.length; i++) {
      const e = 1e-6 * Math.max(1, Math.abs(theta[i]!));
      const up = theta.slice(), dn = theta.slice();
      up[i]! += e;
      dn[i]! -= e;
      const fd = (loss(up) - loss(dn)) / (2 * e);
      worst = Math.max(worst, Math.abs(out[1 + i]! - fd));
      scale = Math.max(scale, Math.abs(fd));
    }
    expect(scale).toBeGreaterThan(1e-3);
    expect(worst / scale).toBeLessThan(1e-6);
  });

  it('the leapfrog rollout loss gradient by the exact adjoint equals finite differences', async () => {
    const n = 5, dim = 2, L = 4;
    const truth = particles({ n, dim, mass: 1, box: [L, L], pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 2, shift: true } });
    const st = await compile(truth.hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const q0 = scattered(n, dim, L, 1.05, 9), p0 = Float64Array.from({ length: n * dim }, (_, k) => 0.5 * Math.cos(3 * k));
    const run = await st.run({ q0, p0, steps: 6, record: 1 });
    st.dispose();
    const length = 7, Q = new Float64Array(length * n * dim), P = new Float64Array(length * n * dim);
    Q.set(q0);
    P.set(p0);
    Q.set(run.record!.q, n * dim);
    P.set(run.record!.p, n * dim);
    const model = graphHnn({ n, dim, hidden: [5], cutoff: 2, box: [L, L], seed: 1 });
    const objective = trajectoryObjective(model, { q: Q, p: P, dt: 0.01, length }, { method: 'leapfrog', horizon: 3, gradient: 'adjoint' });
    const rows = Uint32Array.from({ length: objective.windows }, (_, i) => i);
    const theta = thetaOf(model), grad = new Float64Array(theta.length), scratch = new Float64Array(theta.length);
    await objective.evaluate(theta, rows, grad);
    // Stored states (backprop) give the same gradient as states rebuilt backwards (adjoint).
    const stored = new Float64Array(theta.length);
    await trajectoryObjective(model, { q: Q, p: P, dt: 0.01, length }, { method: 'leapfrog', horizon: 3, gradient: 'backprop' }).evaluate(theta, rows, stored);
    let worst = 0, scale = 0;
    for (let i = 0; i < theta.length; i++) {
      expect(Math.abs(stored[i]! - grad[i]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(grad[i]!)));
      // The loss is large against its gradient here: steps of 1e-4 keep rounding small, and Richardson's
      // extrapolation of two central differences cancels their O(e²) truncation.
      const central = async (e: number) => {
        const up = theta.slice(), dn = theta.slice();
        up[i]! += e;
        dn[i]! -= e;
        return ((await objective.evaluate(up, rows, scratch)) - (await objective.evaluate(dn, rows, scratch))) / (2 * e);
      };
      const e = 1e-4 * Math.max(1, Math.abs(theta[i]!));
      const fd = (4 * (await central(e)) - (await central(2 * e))) / 3;
      worst = Math.max(worst, Math.abs(fd - grad[i]!));
      scale = Math.max(scale, Math.abs(fd));
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(1e-6);
    // fit trains on the trajectories through the same objective: full-batch Adam lowers the loss.
    const res = await fit(model, { trajectories: { q: Q, p: P, dt: 0.01, length } }, { loss: 'rollout', method: 'leapfrog', horizon: 3, steps: 40, lr: 2e-2, seed: 0 });
    expect(res.history[0]).toBeCloseTo(await objective.evaluate(theta, rows, scratch), 12);
    expect(res.history.at(-1)!).toBeLessThan(res.history[0]! / 5);
  });
});

describe('graphHnn: symmetries and size', () => {
  it('H is unchanged by a rigid rotation and translation (open boundaries) and by a permutation of the particles', () => {
    const n = 9, dim = 3;
    const model = graphHnn({ n, dim, hidden: [8, 8], seed: 4 });
    const h = model.hamiltonian!;
    const q = scattered(n, dim, 3, 0.6, 3), p = Float64Array.from({ length: n * dim }, (_, k) => Math.cos(k));
    const e0 = h.energy(q, p);
    // Rotation: unit quaternion (0.3, 0.5, −0.4, 0.7)/‖·‖ as a matrix; translation (5, −2, 7).
    const [w, x, y, z] = ((v) => v.map((c) => c / Math.hypot(...v)))([0.3, 0.5, -0.4, 0.7]) as [number, number, number, number];
    const R = [
      [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ];
    const shift = [5, -2, 7];
    const move = (v: Float64Array, t: number[]) => {
      const out = new Float64Array(v.length);
      for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) out[i * 3 + a] = R[a]!.reduce((s, c, b) => s + c * v[i * 3 + b]!, 0) + t[a]!;
      return out;
    };
    const e1 = h.energy(move(q, shift), move(p, [0, 0, 0]));
    const perm = [4, 0, 8, 2, 7, 1, 3, 6, 5];
    const permute = (v: Float64Array) => Float64Array.from({ length: v.length }, (_, k) => v[perm[Math.floor(k / 3)]! * 3 + (k % 3)]!);
    const e2 = h.energy(permute(q), permute(p));
    expect(Math.abs(e0)).toBeGreaterThan(1e-3);
    expect(Math.abs(e1 - e0)).toBeLessThan(1e-12 * Math.abs(e0) + 1e-13);
    expect(Math.abs(e2 - e0)).toBeLessThan(1e-12 * Math.abs(e0) + 1e-13);
    // Not a tautology: moving one particle alone changes H.
    const one = q.slice();
    one[0]! += 0.1;
    expect(Math.abs(h.energy(one, p) - e0)).toBeGreaterThan(1e-6);
  });

  it('in a periodic box H is unchanged by any translation (minimum image), forces sum to zero', () => {
    const n = 8, dim = 2, L = 5;
    const model = graphHnn({ n, dim, hidden: [6], cutoff: 2.4, box: [L, L], seed: 8 });
    const h = model.hamiltonian!;
    const q = scattered(n, dim, L, 0.6, 5), p = new Float64Array(n * dim);
    const moved = q.map((x, k) => x + (k % 2 === 0 ? 3.7 : -11.2));
    expect(Math.abs(h.energy(moved, p) - h.energy(q, p))).toBeLessThan(1e-12 * Math.max(1, Math.abs(h.energy(q, p))));
    const { dq } = h.gradient(q, p);
    for (let a = 0; a < dim; a++) {
      let total = 0, size = 0;
      for (let i = 0; i < n; i++) {
        total += dq[i * dim + a]!;
        size += Math.abs(dq[i * dim + a]!);
      }
      expect(size).toBeGreaterThan(1e-3);
      expect(Math.abs(total)).toBeLessThan(1e-12 * size);
    }
  });

  it('the graphs of H and of the force-matching loss with its gradient have the same size for n = 8 and n = 10 000', () => {
    const sizes = (n: number) => {
      const L = Math.max(5.2, Math.cbrt(n / 0.8));
      const model = graphHnn({ n, dim: 3, hidden: [16, 16], cutoff: 2.5, box: [L, L, L], seed: 0 });
      const program = gradientProgram(model, lossGraph(model, { loss: 'derivative' }));
      return [graphSize([model.hamiltonian!.H]), program.sizes.loss, program.sizes.gradient];
    };
    const small = sizes(8), large = sizes(10_000);
    expect(large).toEqual(small);
    expect(small[0]).toBeLessThan(40);
  });

  it('refuses bad options with SPEC / OPTION', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof DarbouxError ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => graphHnn({ n: 1, dim: 3, hidden: [4] }))).toBe('SPEC');
    expect(code(() => graphHnn({ n: 4, dim: 0, hidden: [4] }))).toBe('SPEC');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], mass: 0 }))).toBe('SPEC');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], box: [3, -1], cutoff: 1 }))).toBe('SPEC');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [] }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], activation: 'relu' as never }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], box: [3, 3] }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], box: [3, 3], cutoff: 1.6 }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], shift: true }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], cutoff: -1 }))).toBe('OPTION');
    expect(code(() => graphHnn({ n: 4, dim: 2, hidden: [4], box: [3, 3], cutoff: 1.4 }))).toBe('none');
  });
});

describe('graphHnn: force matching', () => {
  it('learns a Morse pair potential from forces: loss down by > 3 orders, V_θ′ within 3 % of the true force over the sampled r', async () => {
    // Truth: a 2-D Morse fluid, 25 particles in a periodic box, sampled by leapfrog.
    const n = 25, dim = 2, L = 6.5, rc = 2.5;
    const morse = (r: number) => (1 - Math.exp(-2 * (r - 1.1))) ** 2;
    const dMorse = (r: number) => 4 * Math.exp(-2 * (r - 1.1)) * (1 - Math.exp(-2 * (r - 1.1)));
    const truth = particles({ n, dim, mass: 1, box: [L, L], pair: { V: '(1 - exp(-2*(r - 1.1)))^2', cutoff: rc, shift: true } });
    const st = await compile(truth.hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const { q0, p0 } = jitteredLattice(n, dim, L, 3);
    const frames = 40;
    const run = await st.run({ q0, p0: p0.map((x) => 2 * x), steps: 400 + frames * 10, record: 10 });
    st.dispose();
    const count = frames, stride = n * dim;
    const Q = run.record!.q.slice(-count * stride), P = run.record!.p.slice(-count * stride);
    const dqdt = P.slice(), dpdt = new Float64Array(Q.length);
    for (let k = 0; k < count; k++) dpdt.set(truth.hamiltonian.gradient(Q.subarray(k * stride, (k + 1) * stride), P.subarray(k * stride, (k + 1) * stride)).dq.map((x) => -x), k * stride);
    // The distances the data samples (within the cutoff).
    const distances: number[] = [];
    for (let k = 0; k < count; k += 4) {
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
        let r2 = 0;
        for (let a = 0; a < dim; a++) {
          const d = Q[k * stride + i * dim + a]! - Q[k * stride + j * dim + a]!;
          r2 += (d - L * Math.round(d / L)) ** 2;
        }
        if (r2 < rc * rc) distances.push(Math.sqrt(r2));
      }
    }
    distances.sort((a, b) => a - b);
    const [rLow, rHigh] = [distances[Math.floor(0.02 * distances.length)]!, distances[Math.floor(0.98 * distances.length)]!];
    expect(rLow).toBeLessThan(1.1);

    const model = graphHnn({ n, dim, hidden: [16], cutoff: rc, box: [L, L], seed: 0 });
    const res = await fit(model, { q: Q, p: P, dqdt, dpdt }, { loss: 'derivative', steps: 600, lr: 3e-2, batchSize: 8, schedule: 'cosine', seed: 0 });
    const first = res.history[0]!, last = res.history.slice(-20).reduce((s, v) => s + v, 0) / 20;
    expect(last).toBeLessThan(first * 1e-3);
    const mlp = handMlp(res.model, Math.tanh, tanhSlope);
    let worst = 0, scale = 0;
    for (let r = rLow; r <= Math.min(rHigh, rc - 0.05); r += 0.01) {
      worst = Math.max(worst, Math.abs(mlp.dV(r) - dMorse(r)));
      scale = Math.max(scale, Math.abs(dMorse(r)));
    }
    expect(worst / scale).toBeLessThan(0.03);
    // The learned potential differs from the truth by a constant only (its shift); checked on differences.
    expect(Math.abs(mlp.V(1.5) - mlp.V(1.1) - (morse(1.5) - morse(1.1)))).toBeLessThan(0.03 * scale);
  });
});
