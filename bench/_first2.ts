import { compile, fpuChain } from '../src/index.js';
import { acquireGpu, createComputeKernel, releaseGpu } from '../src/runtime/index.js';
const m = fpuChain({ sites: 200 });
const st = await compile(m.hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu', particleKernel: 'off' });
const gpu = await acquireGpu();
for (const entryPoint of ['mainChecked', 'mainRecord']) {
  const t = performance.now();
  await createComputeKernel(gpu, { wgsl: st.wgsl!, entryPoint, label: entryPoint });
  console.log(entryPoint, (performance.now() - t).toFixed(0), 'ms');
}
await releaseGpu();
