import { compile, parse } from './src/index.js';
const N = 8;
const q = Array.from({length: N}, (_, i) => `x${i}`), p = q.map((x) => `p${x}`);
const bonds = q.map((x, i) => `(${q[(i + 1) % N]} - ${x})`);
const H = p.map((x) => `${x}^2/2`).join(' + ') + ' + ' + bonds.map((r) => `${r}^2/2 + beta*${r}^4/4`).join(' + ');
const h = parse({ q, p, H, params: { beta: 1 } });
const st = await compile(h, { method: process.argv[2] ?? 'leapfrog', dt: 0.05, backend: 'cpu', threads: 1 });
console.log(st.source);
