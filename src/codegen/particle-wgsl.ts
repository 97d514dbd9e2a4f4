/**
 * Per-particle WGSL kernels for particle programs (particle-analysis.ts): one invocation per particle and copy
 * of the system, not one per trajectory.
 *
 * - `tiledKickDriftKernel`: one dispatch applies a kick p ← p − a·∇V(q) then a drift q′ = q + b·M⁻¹p to every
 *   particle. All-pairs terms are tiled through workgroup memory (GPU Gems 3, ch. 31): each workgroup loads a
 *   tile of positions, synchronises, and every invocation loops over the tile. q is double-buffered (read one
 *   slot, write the other), so particles never race. State stays on the device across dispatches.
 * - `workgroupStepsKernel`: when a whole system fits one workgroup, one workgroup per copy runs many steps per
 *   dispatch with positions in workgroup memory, barriers between the phases, and the force kept in registers
 *   (recomputed after every drift only).
 * Edge terms gather over a CSR adjacency built on the host, site terms are per particle.
 */
import { particleTermFunctions, localTerms, pairAccumulate, type FixedData } from './particle-terms-wgsl.js';
import { wgslLiteral } from './target-wgsl.js';
import type { ParticleProgram } from './particle-analysis.js';

/** Control words of the tiled kernel (f32 kick and drift coefficients; u32 others). */
export const TILED_CONTROL_WORDS = ['kick', 'drift', 'readSlot', 'step', 'slot', 'pad', 'pad', 'pad'] as const;
/** Control words of the workgroup kernel. */
export const WORKGROUP_CONTROL_WORDS = ['steps', 'stepBase', 'recordEvery', 'recordCount', 'batch', 'firstRecord', 'pad', 'pad'] as const;

/** A status word per copy: the first failing step (0-based) or 0xffffffff. */
export const NO_FAILURE = 0xffffffff;

const nonFinite = (x: string) => `((bitcast<u32>(${x}) & 0x7f800000u) == 0x7f800000u)`;
const range = (n: number) => Array.from({ length: n }, (_, c) => c);

/** The update of one particle after its gradient `g` is known (kick by `kick`, drift by `drift`), with the finiteness test. */
function updateLines(pp: ParticleProgram, kick: string, drift: string, p: (c: number) => string, q: (c: number) => string, xi: (c: number) => string, bad: string): string[] {
  return range(pp.dim).flatMap((c) => [
    `${p(c)} = ${p(c)} - ${kick} * g[${c}];`,
    `${q(c)} = ${xi(c)} + ${drift} * bitcast<f32>(fixed[i * ${pp.dim}u + ${c}u]) * ${p(c)};`,
    `${bad} = ${bad} || ${nonFinite(p(c))} || ${nonFinite(q(c))};`,
  ]);
}

/**
 * The tiled kick–drift kernel: workgroup (x, y) = (particles x·W … x·W + W − 1, copy y). Bindings: state
 * [q slot 0 | q slot 1 | p], each batch·n·dim; fixed data (u32); status (one atomic word per copy); control.
 *
 * @example
 * const wgsl = tiledKickDriftKernel(pp, fixedData(pp), 64);
 */
