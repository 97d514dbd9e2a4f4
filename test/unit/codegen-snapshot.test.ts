import { describe, expect, it } from 'vitest';
import { henonHeiles, pendulum } from '../../src/index.js';
import { stepProgram } from '../../src/internals.js';
import { emitWgslStepper } from '../../src/codegen/emit-wgsl.js';
import { compileJsRunner } from '../../src/codegen/emit-js-stepper.js';

// Generated code is snapshotted inline so that any change to lowering shows up in review diffs.
describe('generated code snapshots', () => {
  it('WGSL: Hénon–Heiles leapfrog', () => {
    expect(emitWgslStepper(stepProgram(henonHeiles().hamiltonian, 'leapfrog'))).toMatchInlineSnapshot(`
      "struct Control {
        dt: f32, tStart: f32, steps: u32, stepBase: u32,
        offset: u32, batch: u32, recordEvery: u32, recordCount: u32,
      }
      @group(0) @binding(0) var<storage, read_write> dState: array<f32>;
      @group(0) @binding(1) var<storage, read> dParams: array<f32>;
      @group(0) @binding(2) var<storage, read_write> dRecord: array<f32>;
      @group(0) @binding(3) var<storage, read_write> dStatus: array<u32>;
      @group(0) @binding(4) var<uniform> dControl: Control;

      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
        let b = gid.x + dControl.offset;
        let sBase = b * 4u;
        if (b >= dControl.batch) { return; }
        if (dControl.stepBase == 0u) { dStatus[sBase + 0u] = 0u; dStatus[sBase + 1u] = 0u; dStatus[sBase + 2u] = 0u; dStatus[sBase + 3u] = 0u; }
        let qBase = b * 2u;
        let pBase = (dControl.batch + b) * 2u;
        var sq0: f32 = dState[qBase + 0u];
        var sq1: f32 = dState[qBase + 1u];
        var sp0: f32 = dState[pBase + 0u];
        var sp1: f32 = dState[pBase + 1u];
        let dt = dControl.dt;
        let th0 = dParams[0];
        let vt0 = ((-0.3333333432674408) * th0);
        let vt1 = (0.5 * dt);
        let vt2 = ((sq1 * th0) * (2.0 * sq0));
        let vt3 = ((vt0 * (3.0 * (sq1 * sq1))) + (th0 * (sq0 * sq0)));
        let vt4 = (sq0 + vt2);
        let vt5 = (sq1 + vt3);
        let vt6 = (vt4 * vt1);
        let vt7 = (vt5 * vt1);
        var vc8: f32 = vt6;
        var vc9: f32 = vt7;
        var failStep: u32 = 0u;
        var s: u32 = 0u;
        for (; s < dControl.steps; s++) {
          let step = dControl.stepBase + s;
          let vt10 = (sp0 - vc8);
          let vt11 = (sp1 - vc9);
          let vt12 = (dt * vt10);
          let vt13 = (dt * vt11);
          let vt14 = (sq0 + vt12);
          let vt15 = (sq1 + vt13);
          let vt16 = ((th0 * vt15) * (2.0 * vt14));
          let vt17 = ((vt0 * (3.0 * (vt15 * vt15))) + (th0 * (vt14 * vt14)));
          let vt18 = (vt14 + vt16);
          let vt19 = (vt15 + vt17);
          let vt20 = (vt1 * vt18);
          let vt21 = (vt1 * vt19);
          let vt22 = (vt10 - vt20);
          let vt23 = (vt11 - vt21);
          let nq0 = vt14;
          let nq1 = vt15;
          let np0 = vt22;
          let np1 = vt23;
          vc8 = vt20;
          vc9 = vt21;
          sq0 = nq0; sp0 = np0;
          sq1 = nq1; sp1 = np1;
          let check = nq0 + np0 + nq1 + np1;
          failStep = select(failStep, step + 1u, failStep == 0u && (bitcast<u32>(check) & 0x7f800000u) == 0x7f800000u);
          if (dControl.recordEvery != 0u && (step + 1u) % dControl.recordEvery == 0u) {
            let at = ((step + 1u) / dControl.recordEvery - 1u) * dControl.batch * 2u + b * 2u;
            let pAt = at + dControl.recordCount * dControl.batch * 2u;
            dRecord[at + 0u] = nq0; dRecord[pAt + 0u] = np0;
            dRecord[at + 1u] = nq1; dRecord[pAt + 1u] = np1;
          }
        }
        if (s < dControl.steps && failStep == 0u) { failStep = (dControl.stepBase + s + 1u) | 536870912u; }
        if (failStep != 0u && dStatus[sBase] == 0u) { dStatus[sBase] = failStep; }
        if ((failStep & 536870912u) != 0u) {
          let nan = bitcast<f32>(0x7fc00000u | (failStep & 0u));
          sq0 = nan; sp0 = nan;
          sq1 = nan; sp1 = nan;
        }
        dState[qBase + 0u] = sq0; dState[pBase + 0u] = sp0;
        dState[qBase + 1u] = sq1; dState[pBase + 1u] = sp1;
      }
      "
    `);
  });
  it('WGSL: pendulum implicit midpoint', () => {
    expect(emitWgslStepper(stepProgram(pendulum().hamiltonian, 'midpoint'))).toMatchInlineSnapshot(`
      "struct Control {
        dt: f32, tStart: f32, steps: u32, stepBase: u32,
        offset: u32, batch: u32, recordEvery: u32, recordCount: u32,
      }
      @group(0) @binding(0) var<storage, read_write> dState: array<f32>;
      @group(0) @binding(1) var<storage, read> dParams: array<f32>;
      @group(0) @binding(2) var<storage, read_write> dRecord: array<f32>;
      @group(0) @binding(3) var<storage, read_write> dStatus: array<u32>;
      @group(0) @binding(4) var<uniform> dControl: Control;

      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
        let b = gid.x + dControl.offset;
        let sBase = b * 4u;
        if (b >= dControl.batch) { return; }
        if (dControl.stepBase == 0u) { dStatus[sBase + 0u] = 0u; dStatus[sBase + 1u] = 0u; dStatus[sBase + 2u] = 0u; dStatus[sBase + 3u] = 0u; }
        if (dStatus[sBase] != 0u) { return; }
        let qBase = b * 1u;
        let pBase = (dControl.batch + b) * 1u;
        var sq0: f32 = dState[qBase + 0u];
        var sp0: f32 = dState[pBase + 0u];
        let dt = dControl.dt;
        let th0 = dParams[0];
        let vt0 = (-th0);
        let vt1 = (-dt);
        let vt2 = (0.5 * dt);
        let vt3 = ((-0.5) * dt);
        var failStep: u32 = 0u;
        var failed = false;
        var iterationsTotal: u32 = 0u;
        var iterationsMax: u32 = 0u;
        var s: u32 = 0u;
        for (; s < dControl.steps; s++) {
          let step = dControl.stepBase + s;
          let vt4 = (vt2 * sp0);
          let vt5 = (-(vt0 * sin(sq0)));
          let vt6 = (vt5 * vt3);
          var vw7: f32 = vt4;
          var vw8: f32 = vt6;
          var vscale9: f32 = max(max(max(max(abs(sq0), abs(sp0)), abs(vw7)), abs(vw8)), abs(0.0));
          var viterations10: f32 = 0;
          var vprevious11: f32 = 3.0e38;
          loop {
            let vt12 = (sp0 + vw8);
            let vt13 = (0.5 * vt12);
            let vt14 = (dt * vt13);
            let vt15 = (sq0 + vw7);
            let vt16 = (-(vt0 * sin(vt15)));
            let vt17 = (0.5 * vt16);
            let vt18 = (vt1 * vt17);
            viterations10 = viterations10 + 1;
            let vt19 = vt14;
            let vt20 = vt18;
            let vt21 = max(abs(vt19 - vw7), abs(vt20 - vw8));
            vw7 = vt19;
            vw8 = vt20;
            if (vt21 <= 4.76837158203125e-7 * vscale9) { break; }
            if (vt21 >= vprevious11 && vt21 <= 0.000030517578125 * vscale9) { break; }
            if (viterations10 >= 100) {
              dStatus[sBase] = (step + 1u) | 2147483648u;
              dStatus[sBase + 2u] = max(dStatus[sBase + 2u], u32(viterations10));
              dStatus[sBase + 3u] = bitcast<u32>(vt21);
              failed = true;
              break;
            }
            vprevious11 = vt21;
          }
          if (failed) { break; }
          let vt22 = (sp0 + vw8);
          let vt23 = (dt * vt22);
          let vt24 = (sq0 + vt23);
          let vt25 = (sq0 + vw7);
          let vt26 = (-(vt0 * sin(vt25)));
          let vt27 = (dt * vt26);
          let vt28 = (sp0 - vt27);
          let its = u32(viterations10);
          iterationsTotal += its;
          iterationsMax = max(iterationsMax, its);
          let nq0 = vt24;
          let np0 = vt28;
          sq0 = nq0; sp0 = np0;
          let check = nq0 + np0;
          if ((bitcast<u32>(check) & 0x7f800000u) == 0x7f800000u) { failStep = step + 1u; break; }
          if (dControl.recordEvery != 0u && (step + 1u) % dControl.recordEvery == 0u) {
            let at = ((step + 1u) / dControl.recordEvery - 1u) * dControl.batch * 1u + b * 1u;
            let pAt = at + dControl.recordCount * dControl.batch * 1u;
            dRecord[at + 0u] = nq0; dRecord[pAt + 0u] = np0;
          }
        }
        if (s < dControl.steps && failStep == 0u && !failed) { failStep = (dControl.stepBase + s + 1u) | 536870912u; }
        if (failStep != 0u && dStatus[sBase] == 0u) { dStatus[sBase] = failStep; }
        if ((failStep & 536870912u) != 0u) {
          let nan = bitcast<f32>(0x7fc00000u | (failStep & 0u));
          sq0 = nan; sp0 = nan;
        }
        dStatus[sBase + 1u] += iterationsTotal;
        dStatus[sBase + 2u] = max(dStatus[sBase + 2u], iterationsMax);
        dState[qBase + 0u] = sq0; dState[pBase + 0u] = sp0;
      }
      "
    `);
  });
  it('JS: Hénon–Heiles leapfrog', () => {
    expect(compileJsRunner(stepProgram(henonHeiles().hamiltonian, 'leapfrog')).source).toMatchInlineSnapshot(`
      ""use strict";
      return function run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps) {
        let iterationsTotal = 0, iterationsMax = 0;
        const failures = [];
        const th0 = params[0][0];
        const vt0 = ((-0.3333333333333333) * th0);
        const vt1 = (0.5 * dt);
        for (let b = bFrom; b < bTo; b++) {
          const o = b * 2;
          let sq0 = Q[o + 0], sq1 = Q[o + 1];
          let sp0 = P[o + 0], sp1 = P[o + 1];
          const vt2 = ((sq1 * th0) * (2 * sq0));
          const vt3 = ((vt0 * (3 * (sq1 * sq1))) + (th0 * (sq0 * sq0)));
          const vt4 = (sq0 + vt2);
          const vt5 = (sq1 + vt3);
          const vt6 = (vt4 * vt1);
          const vt7 = (vt5 * vt1);
          let vc8 = vt6;
          let vc9 = vt7;
          let untilRecord = recordEvery > 0 ? recordEvery - (sFrom % recordEvery) : 0;
          let recordAt = o + (recordEvery > 0 ? Math.floor(sFrom / recordEvery) * batch * 2 : 0);
          let failStep = -1, failKind = 0, failResidual = 0, failIterations = 0;
          stepLoop: for (let s = sFrom; s < sTo; s++) {
            const vt10 = (sp0 - vc8);
            const vt11 = (sp1 - vc9);
            const vt12 = (dt * vt10);
            const vt13 = (dt * vt11);
            const vt14 = (sq0 + vt12);
            const vt15 = (sq1 + vt13);
            const vt16 = ((th0 * vt15) * (2 * vt14));
            const vt17 = ((vt0 * (3 * (vt15 * vt15))) + (th0 * (vt14 * vt14)));
            const vt18 = (vt14 + vt16);
            const vt19 = (vt15 + vt17);
            const vt20 = (vt1 * vt18);
            const vt21 = (vt1 * vt19);
            const vt22 = (vt10 - vt20);
            const vt23 = (vt11 - vt21);
            const nq0 = vt14;
            const nq1 = vt15;
            const np0 = vt22;
            const np1 = vt23;
            vc8 = vt20;
            vc9 = vt21;
            const check = nq0 + np0 + nq1 + np1;
            if (check - check !== 0) { failStep = s; break stepLoop; }
            sq0 = nq0; sp0 = np0;
            sq1 = nq1; sp1 = np1;
            if (recordQ !== null && --untilRecord === 0) {
              untilRecord = recordEvery;
              recordQ[recordAt + 0] = nq0; recordP[recordAt + 0] = np0;
              recordQ[recordAt + 1] = nq1; recordP[recordAt + 1] = np1;
              recordAt += batch * 2;
            }
          }
          if (failStep >= 0) failures.push(failKind === 0 ? { kind: 'nonfinite', step: failStep, trajectory: b } : { kind: 'noConvergence', step: failStep, trajectory: b, residual: failResidual, iterations: failIterations });
          Q[o + 0] = sq0; P[o + 0] = sp0;
          Q[o + 1] = sq1; P[o + 1] = sp1;
        }
        return { failure: null, failures, iterationsTotal, iterationsMax };
      };"
    `);
  });
});

