import { compile, lagrangian } from './src/index.js';
const L = lagrangian({ q: ['x', 'y', 'z'], v: ['vx', 'vy', 'vz'], L: '(vx^2+vy^2+vz^2)/2 + (vx^2+vy^2+vz^2)^2/8 + 1/sqrt(x^2+y^2+z^2)' });
const st = await compile(L, { method: 'variationalMidpoint', dt: 0.01, backend: 'cpu' });
const times: number[] = [];
let stats;
for (let rep = 0; rep < 5; rep++) {
const t0 = performance.now();
const r = await st.run({ q0: [1, 0, 0, 1, 0, 0.1, 0.9, 0, 0, 1.1, 0, 0], v0: [0, 0.9, 0.1, 0, 0.9, 0, 0, 0.8, 0, 0, 0.7, 0.1], steps: 20000, batch: 4 });
times.push(performance.now() - t0); stats = r.stats;
}
times.sort((a, b) => a - b);
console.log('median ms', times[2].toFixed(0), stats);