export function tiledKickDriftKernel(pp: ParticleProgram, fixed: FixedData, workgroupSize: number): string {
  const D = pp.dim, W = workgroupSize;
  const pairs = pp.terms.map((t, k) => ({ t, k })).filter(({ t }) => t.kind === 'pairs');
  const xi = (c: number) => `xi[${c}]`;
  const tiled = pairs.length === 0 ? [] : [
    `    for (var t: u32 = 0u; t < ${pp.n}u; t += ${W}u) {`,
    `      let jLoad = t + lid.x;`,
    `      if (jLoad < ${pp.n}u) {`,
    ...range(D).map((c) => `        tile[lid.x * ${D}u + ${c}u] = state[qIn + jLoad * ${D}u + ${c}u];`),
    '      }',
    '      workgroupBarrier();',
    `      let count = min(${W}u, ${pp.n}u - t);`,
    '      for (var k: u32 = 0u; k < count; k++) {',
    '        if (t + k != i) {',
    ...pairs.flatMap(({ t, k }) => pairAccumulate(t, k, D, xi, (c) => `tile[k * ${D}u + ${c}u]`, 'g').map((l) => `          ${l}`)),
    '        }',
    '      }',
    '      workgroupBarrier();',
    '    }',
  ];
  return [
    'struct Control { kick: f32, drift: f32, readSlot: u32, step: u32, slot: u32, pad0: u32, pad1: u32, pad2: u32 }',
    '@group(0) @binding(0) var<storage, read_write> state: array<f32>;',
    '@group(0) @binding(1) var<storage, read> fixed: array<u32>;',
    '@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;',
    '@group(0) @binding(3) var<uniform> control: Control;',
    `var<workgroup> tile: array<f32, ${W * D}>;`,
    particleTermFunctions(pp),
    `@compute @workgroup_size(${W})`,
    'fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {',
    '  let b = wid.y;',
    `  let i = wid.x * ${W}u + lid.x;`,
    `  let live = i < ${pp.n}u;`,
    `  let copy = b * ${pp.n * D}u;`,
    '  let qIn = control.readSlot * control.slot + copy;',
    '  let qOut = (1u - control.readSlot) * control.slot + copy;',
    '  let pAt = 2u * control.slot + copy;',
    `  let own = min(i, ${pp.n - 1}u);`,
    `  var xi: array<f32, ${D}>;`,
    ...range(D).map((c) => `  xi[${c}] = state[qIn + own * ${D}u + ${c}u];`),
    `  var g: array<f32, ${D}>;`,
    '  if (control.kick != 0.0) {',
    ...tiled,
    '    if (live) {',
    ...localTerms(pp, fixed, 'i', xi, (j, c) => `state[qIn + ${j} * ${D}u + ${c}u]`, 'g').map((l) => `      ${l}`),
    '    }',
    '  }',
    '  if (live) {',
    '    var bad = false;',
    ...updateLines(pp, 'control.kick', 'control.drift', (c) => `state[pAt + i * ${D}u + ${c}u]`, (c) => `state[qOut + i * ${D}u + ${c}u]`, xi, 'bad').map((l) => `    ${l}`),
    '    if (bad) { atomicMin(&status[b], control.step); }',
    '  }',
    '}',
  ].join('\n');
}

/** Loop iterations of one force evaluation in the workgroup kernel (all pairs, then edges). */
export function forceLoopIterations(pp: ParticleProgram, fixed: FixedData): number {
  const pairs = pp.terms.some((t) => t.kind === 'pairs') ? pp.n : 0;
  const edges = pp.terms.filter((t) => t.kind === 'edges').length * fixed.maxDegree;
  return pairs + edges + 1;
}

/**
 * The workgroup kernel: workgroup x = copy x, invocation i = particle i (workgroup size ≥ n). Runs
 * `control.steps` steps; the stages of one step are compiled in with their fixed step sizes. Bindings: state
 * [q | p] (batch·n·dim each), fixed data, status, record [q snapshots | p snapshots], control.
 *
 * @example
 * const wgsl = workgroupStepsKernel(pp, fixedData(pp), 64);
 */
