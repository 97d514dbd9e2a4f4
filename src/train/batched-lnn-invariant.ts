/**
 * The per-sample input transform of a Noether-invariant LNN in the batched lowering: L(q, v) = N(φ(q, v)) with φ the
 * parameter-free invariant layer. Per sample it evaluates φ, its Jacobian J = ∂φ/∂z (z = [q; v]) and ∂J/∂v_j, so that
 *
 *   ∂L/∂z = Jᵀ g,   ∂(∂L/∂z)/∂v_j = Jᵀ ġ_j + (∂J/∂v_j)ᵀ g     (g = ∂N/∂φ, ġ_j its tangent along φ̇_j = J e_{v_j})
 *
 * and back, for the adjoints Ḡ_z, U_j (of ∂L/∂z and its tangents): ḡ = J Ḡ_z + Σ_j (∂J/∂v_j) U_j, ġ̄_j = J U_j.
 * The MLP part stays the batched GEMMs of batched-lnn.ts, with φ in place of z and φ̇_j as the tangent inputs.
 */
import { jvp } from '../autodiff/jvp.js';
import { gradient } from '../autodiff/vjp.js';
import { writeElements } from '../codegen/gradient-writes.js';
import { Lowering } from '../codegen/lowering.js';
import { jsTarget } from '../codegen/target-js.js';
import { constant, index, stack } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import type { BatchedLnnSpec } from './batched-lnn-match.js';

/**
 * JavaScript source of `function invariants(data, base, zb, jb, djb)`: for the record at `base` it writes φ to
 * mem[zb …], J row-major (inputs × 2·dof) to mem[jb …] and ∂J/∂v_j to mem[djb + j·inputs·2·dof …]; plus the
 * declarations it hoists.
 *
 * @example
 * const src = invariantTransformSource(spec); // spec.invariant is set
 */
export function invariantTransformSource(spec: BatchedLnnSpec): string {
  const inv = spec.invariant!, d = spec.dof, k = inv.inputs, row = 2 * d;
  // Row i of J: [∂φ_i/∂q; ∂φ_i/∂v], as 2k vectors of length d.
  const J: Expr[] = [];
  for (let i = 0; i < k; i++) J.push(...gradient(index(inv.phi, i), [inv.q, inv.v]));
  const unit = (j: number) => stack(Array.from({ length: d }, (_, i) => (i === j ? 1 : 0)));
  const dJ = Array.from({ length: d }, (_, j) => jvp(J, new Map([[inv.v, unit(j)]])).map((t) => t ?? constant(0, [d])));
  const lowering = new Lowering(jsTarget);
  for (const [node, at] of [[inv.q, spec.columns.q], [inv.v, spec.columns.v]] as const) {
    if (d <= lowering.unrollLimit) lowering.bind(node, { kind: 'unrolled', elems: Array.from({ length: d }, (_, i) => `data[base + ${at + i}]`) });
    else lowering.bind(node, { kind: 'array', name: 'data', size: d, offset: `base + ${at}` });
  }
  lowering.baseIndent = 1;
  const outputs = [inv.phi, ...J, ...dJ.flat()];
  const values = lowering.emit(outputs);
  writeElements(lowering, inv.phi, values[0]!, (i, code) => `mem[zb + ${i}] = ${code};`);
  J.forEach((node, r) => {
    const at = Math.floor(r / 2) * row + (r % 2) * d;
    writeElements(lowering, node, values[1 + r]!, (i, code) => `mem[jb + ${at} + ${i}] = ${code};`);
  });
  dJ.forEach((vectors, j) => vectors.forEach((node, r) => {
    const at = j * k * row + Math.floor(r / 2) * row + (r % 2) * d;
    writeElements(lowering, node, values[1 + J.length + j * J.length + r]!, (i, code) => `mem[djb + ${at} + ${i}] = ${code};`);
  }));
  return [...lowering.hoisted, 'function invariants(data, base, zb, jb, djb) {', ...lowering.lines, '}'].join('\n');
}

