/**
 * Cell lists on the GPU for the pair terms of a particle program in a periodic box: a counting sort of the
 * particles by cell with u32 atomics (clear, count with atomicAdd giving each particle its rank in its cell, scan of
 * the counts into cell starts, scatter), rebuilt before every force evaluation, then a kick–drift pass in which each
 * particle gathers over the 27 cells around its own. Counts are exact, so no cell can overflow and no pair is
 * dropped; cells have sides ≥ the cutoff and there are at least 3 per side, so each pair is seen once per site.
 * One WGSL module, five entry points sharing one binding layout; workgroup y = copy of the system.
 */
import { particleTermFunctions, localTerms, pairAccumulate, type FixedData } from './particle-terms-wgsl.js';
import type { ParticleProgram } from './particle-analysis.js';
import { wgslLiteral } from './target-wgsl.js';
import { kickDriftLines } from './particle-wgsl.js';

/**
 * Cells per side of the grid (each side ≥ the largest cutoff), or null when cell lists do not apply: no pair terms,
 * no periodic box or cutoff, boxes that differ between terms, or fewer than 3 cells a side.
 *
 * @example
 * cellGridOf(pp) // [6, 6, 6] for 4 000 LJ atoms at ρ* = 0.8442, r_c = 2.5
 */
export function cellGridOf(pp: ParticleProgram): number[] | null {
  const pairs = pp.terms.filter((t) => t.kind === 'pairs');
  if (pairs.length === 0) return null;
  const box = pairs[0]!.geometry.box;
  if (box === null || pairs.some((t) => t.geometry.cutoff === null || t.geometry.box === null || t.geometry.box.some((L, k) => L !== box[k]))) return null;
  const cutoff = Math.max(...pairs.map((t) => t.geometry.cutoff!));
  const grid = box.map((L) => Math.floor(L / cutoff));
  return grid.every((m) => m >= 3) ? grid : null;
}

const range = (n: number) => Array.from({ length: n }, (_, c) => c);
/** Workgroup size of the cell passes. */
export const CELL_WORKGROUP = 64;

/** The grid as WGSL code: cell count, strides, the cell of a position, and the start of each pass. */
function cellGeometry(pp: ParticleProgram, grid: readonly number[]) {
  const box = pp.terms.find((t) => t.kind === 'pairs')!.geometry.box!;
  const stride = (k: number) => grid.slice(0, k).reduce((a, b) => a * b, 1);
  return {
    cells: grid.reduce((a, b) => a * b, 1),
    stride,
    /** The cell of position code x(c): wrapped into the box, clamped to the grid (a non-finite position still indexes in bounds). */
    cellOf: (x: (c: number) => string) => range(pp.dim).map((c) => {
      const inv = wgslLiteral(1 / box[c]!);
      return `min(u32(max(floor(fract(${x(c)} * ${inv}) * ${grid[c]}.0), 0.0)), ${grid[c]! - 1}u) * ${stride(c)}u`;
    }).join(' + '),
    /** The opening lines of a per-particle pass: copy b, particle i, where its positions are read. */
    particle: [
      '  let b = wid.y;',
      `  let i = wid.x * ${CELL_WORKGROUP}u + lid.x;`,
      `  let copy = b * ${pp.n * pp.dim}u;`,
      '  let qIn = control.readSlot * control.slot + copy;',
    ],
  };
}

const entry = (name: string) => [`@compute @workgroup_size(${CELL_WORKGROUP})`, `fn ${name}(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {`];

/**
 * The counting sort: `cellClear` zeroes the counts, `cellCount` gives each particle its cell and its rank there
 * (atomicAdd), `cellScan` turns counts into starts (one workgroup per copy: each invocation sums a run of cells,
 * the workgroup scans the sums, each invocation writes the starts of its run), `cellScatter` places each particle.
 */
function sortPasses(pp: ParticleProgram, geo: ReturnType<typeof cellGeometry>): string[] {
  const { cells } = geo, n = pp.n, W = CELL_WORKGROUP, chunk = Math.ceil(cells / W);
  return [
    ...entry('cellClear'),
    `  let c = wid.x * ${W}u + lid.x;`,
    `  if (c < ${cells}u) { atomicStore(&counts[wid.y * ${cells}u + c], 0u); }`,
    '}',
    ...entry('cellCount'),
    ...geo.particle,
    `  if (i >= ${n}u) { return; }`,
    `  let cell = ${geo.cellOf((c) => `state[qIn + i * ${pp.dim}u + ${c}u]`)};`,
    `  let rank = atomicAdd(&counts[b * ${cells}u + cell], 1u);`,
    `  placed[2u * (b * ${n}u + i)] = cell;`,
    `  placed[2u * (b * ${n}u + i) + 1u] = rank;`,
    '}',
    ...entry('cellScan'),
    `  let base = wid.y * ${cells}u;`,
    `  let first = lid.x * ${chunk}u;`,
    `  let last = min(first + ${chunk}u, ${cells}u);`,
    '  var sum = 0u;',
    '  for (var c = first; c < last; c++) { sum += atomicLoad(&counts[base + c]); }',
    '  partial[lid.x] = sum;',
    '  workgroupBarrier();',
    '  var before = 0u;',
    '  for (var k = 0u; k < lid.x; k++) { before += partial[k]; }',
    `  let startAt = wid.y * ${cells + 1}u;`,
    '  for (var c = first; c < last; c++) { starts[startAt + c] = before; before += atomicLoad(&counts[base + c]); }',
    `  if (lid.x == ${W - 1}u) { starts[startAt + ${cells}u] = before; }`,
    '}',
    ...entry('cellScatter'),
    ...geo.particle,
    `  if (i >= ${n}u) { return; }`,
    `  let at = 2u * (b * ${n}u + i);`,
    `  sorted[b * ${n}u + starts[b * ${cells + 1}u + placed[at]] + placed[at + 1u]] = i;`,
    '}',
  ];
}

