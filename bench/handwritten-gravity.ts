/**
 * Reference for the gravity bench (bench/gravity.ts): a hand-written tiled all-pairs WGSL leapfrog for softened
 * gravity, a = Σ_j G m (x_j − x_i) / (r² + ε²)^{3/2}, in the GPU Gems 3 ch. 31 style — positions as vec4 (xyz, 0),
 * each workgroup loads a tile of positions into workgroup memory, synchronises, and every invocation loops over the
 * tile with one inverseSqrt per pair. One dispatch per step (kick merged with the next step's, drift), positions
 * double-buffered, velocities in place: the same schedule as darboux's tiled particle kernel.
 */
import { createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, writeBuffer, type Gpu } from '../src/internals.js';

const TILE = 64;

/** The WGSL of one kick–drift dispatch for n bodies. */
export function gravityWgsl(n: number): string {
  return /* wgsl */ `
struct Control { kick: f32, drift: f32, readSlot: u32, gm: f32, eps2: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read_write> pos: array<vec4f>;   // [slot 0 | slot 1], n each
@group(0) @binding(1) var<storage, read_write> vel: array<vec4f>;
@group(0) @binding(2) var<uniform> control: Control;
var<workgroup> tile: array<vec4f, ${TILE}>;

@compute @workgroup_size(${TILE})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = wid.x * ${TILE}u + lid.x;
  let inBase = control.readSlot * ${n}u;
  let outBase = (1u - control.readSlot) * ${n}u;
  let xi = pos[inBase + min(i, ${n - 1}u)].xyz;
  var a = vec3f(0.0);
  if (control.kick != 0.0) {
    for (var t = 0u; t < ${n}u; t += ${TILE}u) {
      let j = t + lid.x;
      tile[lid.x] = select(vec4f(xi, 0.0), pos[inBase + min(j, ${n - 1}u)], j < ${n}u);
      workgroupBarrier();
      for (var k = 0u; k < ${TILE}u; k++) {
        let d = tile[k].xyz - xi;
        let inv = inverseSqrt(dot(d, d) + control.eps2);
        a += d * (inv * inv * inv);
      }
      workgroupBarrier();
    }
  }
  if (i < ${n}u) {
    let v = vel[i].xyz + control.kick * control.gm * a;
    vel[i] = vec4f(v, 0.0);
    pos[outBase + i] = vec4f(xi + control.drift * v, 0.0);
  }
}`;
}

/**
 * Runs `steps` leapfrog steps of the hand-written kernel from positions q and velocities v (n·3, f64) and returns
 * the seconds the dispatches took (upload and compile excluded) and the final positions.
 *
 * @example
 * const { seconds } = await runHandwrittenGravity(gpu, q, v, { steps: 10, dt: 1e-3, gm: 1 / n, softening: 0.01 });
 */
export async function runHandwrittenGravity(gpu: Gpu, q: Float64Array, v: Float64Array, o: { steps: number; dt: number; gm: number; softening: number }): Promise<{ seconds: number; q: Float32Array }> {
  const n = q.length / 3;
  const pos = new Float32Array(8 * n), vel = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) [pos[4 * i + c], vel[4 * i + c]] = [q[3 * i + c]!, v[3 * i + c]!];
  const kernel = await createComputeKernel(gpu, { wgsl: gravityWgsl(n), label: 'handwritten-gravity' });
  const posBuffer = createStorageBuffer(gpu, pos, { readable: true }), velBuffer = createStorageBuffer(gpu, vel, { readable: true });
  const control = createUniformBuffer(gpu, 32);
  const bytes = new ArrayBuffer(32), f = new Float32Array(bytes), u = new Uint32Array(bytes);
  await readBuffer(gpu, velBuffer);
  const t0 = performance.now();
  let slot = 0;
  const dispatch = (kick: number, drift: number) => {
    f[0] = kick; f[1] = drift; u[2] = slot; f[3] = o.gm; f[4] = o.softening * o.softening;
    writeBuffer(gpu, control, bytes);
    kernel.dispatch([posBuffer, velBuffer, control], Math.ceil(n / TILE));
    slot = 1 - slot;
  };
  for (let s = 0; s < o.steps; s++) dispatch(s === 0 ? o.dt / 2 : o.dt, o.dt);
  dispatch(o.dt / 2, 0);
  const out = new Float32Array(await readBuffer(gpu, posBuffer));
  const seconds = (performance.now() - t0) / 1000;
  for (const b of [posBuffer, velBuffer, control]) b.destroy();
  const qOut = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) qOut[3 * i + c] = out[slot * 4 * n + 4 * i + c]!;
  return { seconds, q: qOut };
}
