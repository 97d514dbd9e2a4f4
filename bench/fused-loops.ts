/**
 * Loop fusion in the CPU runner (src/codegen/loop-fusion.ts) on the LAMMPS `lj` benchmark state (32 000 atoms,
 * leapfrog, one thread): the generated runner with fused loops vs the same runner generated without fusion
 * (`LOOP_FUSION.enabled = false`), interleaved repeats, median CPU ms per step, results compared bit for bit. Two
 * measurements: the whole step, and its O(n) part alone — the same runners with the pair loop's inner loop cut out
 * and dt = 1e-9 (no particle moves far enough to rebuild the list), which leaves the elementwise passes, the list's
 * refresh and the slot-sum bookkeeping.
 * Also: npx tsx bench/fused-loops.ts [--repeats 7] [--steps 40] [--cells 20]
 */
import { loadavg } from 'node:os';
import { fcc, maxwellBoltzmann, particles } from '../src/index.js';
import { stepProgram } from '../src/integrators/methods.js';
import { compileJsRunner, type JsRunner } from '../src/codegen/emit-js-stepper.js';
import { LOOP_FUSION } from '../src/codegen/loop-fusion.js';

const arg = (name: string, fallback: number) => {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : fallback;
};
const repeats = arg('repeats', 7), steps = arg('steps', 40), cells = arg('cells', 20);

const { q, box } = fcc({ cells: [cells, cells, cells], density: 0.8442 });
const n = q.length / 3;
const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } });
const program = stepProgram(sys.hamiltonian, 'leapfrog');
const params = sys.hamiltonian.paramValues;

/** The runner's source with the inner loop over a slot's partners emptied (its bound set to its start). */
function withoutPairs(source: string): string {
  const bounds = [...source.matchAll(/let (\w+) = (\w+)\[(\w+)\];\n\s*const (\w+) = \2\[\3 \+ 1\];\n\s*for \(; \1 < \4; \1\+\+\) \{/g)];
  const last = bounds[bounds.length - 1];
  if (last === undefined) throw new Error('bench/fused-loops: no pair loop found in the runner source');
  return source.replace(last[0], last[0].replace(`const ${last[4]} = ${last[2]}[${last[3]} + 1];`, `const ${last[4]} = ${last[1]};`));
}

type Run = (Q: Float64Array, P: Float64Array, params: readonly Float64Array[], batch: number, steps: number, dt: number, t: number, every: number, rq: null, rp: null) => unknown;
const compileSource = (source: string) => new Function(source)() as Run;
const runners = (f: (r: JsRunner) => string) => {
  const fused = compileJsRunner(program);
  LOOP_FUSION.enabled = false;
  const unfused = compileJsRunner(program);
  LOOP_FUSION.enabled = true;
  return { fused: compileSource(f(fused)), unfused: compileSource(f(unfused)) };
};

function measure(label: string, pair: { fused: Run; unfused: Run }, dt: number) {
  const go = (run: Run, s: number) => {
    const Q = q.slice(), P = p.slice();
    run(Q, P, params, 1, s, dt, 0, 0, null, null);
    return { Q, P };
  };
  const a = go(pair.fused, 10), b = go(pair.unfused, 10);
  const same = a.Q.every((x, i) => x === b.Q[i]) && a.P.every((x, i) => x === b.P[i]);
  const times = { fused: [] as number[], unfused: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    for (const k of ['fused', 'unfused'] as const) {
      const c0 = process.cpuUsage();
      go(pair[k], steps);
      const c = process.cpuUsage(c0);
      times[k].push((c.user + c.system) / 1e3 / steps);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const [f, u] = [median(times.fused), median(times.unfused)];
  console.log(`${label.padEnd(34)} fused ${f.toFixed(2)} ms/step, unfused ${u.toFixed(2)} ms/step (CPU, median of ${repeats}), saved ${(u - f).toFixed(2)} ms; bit-identical: ${same}`);
}

console.log(`${n} atoms, leapfrog, 1 thread, ${steps} steps per run; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
measure('whole step', runners((r) => r.source), 0.005);
measure('O(n) part (no pair loop, dt 1e-9)', runners((r) => withoutPairs(r.source)), 1e-9);
