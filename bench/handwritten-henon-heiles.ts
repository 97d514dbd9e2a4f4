/**
 * Reference for speed claims: a hand-written WGSL batch leapfrog for Hénon–Heiles,
 *   H = (px² + py²)/2 + (x² + y²)/2 + x²y − y³/3,
 * with the state in registers, K steps per dispatch and the force reused between steps (one force evaluation
 * per step), and the same written in plain f64 JavaScript.
 *
 * State layout (as the generated GPU stepper's): one packed f32 buffer [q | p], each block trajectory-major:
 * q[2b], q[2b+1] = x, y of trajectory b; p likewise.
 *
 * Run: npx tsx bench/handwritten-henon-heiles.ts   (batch 65536 × 1000 steps)
 */
import { pathToFileURL } from 'node:url';
import { releaseGpu } from '../src/index.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type Gpu } from '../src/internals.js';

const WORKGROUP = 64;

export const HENON_HEILES_WGSL = /* wgsl */ `
struct Control { dt: f32, steps: u32, offset: u32, count: u32 }
@group(0) @binding(0) var<storage, read_write> state: array<f32>;
@group(0) @binding(1) var<uniform> control: Control;

// −∂V/∂q for V = (x² + y²)/2 + x²y − y³/3
fn force(q: vec2f) -> vec2f {
  return vec2f(-q.x - 2.0 * q.x * q.y, -q.y - q.x * q.x + q.y * q.y);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= control.count) { return; }
  let b = control.offset + gid.x;
  let pBase = arrayLength(&state) / 2u; // the p block starts after the batch·2 q values
  var q = vec2f(state[2u * b], state[2u * b + 1u]);
  var p = vec2f(state[pBase + 2u * b], state[pBase + 2u * b + 1u]);
  let h = control.dt;
  let hh = 0.5 * h;
  var f = force(q);
  for (var s = 0u; s < control.steps; s++) {
    p += hh * f;
    q += h * p;
    f = force(q);
    p += hh * f;
  }
  state[2u * b] = q.x;
  state[2u * b + 1u] = q.y;
  state[pBase + 2u * b] = p.x;
  state[pBase + 2u * b + 1u] = p.y;
}
`;

/** Options of the hand-written runs. */
export interface HenonHeilesRun {
  batch: number;
  steps: number;
  dt: number;
  /** Initial q, p (batch·2 each); default `henonHeilesInitial(batch)`. */
  q0?: Float32Array | Float64Array;
  p0?: Float32Array | Float64Array;
  /** Steps fused into one dispatch (default 1000). */
  stepsPerDispatch?: number;
}

/**
 * Deterministic bound initial states (energy below the escape energy 1/6), trajectory-major.
 *
 * @example
 * const { q0, p0 } = henonHeilesInitial(1024);
 */
export function henonHeilesInitial(batch: number): { q0: Float64Array; p0: Float64Array } {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    q0[2 * b] = 0.2 * Math.sin(1.7 * b);
    q0[2 * b + 1] = 0.2 * Math.cos(0.9 * b);
    p0[2 * b] = 0.2 * Math.sin(2.3 * b + 1);
    p0[2 * b + 1] = 0.2 * Math.cos(1.1 * b + 2);
  }
  return { q0, p0 };
}

/**
 * The hand-written WGSL leapfrog on `gpu`. `seconds` is the wall time of upload, dispatches and readback
 * (the pipeline is compiled before the clock starts).
 *
 * @example
 * const gpu = await acquireGpu();
 * const { q, p, seconds } = await runHandwrittenHenonHeiles(gpu, { batch: 65536, steps: 1000, dt: 0.01 });
 */
export async function runHandwrittenHenonHeiles(gpu: Gpu, options: HenonHeilesRun): Promise<{ q: Float32Array; p: Float32Array; seconds: number }> {
  const { batch, steps, dt } = options;
  const init = options.q0 && options.p0 ? { q0: options.q0, p0: options.p0 } : henonHeilesInitial(batch);
  const perDispatch = Math.max(1, options.stepsPerDispatch ?? 1000);
  const kernel = await createComputeKernel(gpu, { wgsl: HENON_HEILES_WGSL, label: 'handwritten-henon-heiles' });
  const packed = new Float32Array(4 * batch);
  packed.set(init.q0, 0);
  packed.set(init.p0, 2 * batch);
  const control = new ArrayBuffer(16);
  const f32 = new Float32Array(control), u32 = new Uint32Array(control);
  const t0 = performance.now();
  const state = createStorageBuffer(gpu, packed, { readable: true, label: 'hh-state' });
  const uniform = createUniformBuffer(gpu, 16, { label: 'hh-control' });
  try {
    const chunks = splitDispatch(batch, WORKGROUP, gpu.limits.maxComputeWorkgroupsPerDimension);
    for (let done = 0; done < steps; done += perDispatch) {
      for (const c of chunks) {
        f32[0] = dt;
        u32[1] = Math.min(perDispatch, steps - done);
        u32[2] = c.offset;
        u32[3] = c.count;
        writeBuffer(gpu, uniform, control);
        kernel.dispatch([state, uniform], c.workgroups);
      }
    }
    const out = new Float32Array(await readBuffer(gpu, state));
    const seconds = (performance.now() - t0) / 1000;
    return { q: out.slice(0, 2 * batch), p: out.slice(2 * batch), seconds };
  } finally {
    state.destroy();
    uniform.destroy();
  }
}