/**
 * Main-loop lines of the invariant transform around the batched MLP passes: `load` (φ, J, ∂J/∂v and the tangent
 * inputs φ̇_j of each sample of the chunk), `toState` (∂L/∂z and its tangents from the network's ∂N/∂φ passes) and
 * `fromState` (the adjoints back in φ).
 *
 * @example
 * const { load, toState, fromState } = invariantLines(spec, buffers);
 */
export function invariantLines(spec: BatchedLnnSpec, b: { n0: number; Z: number; Zt: number; G0: number; Gt0: number; Gb0: number; U: number; GZ: number; GtZ: number; GbZ: number; UZ: number; TJ: number; TdJ: number }): { load: string[]; toState: string[]; fromState: string[] } {
  const d = spec.dof, k = spec.invariant!.inputs, row = 2 * d, jr = k * row, n0 = b.n0;
  const load = [
    'for (let s = 0; s < m; s++) {',
    `  const zb = ${b.Z} + s * ${n0}, jb = ${b.TJ} + s * ${jr}, djb = ${b.TdJ} + s * ${d * jr};`,
    `  for (let i = 0; i < ${n0}; i++) mem[zb + i] = 0;`,
    `  if (s < n) invariants(data, rows[s0 + s] * ${spec.stride}, zb, jb, djb);`,
    `  else { for (let i = 0; i < ${jr}; i++) mem[jb + i] = 0; for (let i = 0; i < ${d * jr}; i++) mem[djb + i] = 0; }`,
    `  for (let j = 0; j < ${d}; j++) { const t = ${b.Zt} + (s * ${d} + j) * ${n0}; for (let i = 0; i < ${n0}; i++) mem[t + i] = i < ${k} ? mem[jb + i * ${row} + ${d} + j] : 0; }`,
    '}',
  ];
  const toState = [
    'for (let s = 0; s < m; s++) {',
    `  const jb = ${b.TJ} + s * ${jr}, g = ${b.G0} + s * ${n0}, gz = ${b.GZ} + s * ${row};`,
    `  for (let c = 0; c < ${row}; c++) { let x = 0; for (let i = 0; i < ${k}; i++) x += mem[jb + i * ${row} + c] * mem[g + i]; mem[gz + c] = x; }`,
    `  for (let j = 0; j < ${d}; j++) {`,
    `    const gt = ${b.Gt0} + (s * ${d} + j) * ${n0}, out = ${b.GtZ} + (s * ${d} + j) * ${row}, djb = ${b.TdJ} + s * ${d * jr} + j * ${jr};`,
    `    for (let c = 0; c < ${row}; c++) { let x = 0; for (let i = 0; i < ${k}; i++) x += mem[jb + i * ${row} + c] * mem[gt + i] + mem[djb + i * ${row} + c] * mem[g + i]; mem[out + c] = x; }`,
    '  }',
    '}',
  ];
  const fromState = [
    'for (let s = 0; s < m; s++) {',
    `  const jb = ${b.TJ} + s * ${jr}, gb = ${b.Gb0} + s * ${n0}, gbz = ${b.GbZ} + s * ${row};`,
    `  for (let i = 0; i < ${n0}; i++) {`,
    `    if (i >= ${k}) { mem[gb + i] = 0; for (let j = 0; j < ${d}; j++) mem[${b.U} + (s * ${d} + j) * ${n0} + i] = 0; continue; }`,
    `    let x = 0; for (let c = 0; c < ${row}; c++) x += mem[jb + i * ${row} + c] * mem[gbz + c];`,
    `    for (let j = 0; j < ${d}; j++) {`,
    `      const uz = ${b.UZ} + (s * ${d} + j) * ${row}, djb = ${b.TdJ} + s * ${d * jr} + j * ${jr};`,
    `      let y = 0; for (let c = 0; c < ${row}; c++) { x += mem[djb + i * ${row} + c] * mem[uz + c]; y += mem[jb + i * ${row} + c] * mem[uz + c]; }`,
    `      mem[${b.U} + (s * ${d} + j) * ${n0} + i] = y;`,
    '    }',
    '    mem[gb + i] = x;',
    '  }',
    '}',
  ];
  return { load, toState, fromState };
}