/** The kick–drift pass: each particle gathers its pair terms over the 3^dim cells around its own, then updates. */
function cellMain(pp: ParticleProgram, fixed: FixedData, grid: readonly number[], geo: ReturnType<typeof cellGeometry>): string[] {
  const D = pp.dim, n = pp.n;
  const pairs = pp.terms.map((t, k) => ({ t, k })).filter(({ t }) => t.kind === 'pairs');
  const neighbours = [
    `for (var nb: u32 = 0u; nb < ${3 ** D}u; nb++) {`,
    '  var cell = 0u;',
    ...range(D).map((c) => `  { let o = (nb / ${3 ** c}u) % 3u; let m = (home${c} + ${grid[c]}u + o - 1u) % ${grid[c]}u; cell += m * ${geo.stride(c)}u; }`),
    `  for (var s: u32 = starts[startAt + cell]; s < starts[startAt + cell + 1u]; s++) {`,
    `    let j = sorted[sortedAt + s];`,
    ...range(D).map((c) => `    let xj${c} = state[qIn + j * ${D}u + ${c}u];`),
    ...pairs.flatMap(({ t, k }) => pairAccumulate(t, k, D, (c) => `xi${c}`, (c) => `xj${c}`, 'g', 'j == i').map((l) => `    ${l}`)),
    '  }',
    '}',
  ];
  return [
    ...entry('main'),
    ...geo.particle,
    `  if (i >= ${n}u) { return; }`,
    '  let qOut = (1u - control.readSlot) * control.slot + copy;',
    '  let pAt = 2u * control.slot + copy;',
    `  let startAt = b * ${geo.cells + 1}u;`,
    `  let sortedAt = b * ${n}u;`,
    ...range(D).map((c) => `  let xi${c} = state[qIn + i * ${D}u + ${c}u];`),
    ...range(D).map((c) => `  var g${c}: f32 = 0.0;`),
    '  if (control.kick != 0.0) {',
    `    let home = placed[2u * (b * ${n}u + i)];`,
    ...range(D).map((c) => `    let home${c} = (home / ${geo.stride(c)}u) % ${grid[c]}u;`),
    ...neighbours.map((l) => `    ${l}`),
    ...localTerms(pp, fixed, 'i', (c) => `xi${c}`, (j, c) => `state[qIn + ${j} * ${D}u + ${c}u]`, 'g').map((l) => `    ${l}`),
    '  }',
    '  var bad = false;',
    ...kickDriftLines(pp, 'control.kick', 'control.drift', (c) => `state[pAt + i * ${D}u + ${c}u]`, (c) => `state[qOut + i * ${D}u + ${c}u]`, (c) => `xi${c}`, 'bad').map((l) => `  ${l}`),
    '  if (bad) { atomicMin(&status[b], control.step); }',
    '}',
  ];
}

/**
 * The cell-list module. Bindings: state [q slot 0 | q slot 1 | p] (f32), fixed data, status (atomic per copy),
 * counts (atomic u32, batch·cells), starts (u32, batch·(cells + 1)), particle cell and rank (u32, 2·batch·n),
 * sorted particle indices (u32, batch·n), control (as the tiled kernel's).
 *
 * @example
 * const wgsl = cellKickDriftModule(pp, fixedData(pp), cellGridOf(pp)!);
 */
export function cellKickDriftModule(pp: ParticleProgram, fixed: FixedData, grid: readonly number[]): string {
  const geo = cellGeometry(pp, grid);
  return [
    'struct Control { kick: f32, drift: f32, readSlot: u32, step: u32, slot: u32, pad0: u32, pad1: u32, pad2: u32 }',
    '@group(0) @binding(0) var<storage, read_write> state: array<f32>;',
    '@group(0) @binding(1) var<storage, read> fixed: array<u32>;',
    '@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;',
    '@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;',
    '@group(0) @binding(4) var<storage, read_write> starts: array<u32>;',
    '@group(0) @binding(5) var<storage, read_write> placed: array<u32>;',
    '@group(0) @binding(6) var<storage, read_write> sorted: array<u32>;',
    '@group(0) @binding(7) var<uniform> control: Control;',
    `var<workgroup> partial: array<u32, ${CELL_WORKGROUP}>;`,
    particleTermFunctions(pp),
    ...sortPasses(pp, geo),
    ...cellMain(pp, fixed, grid, geo),
  ].join('\n');
}