describe('loop fusion', () => {
  it('computes an elementwise chain inside the loop of its only reader, and agrees with the reference evaluator', async () => {
    const { add, dot, input, matvec, param, tanh, mul } = await import('../../src/index.js');
    const { compileJs, gradient } = await import('../../src/internals.js');
    const q = input('q', 'q', [3]);
    const W = param('W', [50, 3]), b = param('b', [50]), w = param('w', [50]);
    const H = dot(w, tanh(add(matvec(W, q), b)));
    const f = compileJs([q, W, b, w], [H]);
    // matvec, +b, tanh: one loop inside the dot's reduction; no scratch arrays.
    expect(f.source.match(/for \(/g)?.length).toBe(1);
    expect(f.source).not.toMatch(/new Float64Array/);
    const values = [Float64Array.of(0.3, -0.2, 0.5), Float64Array.from({ length: 150 }, (_, i) => Math.sin(i)), Float64Array.from({ length: 50 }, (_, i) => Math.cos(i)), Float64Array.from({ length: 50 }, (_, i) => Math.sin(2 * i))];
    const out = [new Float64Array(1)];
    f(values, out);
    let reference = 0;
    for (let i = 0; i < 50; i++) {
      let z = values[2]![i]!;
      for (let j = 0; j < 3; j++) z += values[1]![i * 3 + j]! * values[0]![j]!;
      reference += values[3]![i]! * Math.tanh(z);
    }
    expect(Math.abs(out[0]![0]! - reference)).toBeLessThan(1e-13);
    // The gradient reuses tanh(·) in two places, so that one is stored; the rest still fuses.
    const [dq] = gradient(mul(H, H), [q]);
    const g = compileJs([q, W, b, w], [dq!]);
    expect((g.source.match(/new Float64Array/g) ?? []).length).toBeLessThanOrEqual(2);
  });
});
