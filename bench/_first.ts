import { compile, fpuChain } from '../src/index.js';
import { releaseGpu } from '../src/runtime/index.js';
const m = fpuChain({ sites: 200 });
const h = m.hamiltonian;
let t = performance.now();
const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu', particleKernel: 'off' });
console.log('dof', h.dof, 'compile', (performance.now() - t).toFixed(0), 'ms');
const q0 = Float64Array.from(m.q0), p0 = Float64Array.from(m.p0);
for (let r = 0; r < 3; r++) { t = performance.now(); await st.run({ q0, p0, steps: 10 }); console.log('run', r, (performance.now() - t).toFixed(0), 'ms'); }
t = performance.now(); await st.run({ q0, p0, steps: 10, record: 1 }); console.log('first record run', (performance.now() - t).toFixed(0), 'ms');
t = performance.now(); await st.run({ q0, p0, steps: 10, record: 1 }); console.log('second record run', (performance.now() - t).toFixed(0), 'ms');
await releaseGpu();
