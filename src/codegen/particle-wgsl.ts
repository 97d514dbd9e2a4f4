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

const SWIZZLE = ['x', 'y', 'z', 'w'];

/**
 * Positions in workgroup memory: vec4 per particle up to dim 4 (one load per partner), flat f32 beyond.
 */
function positionArray(name: string, count: number, dim: number) {
  const packed = dim <= 4;
  return {
    decl: `var<workgroup> ${name}: ${packed ? `array<vec4<f32>, ${count}>` : `array<f32, ${count * dim}>`};`,
    at: (j: string, c: number) => (packed ? `${name}[${j}].${SWIZZLE[c]}` : `${name}[${j} * ${dim}u + ${c}u]`),
    store: (j: string, value: (c: number) => string) => (packed
      ? [`${name}[${j}] = vec4<f32>(${range(4).map((c) => (c < dim ? value(c) : '0.0')).join(', ')});`]
      : range(dim).map((c) => `${name}[${j} * ${dim}u + ${c}u] = ${value(c)};`)),
    /** Reads partner j once (`let tj = …`) and gives its components. */
    load: (j: string): { line: string; at: (c: number) => string } => (packed
      ? { line: `let tj = ${name}[${j}];`, at: (c: number) => `tj.${SWIZZLE[c]}` }
      : { line: '', at: (c: number) => `${name}[${j} * ${dim}u + ${c}u]` }),
  };
}

/** Declarations of the scalar accumulators g0, g1, … */
const accumulators = (dim: number) => range(dim).map((c) => `var g${c}: f32 = 0.0;`);

/**
 * The update of particle `i` after its gradient g0, g1, … is known (kick by `kick`, drift by `drift`: code of
 * its momentum and new position components), with the finiteness test setting `bad`.
 *
 * @example
 * kickDriftLines(pp, 'control.kick', 'control.drift', (c) => `state[pAt + i * 3u + ${c}u]`, (c) => `state[qOut + i * 3u + ${c}u]`, (c) => `xi${c}`, 'bad')
 */
