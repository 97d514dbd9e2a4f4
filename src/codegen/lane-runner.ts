/**
 * The lane runner: a `JsRunner` (same arguments, windows and status) that advances trajectories in blocks of
 * `lanes` through the WebAssembly SIMD step of `emit-wasm-stepper.ts`. Its source is self-contained JavaScript
 * (the module's bytes and the JS runner's source inside), so a worker thread builds the same runner from
 * `runner.source` with `new Function` as it does for the JS runner.
 *
 * Per block the host copies the trajectories into the module's memory (structure of arrays; a last, partial
 * block repeats its last trajectory in the spare lanes, or runs in the JS runner when at most a quarter of its
 * lanes would be used: a window of one trajectory, as long runs are driven, is no slower than before), runs the steps in segments that end where a snapshot is
 * recorded (measured on Hénon–Heiles leapfrog, 2 048 × 480 steps, CPU time: a snapshot every 2 steps 1.8× the JS
 * runner's speed, every 8 steps 1.7×, every 32 steps 3.4×), and copies the state back. When a lane's state stops being finite at step s, the block's state
 * before s is copied back and each of its trajectories finishes from step s in the JS runner (a window starting
 * at s gives the same bits as one call), which reports the failures exactly as it would have alone.
 */
import type { StepProgram } from '../integrators/step-program.js';
import type { JsRunner } from './emit-js-stepper.js';
import { wasmStepperModule, type WasmStepperModule } from './emit-wasm-stepper.js';
import type { FixedPointSettings } from './step-body.js';
import { EXACT_MATH } from './straight-line.js';

/** A runner whose trajectories advance `lanes` at a time in WebAssembly SIMD. */
export type LaneRunner = JsRunner & { readonly lanes: number };

/**
 * The lane runner of `program`, or why there is none (the step is not straight-line exact f64 code, or this
 * engine lacks WebAssembly SIMD). `js` is the program's JS runner: the lane runner mirrors its lowering and
 * finishes failing trajectories in it. `lanes`: trajectories per block (2, 4 or 8; 'auto': by the step's live values).
 *
 * @example
 * const js = compileJsRunner(program);
 * const lane = compileLaneRunner(program, JS_FIXED_POINT, js);
 * if ('runner' in lane) lane.runner(Q, P, params, batch, 1000, 0.01, 0, 0, null, null);
 */
export function compileLaneRunner(program: StepProgram, settings: FixedPointSettings, js: JsRunner, lanes: number | 'auto' = 'auto'): { runner: LaneRunner } | { reason: string } {
  const early = refusalFromSource(js.source);
  if (early !== null) return { reason: early };
  const m = wasmStepperModule(program, settings, js.unrollLimit, lanes);
  if ('reason' in m) return m;
  const source = laneRunnerSource(js.source, m);
  let run: JsRunner & { lanes?: number };
  try {
    run = new Function(source)() as JsRunner & { lanes?: number };
  } catch (e) {
    return { reason: `the lane runner of ${program.method} did not compile (${e instanceof Error ? e.message : String(e)})` };
  }
  if (run.lanes === undefined) return { reason: 'this JavaScript engine has no WebAssembly SIMD (or refuses to compile the module here)' };
  return { runner: Object.assign(run, { source, unrollLimit: js.unrollLimit }) as LaneRunner };
}

/**
 * Longest JS runner source the lane runner is built for: a product of 5 000 factors (1.76 M characters) took 1.1 s
 * of CPU to compile in JS and 2.1 s more for the lane runner, which then ran only 1.35× faster.
 */
const LANE_SOURCE_LIMIT = 1_000_000;

/**
 * Why the JS runner's source already rules the lane runner out, found by a scan instead of lowering the step a
 * second time (a 50 000-term step takes seconds to lower): a step longer than LANE_SOURCE_LIMIT, a Math function
 * WebAssembly lacks, or closure-scope declarations (scratch arrays, constant tensors) before the runner. Null when
 * the source passes the scan.
 *
 * @example
 * refusalFromSource('"use strict";\nreturn function run() { Math.sin(x); }'); // 'Math.sin has no exact WebAssembly instruction'
 */
export function refusalFromSource(source: string): string | null {
  if (source.length > LANE_SOURCE_LIMIT) return `the step is too long for the lane runner to repay its compilation (${source.length} characters of JavaScript)`;
  for (const m of source.matchAll(/Math\.(\w+)/g)) {
    if (!(EXACT_MATH as readonly string[]).includes(m[1]!)) return `Math.${m[1]} has no exact WebAssembly instruction`;
  }
  const preamble = source.slice(0, source.indexOf('return function run')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== '"use strict";');
  return preamble.length > 0 ? `the step uses scratch arrays or loops (${preamble[0]!.slice(0, 60)})` : null;
}

/**
 * The self-contained source of the lane runner (for `new Function`): it returns the lane runner with a `lanes`
 * property, or the plain JS runner where the module cannot be instantiated.
 *
 * @example
 * const run = new Function(laneRunnerSource(js.source, module))();
 */
export function laneRunnerSource(jsSource: string, m: WasmStepperModule): string {
  const { lanes: L, dof: n } = m;
  const thetas = m.scalarParams.map((k) => `params[${k}][0]`);
  return `"use strict";
const js = (function () {
${jsSource}
})();
let step;
try {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = new Uint8Array([${Array.from(m.bytes).join(',')}]);
  step = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports.run;
  var M = new Float64Array(memory.buffer, 0, ${2 * n * L});
} catch (e) {
  return js;
}
function run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps) {
  const records = recordQ !== null && recordEvery > 0;
  const failures = [];
  blocks: for (let b0 = bFrom; b0 < bTo; b0 += ${L}) {
    const count = Math.min(${L}, bTo - b0);
    if (4 * count <= ${L}) { // a block mostly of spare lanes: slower than the JS runner
      const status = js(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, b0, b0 + count, sFrom, sTo);
      for (const f of status.failures) failures.push(f);
      continue;
    }
    for (let l = 0; l < ${L}; l++) {
      const o = (b0 + (l < count ? l : count - 1)) * ${n};
      for (let i = 0; i < ${n}; i++) { M[i * ${L} + l] = Q[o + i]; M[(${n} + i) * ${L} + l] = P[o + i]; }
    }
    for (let s = sFrom; s < sTo;) {
      const end = records ? Math.min(sTo, (Math.floor(s / recordEvery) + 1) * recordEvery) : sTo;
      const firstTime = s === 0 ? tStart : tStart + (s - 1) * dt + dt;
      const failed = step(s, end, dt, tStart, firstTime${thetas.map((t) => `, ${t}`).join('')});
      if (failed >= 0) {
        unpack(Q, P, b0, count);
        for (let b = b0; b < b0 + count; b++) {
          const status = js(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, b, b + 1, failed, sTo);
          for (const f of status.failures) failures.push(f);
        }
        continue blocks;
      }
      if (records && end % recordEvery === 0) unpack(recordQ, recordP, b0, count, (end / recordEvery - 1) * batch * ${n});
      s = end;
    }
    unpack(Q, P, b0, count);
  }
  return { failure: null, failures, iterationsTotal: 0, iterationsMax: 0 };
}
function unpack(Q, P, b0, count, at = 0) {
  for (let l = 0; l < count; l++) {
    const o = at + (b0 + l) * ${n};
    for (let i = 0; i < ${n}; i++) { Q[o + i] = M[i * ${L} + l]; P[o + i] = M[(${n} + i) * ${L} + l]; }
  }
}
run.lanes = ${L};
return run;`;
}
