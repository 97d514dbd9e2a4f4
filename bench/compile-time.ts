/**
 * Compile time vs graph size: a one-dof Hamiltonian H = p²/2 + Σₖ cₖ·cos(k·q), k = 1…K, cₖ ≈ 1/k³ (so that the midpoint iteration converges at dt = 0.01), compiled for the CPU
 * backend (f64 JavaScript) with leapfrog for K from 100 to 10 000, and with the implicit midpoint rule up to
 * `--midpoint-max` (default 3 000). Prints the median of a few runs per K (parse, and compile + one step) and
 * the log–log slope of compile time against K fitted over K ≥ 1 000 (where fixed costs no longer dominate;
 * goal ≤ 1.2, i.e. about linear).
 *
 * Run alone: npx tsx bench/compile-time.ts [--max 10000] [--midpoint-max 3000] [--runs 3]
 * (also part of npm run bench, with the defaults).
 */
import { fileURLToPath } from 'node:url';
import { compile, parse } from '../src/index.js';

/** Options of {@link compileTimeBench}. */
export interface CompileTimeOptions {
  /** Largest K for leapfrog (default 10 000). */
  max?: number;
  /** Largest K for the midpoint rule (default 3 000). */
  midpointMax?: number;
  /** Runs per K; the median is reported (default 3). */
  runs?: number;
}

/** The formula of the benchmark Hamiltonian; `variant` changes the coefficients so no two runs share nodes. */
export function cosineSum(K: number, variant: number): string {
  const terms = Array.from({ length: K }, (_, j) => `${(1 / (j + 1 + variant / 7) ** 3).toPrecision(12)}*cos(${j + 1}*q)`);
  return `p^2/2 + ${terms.join(' + ')}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Least-squares slope of log(time) against log(K).
 *
 * @example
 * logLogSlope([[1000, 1], [2000, 2], [4000, 4]]); // 1
 */
export function logLogSlope(points: readonly (readonly [number, number])[]): number {
  const xs = points.map(([k]) => Math.log(k)), ys = points.map(([, t]) => Math.log(t));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0, den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** Median seconds to parse, and to compile (CPU) plus run one step, for one K and method. */
async function measure(K: number, method: string, runs: number): Promise<{ parse: number; compile: number }> {
  const parseTimes: number[] = [], compileTimes: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const h = parse({ q: ['q'], p: ['p'], H: cosineSum(K, r + (method === 'leapfrog' ? 0 : 100)) });
    const t1 = performance.now();
    const stepper = await compile(h, { method, dt: 0.01, backend: 'cpu' });
    const { q } = await stepper.run({ q0: [0.3], p0: [0.1], steps: 1 });
    const t2 = performance.now();
    if (!Number.isFinite(q[0])) throw new Error(`K = ${K}, ${method}: non-finite result`);
    stepper.dispose();
    parseTimes.push((t1 - t0) / 1000);
    compileTimes.push((t2 - t1) / 1000);
  }
  return { parse: median(parseTimes), compile: median(compileTimes) };
}

/**
 * Prints compile time vs K and the log–log slope per method.
 *
 * @example
 * await compileTimeBench({ max: 3000, runs: 1 });
 */
export async function compileTimeBench(options: CompileTimeOptions = {}): Promise<void> {
  const max = options.max ?? 10_000, midpointMax = options.midpointMax ?? 3_000, runs = options.runs ?? 3;
  const sizes = [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000];
  console.log(`\n## Compile time vs graph size: H = p²/2 + Σ cₖ cos(k q), k ≤ K (CPU, median of ${runs})\n`);
  for (const [method, limit] of [['leapfrog', max], ['midpoint', midpointMax]] as const) {
    const points: [number, number][] = [];
    for (const K of sizes.filter((k) => k <= limit)) {
      const t = await measure(K, method, runs);
      points.push([K, t.compile]);
      console.log(`${method.padEnd(9)} K = ${String(K).padStart(6)}  parse ${(t.parse * 1000).toFixed(0).padStart(6)} ms  compile + 1 step ${(t.compile * 1000).toFixed(0).padStart(7)} ms  (${((t.compile / K) * 1e6).toFixed(0)} µs/term)`);
    }
    const fitted = points.filter(([K]) => K >= 1000);
    if (fitted.length >= 2) console.log(`${method}: log–log slope of compile time vs K (K ≥ 1000) = ${logLogSlope(fitted).toFixed(2)} (goal ≤ 1.2)\n`);
  }
}

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : Number(process.argv[at + 1]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await compileTimeBench({ max: argument('max'), midpointMax: argument('midpoint-max'), runs: argument('runs') });
}