/**
 * The same leapfrog (one force evaluation per step) in plain f64 JavaScript, in place.
 *
 * @example
 * const { q0, p0 } = henonHeilesInitial(1024);
 * handwrittenJsHenonHeiles(q0, p0, 1024, 1000, 0.01);
 */
export function handwrittenJsHenonHeiles(q: Float64Array, p: Float64Array, batch: number, steps: number, dt: number): void {
  const hh = 0.5 * dt;
  for (let b = 0; b < batch; b++) {
    let x = q[2 * b]!, y = q[2 * b + 1]!, px = p[2 * b]!, py = p[2 * b + 1]!;
    let fx = -x - 2 * x * y, fy = -y - x * x + y * y;
    for (let s = 0; s < steps; s++) {
      px += hh * fx;
      py += hh * fy;
      x += dt * px;
      y += dt * py;
      fx = -x - 2 * x * y;
      fy = -y - x * x + y * y;
      px += hh * fx;
      py += hh * fy;
    }
    q[2 * b] = x; q[2 * b + 1] = y; p[2 * b] = px; p[2 * b + 1] = py;
  }
}

async function main(): Promise<void> {
  const batch = 65_536, steps = 1000, dt = 0.01, repeats = 5;
  const work = batch * steps;
  const rate = (s: number) => `${(work / s / 1e6).toFixed(1)} M trajectory·steps/s`;
  const t0 = performance.now();
  const gpu = await acquireGpu();
  const tAcquire = (performance.now() - t0) / 1000;
  const tc = performance.now();
  const kernel = await createComputeKernel(gpu, { wgsl: HENON_HEILES_WGSL, label: 'handwritten-henon-heiles' });
  const tCompile = (performance.now() - tc) / 1000;
  console.log(`GPU: ${gpu.adapterKind} — ${gpu.description} (${gpu.featureLevel}); acquire ${tAcquire.toFixed(3)} s, compile ${kernel.compileSeconds.toFixed(3)} s (${tCompile.toFixed(3)} s)`);

  const first = await runHandwrittenHenonHeiles(gpu, { batch: 1024, steps: 10, dt }); // first dispatch (lazy driver work)
  console.log(`first small run (1024 × 10 steps): ${(first.seconds * 1000).toFixed(1)} ms`);
  let gpuBest = Infinity, result = first;
  for (let r = 0; r < repeats; r++) {
    result = await runHandwrittenHenonHeiles(gpu, { batch, steps, dt });
    gpuBest = Math.min(gpuBest, result.seconds);
  }
  console.log(`GPU f32, hand-written WGSL, ${batch} × ${steps} steps: best ${(gpuBest * 1000).toFixed(1)} ms of ${repeats} → ${rate(gpuBest)}`);

  const { q0, p0 } = henonHeilesInitial(batch);
  let jsBest = Infinity;
  let q = q0, p = p0;
  for (let r = 0; r < repeats; r++) {
    q = q0.slice();
    p = p0.slice();
    const t = performance.now();
    handwrittenJsHenonHeiles(q, p, batch, steps, dt);
    jsBest = Math.min(jsBest, (performance.now() - t) / 1000);
  }
  console.log(`JS f64, hand-written, ${batch} × ${steps} steps: best ${(jsBest * 1000).toFixed(1)} ms of ${repeats} → ${rate(jsBest)}`);
  console.log(`GPU / JS speed: ${(jsBest / gpuBest).toFixed(2)}×`);

  let worst = 0;
  for (let i = 0; i < 2 * batch; i++) worst = Math.max(worst, Math.abs(result.q[i]! - q[i]!), Math.abs(result.p[i]! - p[i]!));
  console.log(`max |GPU f32 − JS f64| over final states: ${worst.toExponential(2)}`);
  await releaseGpu();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
