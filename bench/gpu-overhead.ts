/**
 * GPU host overhead (issue 15 item 3): `st.run` end to end against a hand-written WGSL leapfrog for Hénon–Heiles
 * (vec4 state per trajectory, upload + one dispatch + readback in the same call) on the same adapter, at 65 536
 * trajectories × 1 000 steps and × 1 step; and a loop of 100 short runs with the state kept on the device
 * (`st.upload` / `run({ state })` / `st.download`) against the same loop with transfers every run.
 * Medians of several runs, interleaved; the machine line (load average) first.
 *
 * Run: npx tsx bench/gpu-overhead.ts   (or npm run bench:gpu-overhead)
 */
import { loadavg } from 'node:os';
import { compile, henonHeiles, releaseGpu } from '../src/index.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, gpuAvailable, readBuffer, writeBuffer, type Gpu } from '../src/runtime/index.js';
import { henonHeilesInitial } from './handwritten-henon-heiles.js';

const WORKGROUP = 64;

/** The hand-written kernel: one vec4 (x, y, px, py) per trajectory, the force reused between steps. */
const VEC4_WGSL = /* wgsl */ `
struct Control { dt: f32, steps: u32, count: u32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> state: array<vec4f>;
@group(0) @binding(1) var<uniform> control: Control;

fn force(q: vec2f) -> vec2f {
  return vec2f(-q.x - 2.0 * q.x * q.y, -q.y - q.x * q.x + q.y * q.y);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= control.count) { return; }
  let z = state[b];
  var q = z.xy;
  var p = z.zw;
  let h = control.dt;
  let hh = 0.5 * h;
  var f = force(q);
  for (var s = 0u; s < control.steps; s++) {
    p += hh * f;
    q += h * p;
    f = force(q);
    p += hh * f;
  }
  state[b] = vec4f(q, p);
}
`;

/**
 * Upload (f64 → f32 vec4), one dispatch of every step, readback (f32 → f64) in one call; the pipeline is
 * compiled before. Returns the final q, p (f64) and the wall time.
 */
async function handwrittenRun(gpu: Gpu, q0: Float64Array, p0: Float64Array, batch: number, steps: number, dt: number): Promise<{ q: Float64Array; p: Float64Array; ms: number }> {
  const kernel = await createComputeKernel(gpu, { wgsl: VEC4_WGSL, label: 'handwritten-vec4' });
  const t = performance.now();
  const packed = new Float32Array(4 * batch);
  for (let b = 0; b < batch; b++) {
    packed[4 * b] = q0[2 * b]!;
    packed[4 * b + 1] = q0[2 * b + 1]!;
    packed[4 * b + 2] = p0[2 * b]!;
    packed[4 * b + 3] = p0[2 * b + 1]!;
  }
  const state = createStorageBuffer(gpu, packed, { readable: true });
  const control = createUniformBuffer(gpu, 16);
  const words = new ArrayBuffer(16);
  new Float32Array(words)[0] = dt;
  new Uint32Array(words).set([steps, batch, 0], 1);
  writeBuffer(gpu, control, words);
  kernel.dispatch([state, control], Math.ceil(batch / WORKGROUP));
  const out = new Float32Array(await readBuffer(gpu, state));
  const q = new Float64Array(2 * batch), p = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    q[2 * b] = out[4 * b]!;
    q[2 * b + 1] = out[4 * b + 1]!;
    p[2 * b] = out[4 * b + 2]!;
    p[2 * b + 1] = out[4 * b + 3]!;
  }
  const ms = performance.now() - t;
  state.destroy();
  control.destroy();
  return { q, p, ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(7);

async function main(): Promise<void> {
  console.log(`machine: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  if (!(await gpuAvailable())) {
    console.log('no WebGPU adapter: skipped');
    return;
  }
  const gpu = await acquireGpu();
  console.log(`adapter: ${gpu.adapterKind} (${gpu.description})`);
  const batch = 65_536, dt = 0.01, repeats = Number(process.env.REPEATS ?? 7);
  const { q0, p0 } = henonHeilesInitial(batch);
  const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt, backend: 'gpu' });
  await st.run({ q0, p0, steps: 1, batch }); // first run: buffers, lazy driver work
  await handwrittenRun(gpu, q0, p0, batch, 1, dt);

  console.log(`\nHénon–Heiles leapfrog, ${batch} trajectories, f32; medians of ${repeats} (interleaved)\n`);
  // Float32Array inputs (the values the kernel runs from) are written to the device without conversion.
  const q32 = Float32Array.from(q0), p32 = Float32Array.from(p0);
  console.log('| steps | st.run end to end (ms) | same, Float32Array q0, p0 (ms) | hand-written vec4 WGSL (ms) | ratio | ratio (f32 inputs) |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const steps of (process.env.STEPS ?? '1000,1').split(',').map(Number)) {
    const gen: number[] = [], gen32: number[] = [], hand: number[] = [];
    let worst = 0;
    for (let r = 0; r < repeats; r++) {
      let t = performance.now();
      const result = await st.run({ q0, p0, steps, batch });
      gen.push(performance.now() - t);
      t = performance.now();
      await st.run({ q0: q32, p0: p32, steps, batch });
      gen32.push(performance.now() - t);
      const h = await handwrittenRun(gpu, q0, p0, batch, steps, dt);
      hand.push(h.ms);
      for (let i = 0; i < 2 * batch; i++) worst = Math.max(worst, Math.abs(result.q[i]! - h.q[i]!), Math.abs(result.p[i]! - h.p[i]!));
    }
    const ratio = (xs: number[]) => (median(xs) / median(hand)).toFixed(2);
    console.log(`| ${steps} | ${fmt(median(gen))} | ${fmt(median(gen32))} | ${fmt(median(hand))} | ${ratio(gen)} | ${ratio(gen32)} |  (max |Δ| generated − hand-written: ${worst.toExponential(1)})`);
  }

  const runs = 100, short = 10;
  console.log(`\nA loop of ${runs} runs × ${short} steps, ${batch} trajectories; medians of ${Math.max(3, repeats >> 1)}\n`);
  const resident: number[] = [], transfers: number[] = [];
  let same = true;
  for (let r = 0; r < Math.max(3, repeats >> 1); r++) {
    let t = performance.now();
    const state = await st.upload(q0, p0, { batch });
    for (let k = 0; k < runs; k++) await st.run({ state, steps: short });
    const down = await st.download(state);
    resident.push(performance.now() - t);
    state.dispose();
    t = performance.now();
    let q: Float64Array = q0, p: Float64Array = p0;
    for (let k = 0; k < runs; k++) ({ q, p } = await st.run({ q0: q, p0: p, steps: short, batch }));
    transfers.push(performance.now() - t);
    for (let i = 0; i < q.length && same; i++) same = q[i] === down.q[i] && p[i] === down.p[i];
  }
  console.log('| loop | total (ms) | per run (ms) |');
  console.log('|---|---:|---:|');
  console.log(`| device-resident state (upload once, download once) | ${fmt(median(resident))} | ${(median(resident) / runs).toFixed(2)} |`);
  console.log(`| transfers every run (run({ q0, p0 })) | ${fmt(median(transfers))} | ${(median(transfers) / runs).toFixed(2)} |`);
  console.log(`resident / transfers: ${(median(resident) / median(transfers)).toFixed(2)}; final states bit-identical: ${same}`);
  console.log(`machine after: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  st.dispose();
  await releaseGpu();
}

await main();
