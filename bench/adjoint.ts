/**
 * Benchmarks of the discrete adjoint (`st.vjp`): backward/forward time per step, peak state memory vs horizon,
 * and how far reversed trajectories depart from the forward ones (f64 and f32). Called from bench/run.ts;
 * standalone: npx tsx bench/adjoint.ts
 */
import { compile, gpuAvailable, henonHeiles, hnn, kepler, releaseGpu, type Hamiltonian, type Stepper } from '../src/index.js';
import { bestSeconds } from './timing.js';

/**
 * The HNN of the benchmarks (src/models/neural): H = T(p) + V(q) for leapfrog (separable), H = MLP([q; p]) for
 * midpoint; tanh, Glorot-initialised with seed 0.
 */
export function benchHnn(options: { dof: number; hidden: number; separable: boolean }): Hamiltonian {
  return hnn({ dof: options.dof, hidden: [options.hidden], activation: 'tanh', seed: 0, separable: options.separable }).hamiltonian!;
}

const best = bestSeconds;

function batchInputs(dof: number, batch: number) {
  const wave = (a: number, off: number) => Float64Array.from({ length: batch * dof }, (_, k) => a * Math.sin(0.37 * k + off));
  return { q0: wave(0.5, 0), p0: wave(0.3, 1), dq: wave(1, 2), dp: wave(1, 3), batch };
}

/**
 * Forward time, and backward time (vjp minus its own forward run), per trajectory·step: the best of `repeats`
 * runs each, forward and vjp interleaved so both see the same load on a shared machine.
 */
async function ratioRow(st: Stepper, batch: number, steps: number, memory: 'reverse' | 'store', repeats = 9) {
  const x = { ...batchInputs(st.dof, batch), steps };
  await st.vjp({ ...x, steps: 2, memory }); // compile the backward kernels
  let forward = Infinity, vjp = Infinity;
  for (let r = 0; r < repeats; r++) {
    forward = Math.min(forward, await best(() => st.run(x), 1));
    vjp = Math.min(vjp, await best(() => st.vjp({ ...x, memory }), 1));
  }
  const per = (t: number) => (1e9 * t) / (batch * steps);
  return { forward: per(forward), backward: per(vjp - forward), ratio: (vjp - forward) / forward };
}

/** Backward/forward time per step for leapfrog (separable HNN) and midpoint (non-separable HNN), per backend. */
export async function adjointRatioBench(backends?: ('cpu' | 'gpu')[]): Promise<void> {
  console.log('\n## Discrete adjoint: backward/forward time per step (tanh HNN, dof 2, one hidden layer; goal ≤ 3×)\n');
  backends ??= (await gpuAvailable()) ? ['cpu', 'gpu'] : ['cpu'];
  for (const backend of backends) {
    const batch = backend === 'cpu' ? 64 : 1024, steps = 200;
    for (const hidden of [16, 32]) {
      for (const method of ['leapfrog', 'midpoint']) {
        const h = benchHnn({ dof: 2, hidden, separable: method === 'leapfrog' });
        const st = await compile(h, { method, dt: 0.02, backend });
        const cells: string[] = [];
        for (const memory of ['reverse', 'store'] as const) {
          const r = await ratioRow(st, batch, steps, memory);
          if (memory === 'reverse') cells.push(`forward ${r.forward.toFixed(0)} ns`);
          cells.push(`${memory}: backward ${r.backward.toFixed(0)} ns = ${r.ratio.toFixed(2)}× forward`);
        }
        console.log(`${backend} ${method.padEnd(8)} hidden ${hidden} (batch ${batch} × ${steps} steps, per trajectory·step)  ${cells.join('   ')}`);
        st.dispose();
      }
    }
  }
  if (backends.includes('gpu')) await releaseGpu();
}

export async function adjointBench(): Promise<void> {
  await adjointRatioBench();

  console.log("\n## Discrete adjoint: peak state memory and time vs horizon ('reverse' vs 'store', leapfrog, CPU f64, batch 16)\n");
  {
    const h = benchHnn({ dof: 2, hidden: 16, separable: true });
    const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const x = batchInputs(2, 16);
    console.log('steps   reverse: bytes      time   |  store: bytes      time   |  |Δ gradient| / |gradient|');
    for (let steps = 4; steps <= 4096; steps *= 4) {
      const r = await st.vjp({ ...x, steps, memory: 'reverse' });
      const s = await st.vjp({ ...x, steps, memory: 'store' });
      const tr = await best(() => st.vjp({ ...x, steps, memory: 'reverse' }), 1);
      const ts = await best(() => st.vjp({ ...x, steps, memory: 'store' }), 1);
      let diff = 0, scale = 0;
      for (let i = 0; i < r.dq0.length; i++) {
        diff = Math.max(diff, Math.abs(r.dq0[i]! - s.dq0[i]!), Math.abs(r.dp0[i]! - s.dp0[i]!));
        scale = Math.max(scale, Math.abs(s.dq0[i]!), Math.abs(s.dp0[i]!));
      }
      const col = (bytes: number, t: number) => `${String(bytes).padStart(10)} ${(t * 1000).toFixed(1).padStart(8)} ms`;
      console.log(`${String(steps).padStart(5)}  ${col(r.memory.stateBytes, tr)}   |  ${col(s.memory.stateBytes, ts)}   |  ${(diff / scale).toExponential(1)}`);
    }
    st.dispose();
  }

  console.log('\n## Reversibility: max |z₀ rebuilt by stepping back − z₀| after N steps forward and N back (memory: \'reverse\')\n');
  {
    const systems = [
      { name: 'henon-heiles', model: henonHeiles(), dt: 0.05 },
      { name: 'kepler e=0.6', model: kepler({ eccentricity: 0.6 }), dt: 0.01 },
    ];
    const gpu = await gpuAvailable();
    for (const { name, model, dt } of systems) {
      for (const method of ['leapfrog', 'midpoint']) {
        const cells: string[] = [];
        for (const backend of gpu ? (['cpu', 'gpu'] as const) : (['cpu'] as const)) {
          const st = await compile(model.hamiltonian, { method, dt, backend });
          const errs: string[] = [];
          for (const steps of [100, 1000, 10000]) {
            const r = await st.vjp({ q0: model.q0, p0: model.p0, steps, dq: [0, 0], dp: [0, 0], memory: 'reverse' });
            errs.push(`N=${steps}: ${r.memory.reconstructionError!.toExponential(1)}`);
          }
          cells.push(`${backend === 'cpu' ? 'f64' : 'f32'} ${errs.join(' ')}`);
          st.dispose();
        }
        console.log(`${name.padEnd(13)} ${method.padEnd(9)} ${cells.join('   |   ')}`);
      }
    }
    if (gpu) await releaseGpu();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npx tsx bench/adjoint.ts ratio [cpu|gpu]`: only the backward/forward ratios.
  const [part, backend] = process.argv.slice(2);
  if (part === 'ratio') await adjointRatioBench(backend === 'cpu' || backend === 'gpu' ? [backend] : undefined);
  else await adjointBench();
}
