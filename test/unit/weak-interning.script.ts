/**
 * Run by weak-interning.test.ts as `node --expose-gc --import tsx test/unit/weak-interning.script.ts [compiles]`:
 * compiles a Hamiltonian again and again with new parameter values (each compile specialises the parameters
 * into new constant nodes), and prints, as JSON, the live interned nodes and the heap after a full collection at
 * a few checkpoints.
 */
import { compile, parse } from '../../src/index.js';
import { internedCount } from '../../src/internals.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/** Full collections, with turns of the event loop between them so finalizers run. */
async function collect(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

const total = Number(process.argv[2] ?? 400);
const checkpoints = new Set([50, total / 2, total]);
const samples: { compiles: number; interned: number; heapBytes: number }[] = [];
for (let i = 1; i <= total; i++) {
  const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + k*x^2/2 + lam*x^4 + cos(x)/(1 + x^2)', params: { k: 1 + i / 1024, lam: 0.1 + i / 4096 } });
  const method = i % 2 === 0 ? 'leapfrog' : 'midpoint';
  const stepper = await compile(h, { method, dt: 0.01, backend: 'cpu' });
  const { q } = await stepper.run({ q0: [0.5], p0: [0], steps: 2 });
  if (!Number.isFinite(q[0])) throw new Error('non-finite state');
  stepper.dispose();
  if (checkpoints.has(i)) {
    await collect();
    samples.push({ compiles: i, interned: internedCount(), heapBytes: process.memoryUsage().heapUsed });
  }
}
console.log(JSON.stringify(samples));
