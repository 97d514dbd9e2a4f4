"""Acceleration-loss training throughput of an unconstrained LNN in PyTorch (CPU), for bench/lagrangian.ts.

Same network and step as darboux's `lnn({ dof, hidden, activation: 'softplus' })` trained by `fit(..., { loss:
'acceleration' })`: L(q, v) = w . softplus(W2 softplus(W1 [q; v] + b1) + b2) (no output bias), accelerations from the
Euler-Lagrange equations a = (d2L/dv2)^-1 (dL/dq - d2L/dvdq . v) per sample (Hessian rows by double backward with
create_graph=True, a batched torch.linalg.solve), loss mean((a - a_data)^2), Adam, a random minibatch of `batch`
samples per step. Data: states of the Kepler problem in `dof` dimensions (q of norm 0.5 to 1.5, v of order 1) and
their exact accelerations -q/|q|^3. Works with torch 1.13 (no torch.func). Prints one JSON line:
{"samplesPerSecond": ... (best wall clock), "cpuSamplesPerSecond": ... (best by CPU time, all threads together),
"threads": ..., "torch": ..., "dtype": ..., "finalLoss": ...}.
"""
import argparse
import json
import time

import torch


def kepler_data(dof, count, dtype):
    g = torch.Generator().manual_seed(0)
    direction = torch.randn(count, dof, generator=g, dtype=dtype)
    direction = direction / direction.norm(dim=1, keepdim=True)
    radius = 0.5 + torch.rand(count, 1, generator=g, dtype=dtype)
    q = direction * radius
    v = torch.randn(count, dof, generator=g, dtype=dtype)
    a = -q / radius ** 3
    return q, v, a


def accelerations(model, q, v):
    q = q.clone().requires_grad_(True)
    v = v.clone().requires_grad_(True)
    L = model(torch.cat([q, v], dim=1)).sum()
    dq, dv = torch.autograd.grad(L, (q, v), create_graph=True)
    rows_vq, rows_vv = [], []
    for i in range(v.shape[1]):
        hq, hv = torch.autograd.grad(dv[:, i].sum(), (q, v), create_graph=True)
        rows_vq.append(hq)
        rows_vv.append(hv)
    m_vq = torch.stack(rows_vq, dim=1)  # [B, i, j] = d2L / dv_i dq_j
    m_vv = torch.stack(rows_vv, dim=1)  # [B, i, j] = d2L / dv_i dv_j
    rhs = dq - torch.bmm(m_vq, v.unsqueeze(2)).squeeze(2)
    return torch.linalg.solve(m_vv, rhs.unsqueeze(2)).squeeze(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--warmup', type=int, default=20)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--dof', type=int, default=3)
    ap.add_argument('--hidden', type=str, default='32,32')
    ap.add_argument('--samples', type=int, default=4096)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default)')
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--seconds', type=float, default=0, help='if > 0: each repeat runs whole steps until this much wall time')
    ap.add_argument('--dtype', choices=['float32', 'float64'], default='float64')
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    q, v, a = kepler_data(args.dof, args.samples, dtype)
    layers, width = [], 2 * args.dof
    for h in [int(x) for x in args.hidden.split(',')]:
        layers += [torch.nn.Linear(width, h), torch.nn.Softplus()]
        width = h
    layers.append(torch.nn.Linear(width, 1, bias=False))
    model = torch.nn.Sequential(*layers).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        idx = torch.randperm(q.shape[0])[: args.batch]
        loss = ((accelerations(model, q[idx], v[idx]) - a[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    wall, cpu = float('inf'), float('inf')
    for _ in range(args.repeats):
        t0, c0, done = time.perf_counter(), time.process_time(), 0
        while done < args.steps or time.perf_counter() - t0 < args.seconds:
            loss = step()
            done += 1
        wall = min(wall, (time.perf_counter() - t0) / done)
        cpu = min(cpu, (time.process_time() - c0) / done)
    print(json.dumps({
        'samplesPerSecond': args.batch / wall,
        'cpuSamplesPerSecond': args.batch / cpu,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'dtype': args.dtype,
        'finalLoss': loss,
    }))


if __name__ == '__main__':
    main()
