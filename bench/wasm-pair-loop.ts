/**
 * The WebAssembly f64x2 pair loop of the neighbour-list forces (src/ir/ops/pair-wasm.ts) against the JS pair loop
 * it replaces, on the LAMMPS `lj` benchmark state (fcc ρ* = 0.8442, 32 000 atoms, r_c = 2.5, leapfrog dt = 0.005),
 * same process, interleaved, medians:
 *  - the pair loop alone (the generated runners' sources with a CPU-time timer around the loop: the JS loop, or
 *    the module's preparation — zeroed sums; the slot coordinates already live in its memory — and the call), ms
 *    per force evaluation;
 *  - whole steps through compile() on 1 and 2 threads (`threads`), ms per step (wall and process CPU time, which
 *    counts every thread);
 *  - that both give the same state after the run (bit for bit: the sums are added in the same order).
 * Run: npx tsx bench/wasm-pair-loop.ts [--runs 5] [--steps 50]
 */
import { loadavg } from 'node:os';
import { compile, fcc, maxwellBoltzmann, particles } from '../src/index.js';
import { wasmPairLoops } from '../src/ir/ops/pair-wasm.js';
import { median } from './timing.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const runs = arg('runs', 5), steps = arg('steps', 50);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
/** CPU time of this process so far, ms (the machine may be shared: wall time counts the others' turns). */
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e3;
};

const { q, box } = fcc({ cells: [20, 20, 20], density: 0.8442 });
const n = q.length / 3;
const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
const system = () => particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } });

/** A compiled leapfrog stepper with the WebAssembly pair loop on or off. */
async function stepper(wasm: boolean, threads: number) {
  wasmPairLoops.enabled = wasm;
  try {
    return await compile(system().hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads });
  } finally {
    wasmPairLoops.enabled = true;
  }
}

/**
 * The runner of `source` with a CPU-time timer around each pair loop: the WebAssembly one (from `const F =
 * prepare(aEnd)` to the call) or the JS one (from the growth of its sums to the end of its loop over slots);
 * `timer.ms` sums the time inside.
 */
function timedRunner(source: string) {
  const lines = source.split('\n');
  let found = 0;
  const wrap = (from: number, to: number) => {
    lines[from] = `const __t${found} = __timer.now(); ${lines[from]}`;
    lines[to] += ` __timer.ms += __timer.now() - __t${found};`;
    found++;
  };
  for (let k = 0; k < lines.length; k++) {
    if (/^\s*const vt\d+ = vf\d+\(vt\d+\);$/.test(lines[k]!) && /^\s*vh\d+\(.*\.o, /.test(lines[k + 1] ?? '')) wrap(k, k + 1);
    if (!/^\s*if \(vg\d+\.length < vt\d+\) vg\d+ = new Float64Array\(2 \* vt\d+\)$/.test(lines[k]!)) continue;
    let loop = k;
    while (!/^\s*for \(; vm\d+ < vt\d+; vm\d+\+\+\) \{$/.test(lines[loop]!)) loop++;
    let depth = 0, end = loop;
    for (; end < lines.length; end++) {
      for (const c of lines[end]!) depth += c === '{' ? 1 : c === '}' ? -1 : 0;
      if (depth === 0) break;
    }
    wrap(k, end);
  }
  if (found === 0) throw new Error('no pair loop found in the generated source');
  const timer = { ms: 0, now: cpuMs };
  const run = new Function('__timer', lines.join('\n'))(timer);
  return { run, timer };
}

const row = (label: string, xs: number[]) => console.log(`${label.padEnd(44)} ${median(xs).toFixed(2).padStart(7)} ms   (${xs.map((x) => x.toFixed(2)).join(' ')})`);

console.log(`WebAssembly pair loop vs JS pair loop, LJ 32 000 atoms, ${steps} steps per run, ${runs} runs; load ${load()}`);
{
  const runners = { js: await stepper(false, 1), wasm: await stepper(true, 1) };
  const timed = { js: timedRunner(runners.js.source!), wasm: timedRunner(runners.wasm.source!) };
  const go = (kind: 'js' | 'wasm') => {
    const Q = q.slice(), P = p.slice();
    const { run, timer } = timed[kind];
    timer.ms = 0;
    run(Q, P, [[1], [1]], 1, steps, 0.005, 0, 0, null, null);
    return { ms: timer.ms / steps, Q };
  };
  go('wasm'), go('js');
  const pair = { js: [] as number[], wasm: [] as number[] };
  let same = true;
  for (let r = 0; r < runs; r++) {
    const w = go('wasm'), j = go('js');
    pair.wasm.push(w.ms);
    pair.js.push(j.ms);
    same &&= w.Q.every((x, k) => x === j.Q[k]);
  }
  console.log('pair loop per force evaluation (one thread, CPU time):');
  row('  JS loop', pair.js);
  row('  WebAssembly (copy in + loop)', pair.wasm);
  console.log(`  ratio JS / WebAssembly ${(median(pair.js) / median(pair.wasm)).toFixed(2)}×; final states equal bit for bit: ${same}`);
  for (const st of Object.values(runners)) st.dispose();
}
for (const threads of [1, 2]) {
  const steppers = { js: await stepper(false, threads), wasm: await stepper(true, threads) };
  const wall = { js: [] as number[], wasm: [] as number[] }, cpu = { js: [] as number[], wasm: [] as number[] };
  for (const kind of ['js', 'wasm'] as const) await steppers[kind].run({ q0: q, p0: p, steps: 10 });
  const finals: Record<string, Float64Array> = {};
  for (let r = 0; r < runs; r++) {
    for (const kind of ['js', 'wasm'] as const) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      const out = await steppers[kind].run({ q0: q, p0: p, steps });
      const c = process.cpuUsage(c0);
      wall[kind].push((performance.now() - t0) / steps);
      cpu[kind].push((c.user + c.system) / 1e3 / steps);
      finals[kind] = out.q;
    }
  }
  console.log(`whole steps, ${threads} thread${threads > 1 ? 's' : ''} (ms/step):`);
  row('  JS pair loop, wall', wall.js);
  row('  WebAssembly pair loop, wall', wall.wasm);
  row('  JS pair loop, CPU (all threads)', cpu.js);
  row('  WebAssembly pair loop, CPU (all threads)', cpu.wasm);
  console.log(`  ratio JS / WebAssembly (wall) ${(median(wall.js) / median(wall.wasm)).toFixed(2)}×; final states equal bit for bit: ${finals.js!.every((x, k) => x === finals.wasm![k])}`);
  for (const s of Object.values(steppers)) s.dispose();
}
console.log(`load after: ${load()}`);
