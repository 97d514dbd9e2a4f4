/**
 * Graph size and compile time of a particle system against its size: Lennard-Jones (r_c = 2.5, truncated) in a
 * periodic cubic box at ρ* = 0.8442 (larger where the box must hold twice the cutoff), N = 10, 10³ and 10⁵ particles,
 * leapfrog compiled to the CPU backend. For each N: the number of nodes of H (graphSize), the time to build the
 * system (particles()), the time of compile() (step program, lowering, JS), the size of the generated source,
 * and the time of the first step (which builds the cell lists). Medians of `--runs` runs (default 5); each run
 * uses a slightly different cutoff (2.5 − k·10⁻⁹) so that no run reuses another's interned graph or caches.
 * Goal (the particles issue): a constant graph and a compile time independent of N.
 *
 * Measured (this machine, 2 shared cores, without --expose-gc; medians of 7): H has 11 nodes for every N; compile()
 * 1.5 / 2.4 / 5.0 ms for N = 10 / 10³ / 10⁵ (63 ms at 10⁵ before the register loads stopped listing every dof);
 * source ≈ 12.6 k chars at N = 10 (all pairs), ≈ 9.9 k at 10³ and 10⁵ (cell lists; only numerals differ);
 * particles() 0.3 / 1.9 / 48 ms — what still grows is its n·dim coordinate names.
 *
 * Run: node --expose-gc --import tsx bench/particle-compile.ts [--runs 5] [--sizes 10,1000,100000]
 * (without --expose-gc the garbage of one phase may be collected, and charged, in the next).
 */
import { compile, graphSize, particles } from '../src/index.js';

const argument = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const runs = Number(argument('--runs', '5'));
const sizes = argument('--sizes', '10,1000,100000').split(',').map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** N particles on a simple cubic grid filling a periodic cube at density ρ* (side ≥ 2.02 r_c). */
function state(n: number): { q: Float64Array; box: number[] } {
  const side = Math.max(Math.cbrt(n / 0.8442), 5.05), perSide = Math.ceil(Math.cbrt(n)), a = side / perSide;
  const q = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    q[3 * i] = a * (i % perSide);
    q[3 * i + 1] = a * (Math.floor(i / perSide) % perSide);
    q[3 * i + 2] = a * Math.floor(i / (perSide * perSide));
  }
  return { q, box: [side, side, side] };
}

interface Sample { nodes: number; build: number; compile: number; source: number; firstStep: number }

/** A full collection before each timed phase when node runs with --expose-gc (so one phase's garbage is not charged to the next). */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function measure(n: number, run: number): Promise<Sample> {
  const { q, box } = state(n);
  collect();
  const t0 = performance.now();
  const sys = particles({
    n, dim: 3, mass: 1, box,
    pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5 - run * 1e-9, shift: false },
  });
  collect();
  const t1 = performance.now();
  const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
  collect();
  const t2 = performance.now();
  const out = await st.run({ q0: q, p0: new Float64Array(3 * n), steps: 1 });
  const t3 = performance.now();
  if (!out.q.every(Number.isFinite)) throw new Error(`N = ${n}: non-finite state after one step`);
  const sample = { nodes: graphSize([sys.hamiltonian.H]), build: t1 - t0, compile: t2 - t1, source: st.source?.length ?? 0, firstStep: t3 - t2 };
  st.dispose();
  return sample;
}

await measure(10, -1); // warm the JIT so the first size is not charged for it
console.log(`## Particle systems: graph size and compile time vs N (LJ, periodic, leapfrog → CPU), medians of ${runs} runs${'gc' in globalThis ? '' : ' (no --expose-gc)'}\n`);
console.log('| N | nodes of H | particles() ms | compile() ms | generated source (chars) | first step ms |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const n of sizes) {
  const samples: Sample[] = [];
  for (let r = 0; r < runs; r++) samples.push(await measure(n, r));
  const nodes = new Set(samples.map((s) => s.nodes)), source = new Set(samples.map((s) => s.source));
  console.log(
    `| ${n} | ${[...nodes].join('/')} | ${median(samples.map((s) => s.build)).toFixed(1)} | ${median(samples.map((s) => s.compile)).toFixed(1)} ` +
      `| ${[...source].join('/')} | ${median(samples.map((s) => s.firstStep)).toFixed(1)} |`,
  );
}