export function kickDriftLines(pp: ParticleProgram, kick: string, drift: string, p: (c: number) => string, q: (c: number) => string, xi: (c: number) => string, bad: string): string[] {
  return range(pp.dim).flatMap((c) => [
    `let pNew${c} = ${p(c)} - ${kick} * g${c};`,
    `let qNew${c} = ${xi(c)} + ${drift} * bitcast<f32>(fixed[i * ${pp.dim}u + ${c}u]) * pNew${c};`,
    `${p(c)} = pNew${c};`,
    `${q(c)} = qNew${c};`,
    `${bad} = ${bad} || ${nonFinite(`pNew${c}`)} || ${nonFinite(`qNew${c}`)};`,
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
  const xi = (c: number) => `xi${c}`;
  const tile = positionArray('tile', W, D);
  const partner = tile.load('k');
  const tiled = pairs.length === 0 ? [] : [
    `    for (var t: u32 = 0u; t < ${pp.n}u; t += ${W}u) {`,
    `      let jLoad = min(t + lid.x, ${pp.n - 1}u);`,
    ...tile.store('lid.x', (c) => `state[qIn + jLoad * ${D}u + ${c}u]`).map((l) => `      ${l}`),
    '      workgroupBarrier();',
    // A constant trip count (the compiler may unroll it); partners past n (clamped duplicates) weigh 0.
    `      for (var k: u32 = 0u; k < ${W}u; k++) {`,
    ...(partner.line ? [`        ${partner.line}`] : []),
    ...pairs.flatMap(({ t, k }) => pairAccumulate(t, k, D, xi, partner.at, 'g', pp.n % W === 0 ? 't + k == i' : `t + k == i || t + k >= ${pp.n}u`).map((l) => `        ${l}`)),
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
    tile.decl,
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
    ...range(D).map((c) => `  let xi${c} = state[qIn + own * ${D}u + ${c}u];`),
    ...accumulators(D).map((l) => `  ${l}`),
    '  if (control.kick != 0.0) {',
    ...tiled,
    '    if (live) {',
    ...localTerms(pp, fixed, 'i', xi, (j, c) => `state[qIn + ${j} * ${D}u + ${c}u]`, 'g').map((l) => `      ${l}`),
    '    }',
    '  }',
    '  if (live) {',
    '    var bad = false;',
    ...kickDriftLines(pp, 'control.kick', 'control.drift', (c) => `state[pAt + i * ${D}u + ${c}u]`, (c) => `state[qOut + i * ${D}u + ${c}u]`, xi, 'bad').map((l) => `    ${l}`),
    '    if (bad) { atomicMin(&status[b], control.step); }',
    '  }',
    '}',
  ].join('\n');
}

/**
 * Loop iterations of one force evaluation in the workgroup kernel (all pairs, then edges).
 *
 * @example
 * forceLoopIterations(pp, fixedData(pp)) // n + edge terms × largest degree + 1
 */
export function forceLoopIterations(pp: ParticleProgram, fixed: FixedData): number {
  const pairs = pp.terms.some((t) => t.kind === 'pairs') ? pp.n : 0;
  const edges = pp.terms.filter((t) => t.kind === 'edges').length * fixed.maxDegree;
  return pairs + edges + 1;
}

/** `fn force(i)`: the gradient of V at particle i from positions in workgroup memory (all pairs, edges, site terms). */
function workgroupForce(pp: ParticleProgram, fixed: FixedData, qs: ReturnType<typeof positionArray>): string[] {
  const D = pp.dim;
  const partner = qs.load('j');
  const pairs = pp.terms.map((t, k) => ({ t, k })).filter(({ t }) => t.kind === 'pairs');
  return [
    `fn force(i: u32) -> array<f32, ${D}> {`,
    ...accumulators(D).map((l) => `  ${l}`),
    ...range(D).map((c) => `  let xi${c} = ${qs.at('i', c)};`),
    ...(pairs.length === 0 ? [] : [
      `  for (var j: u32 = 0u; j < ${pp.n}u; j++) {`,
      ...(partner.line ? [`    ${partner.line}`] : []),
      ...pairs.flatMap(({ t, k }) => pairAccumulate(t, k, D, (c) => `xi${c}`, partner.at, 'g', 'j == i').map((l) => `    ${l}`)),
      '  }',
    ]),
    ...localTerms(pp, fixed, 'i', (c) => `xi${c}`, (j, c) => qs.at(j, c), 'g').map((l) => `  ${l}`),
    `  return array<f32, ${D}>(${range(D).map((c) => `g${c}`).join(', ')});`,
    '}',
  ];
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
  const qs = positionArray('qs', pp.n, D);
  const stage = pp.stages.flatMap((s) => s.kind === 'kick'
    ? range(D).map((c) => `    p[${c}] = p[${c}] - ${wgslLiteral(s.step)} * g[${c}];`)
    : [
        '    workgroupBarrier();',
        '    if (live) {',
        ...range(D).map((c) => `      ${qs.at('i', c)} = ${qs.at('i', c)} + ${wgslLiteral(s.step)} * inv[${c}] * p[${c}];`),
        '    }',
        '    workgroupBarrier();',
        '    if (live) { g = force(i); }',
      ]);
  const slot = `${pp.n * D}u`;
  return [
    'struct Control { steps: u32, stepBase: u32, recordEvery: u32, recordCount: u32, batch: u32, pad0: u32, pad1: u32, pad2: u32 }',
    '@group(0) @binding(0) var<storage, read_write> state: array<f32>;',
    '@group(0) @binding(1) var<storage, read> fixed: array<u32>;',
    '@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;',
    '@group(0) @binding(3) var<storage, read_write> record: array<f32>;',
    '@group(0) @binding(4) var<uniform> control: Control;',
    qs.decl,
    particleTermFunctions(pp),
    ...workgroupForce(pp, fixed, qs),
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
    ...qs.store('i', (c) => `state[qAt + i * ${D}u + ${c}u]`).map((l) => `    ${l}`),
    ...range(D).map((c) => `    p[${c}] = state[pAt + i * ${D}u + ${c}u]; inv[${c}] = bitcast<f32>(fixed[i * ${D}u + ${c}u]);`),
    '  }',
    '  workgroupBarrier();',
    '  if (live) { g = force(i); }',
    '  for (var s: u32 = 0u; s < control.steps; s++) {',
    ...stage.map((l) => `  ${l}`),
    '    if (live) {',
    `      let check = ${range(D).map((c) => `p[${c}] + ${qs.at('i', c)}`).join(' + ')};`,
    `      if (failStep == 0xffffffffu && ${nonFinite('check')}) { failStep = control.stepBase + s; }`,
    '      let done = control.stepBase + s + 1u;',
    '      if (control.recordEvery > 0u && done % control.recordEvery == 0u) {',
    `        let at = (done / control.recordEvery - 1u) * control.batch * ${slot} + b * ${slot} + i * ${D}u;`,
    `        let pSection = control.recordCount * control.batch * ${slot};`,
    ...range(D).map((c) => `        record[at + ${c}u] = ${qs.at('i', c)}; record[pSection + at + ${c}u] = p[${c}];`),
    '      }',
    '    }',
    '  }',
    '  if (live) {',
    ...range(D).map((c) => `    state[qAt + i * ${D}u + ${c}u] = ${qs.at('i', c)}; state[pAt + i * ${D}u + ${c}u] = p[${c}];`),
    '    if (failStep != 0xffffffffu) { atomicMin(&status[b], failStep); }',
    '  }',
    '}',
  ].join('\n');
}
