import { compile, henonHeiles } from './src/index.js';
import { acquireGpu, releaseGpu } from './src/runtime/index.js';
import { runHandwrittenHenonHeiles, henonHeilesInitial } from './bench/handwritten-henon-heiles.js';
const gpu = await acquireGpu();
console.log(gpu.adapterKind);
const B = 65536, h = 0.01;
const init = henonHeilesInitial(B);
const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: h, backend: 'gpu' });
await st.run({ q0: init.q0, p0: init.p0, steps: 1, batch: B });
await runHandwrittenHenonHeiles(gpu, { batch: B, steps: 1, dt: h });
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
(globalThis as any).__T = {};
for (const S of [1]) {
  const g: number[] = [], w: number[] = [];
  for (let r = 0; r < 21; r++) {
    const t = performance.now();
    await st.run({ q0: init.q0, p0: init.p0, steps: S, batch: B });
    g.push(performance.now() - t);
    w.push((await runHandwrittenHenonHeiles(gpu, { batch: B, steps: S, dt: h })).seconds * 1000);
  }
  console.log(S, 'gen', med(g).toFixed(1), 'hand', med(w).toFixed(1));
}
for (const [k, v] of Object.entries((globalThis as any).__T)) console.log(k, med(v as number[]).toFixed(2));
st.dispose();
await releaseGpu();