export function workgroupStepsKernel(pp: ParticleProgram, fixed: FixedData, workgroupSize: number): string {
  const D = pp.dim, W = workgroupSize;
  const xi = (c: number) => `qs[i * ${D}u + ${c}u]`;
  const pairs = pp.terms.map((t, k) => ({ t, k })).filter(({ t }) => t.kind === 'pairs');
  const forceFn = [
    `fn force(i: u32) -> array<f32, ${D}> {`,
    `  var g: array<f32, ${D}>;`,
    ...(pairs.length === 0 ? [] : [
      `  for (var j: u32 = 0u; j < ${pp.n}u; j++) {`,
      '    if (j != i) {',
      ...pairs.flatMap(({ t, k }) => pairAccumulate(t, k, D, xi, (c) => `qs[j * ${D}u + ${c}u]`, 'g').map((l) => `      ${l}`)),
      '    }',
      '  }',
    ]),
    ...localTerms(pp, fixed, 'i', xi, (j, c) => `qs[${j} * ${D}u + ${c}u]`, 'g').map((l) => `  ${l}`),
    '  return g;',
    '}',
  ];
  const stage = pp.stages.flatMap((s) => s.kind === 'kick'
    ? range(D).map((c) => `      p[${c}] = p[${c}] - ${wgslLiteral(s.step)} * g[${c}];`)
    : [
        '      workgroupBarrier();',
        `      if (live) {`,
        ...range(D).map((c) => `        qs[i * ${D}u + ${c}u] = qs[i * ${D}u + ${c}u] + ${wgslLiteral(s.step)} * inv[${c}] * p[${c}];`),
        '      }',
        '      workgroupBarrier();',
        '      if (live) { g = force(i); }',
      ]);
  const slot = `${pp.n * D}u`;
  return [
    'struct Control { steps: u32, stepBase: u32, recordEvery: u32, recordCount: u32, batch: u32, firstRecord: u32, pad0: u32, pad1: u32 }',
    '@group(0) @binding(0) var<storage, read_write> state: array<f32>;',
    '@group(0) @binding(1) var<storage, read> fixed: array<u32>;',
    '@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;',
    '@group(0) @binding(3) var<storage, read_write> record: array<f32>;',
    '@group(0) @binding(4) var<uniform> control: Control;',
    `var<workgroup> qs: array<f32, ${pp.n * D}>;`,
    particleTermFunctions(pp),
    ...forceFn,
    `@compute @workgroup_size(${W})`,
    'fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {',
    '  let b = wid.x;',
    '  let i = lid.x;',
    `  let live = i < ${pp.n}u;`,
    `  let qAt = b * ${slot};`,
    `  let pAt = control.batch * ${slot} + b * ${slot};`,
    `  var p: array<f32, ${D}>;`,
    `  var inv: array<f32, ${D}>;`,
    `  var g: array<f32, ${D}>;`,
    '  var failStep = 0xffffffffu;',
    '  if (live) {',
    ...range(D).map((c) => `    qs[i * ${D}u + ${c}u] = state[qAt + i * ${D}u + ${c}u]; p[${c}] = state[pAt + i * ${D}u + ${c}u]; inv[${c}] = bitcast<f32>(fixed[i * ${D}u + ${c}u]);`),
    '  }',
    '  workgroupBarrier();',
    '  if (live) { g = force(i); }',
    '  for (var s: u32 = 0u; s < control.steps; s++) {',
    ...stage,
    '    if (live) {',
    `      let check = ${range(D).map((c) => `p[${c}] + qs[i * ${D}u + ${c}u]`).join(' + ')};`,
    `      if (failStep == 0xffffffffu && ${nonFinite('check')}) { failStep = control.stepBase + s; }`,
    '      let done = control.stepBase + s + 1u;',
    '      if (control.recordEvery > 0u && done % control.recordEvery == 0u) {',
    `        let at = (done / control.recordEvery - 1u) * control.batch * ${slot} + b * ${slot} + i * ${D}u;`,
    `        let pSection = control.recordCount * control.batch * ${slot};`,
    ...range(D).map((c) => `        record[at + ${c}u] = qs[i * ${D}u + ${c}u]; record[pSection + at + ${c}u] = p[${c}];`),
    '      }',
    '    }',
    '  }',
    '  if (live) {',
    ...range(D).map((c) => `    state[qAt + i * ${D}u + ${c}u] = qs[i * ${D}u + ${c}u]; state[pAt + i * ${D}u + ${c}u] = p[${c}];`),
    '    if (failStep != 0xffffffffu) { atomicMin(&status[b], failStep); }',
    '  }',
    '}',
  ].join('\n');
}
