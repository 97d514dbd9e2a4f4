"""Training throughput of the spring HNN in PyTorch (CPU), for bench/train.ts.

Same network and step as darboux's benchmark: H(q, p) = w2 . tanh(W1 [q; p] + b1) + b2 with `hidden` units,
derivative-matching loss mean((J grad H - zdot)^2) with the input gradient taken with create_graph=True
(Greydanus et al. 2019), Adam with L2 weight decay, a random minibatch of `batch` samples per step
(torch.randperm). Prints one JSON line: {"samplesPerSecond": ..., "threads": ..., "torch": ..., "finalLoss": ...}.
"""
import argparse
import json
import math
import time

import torch


def spring_data(trajectories=50, per_trajectory=30):
    q, p, dq, dp = [], [], [], []
    for k in range(trajectories):
        r, phase = 0.3 + 0.02 * k, 0.7 * k
        for j in range(per_trajectory):
            t = 3.0 * j / per_trajectory
            qi, pi = r * math.cos(2 * t + phase), -r * math.sin(2 * t + phase)
            q.append(qi); p.append(pi); dq.append(2 * pi); dp.append(-2 * qi)
    x = torch.tensor(list(zip(q, p)), dtype=torch.float32)
    dxdt = torch.tensor(list(zip(dq, dp)), dtype=torch.float32)
    return x, dxdt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--warmup', type=int, default=20)
    ap.add_argument('--batch', type=int, default=250)
    ap.add_argument('--hidden', default='200', help='hidden widths, comma-separated (e.g. 64,64)')
    ap.add_argument('--repeats', type=int, default=1, help='timed blocks of `steps` steps; the median is reported')
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default)')
    ap.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    x, dxdt = spring_data()
    x, dxdt = x.to(dtype), dxdt.to(dtype)
    layers, width = [], 2
    for h in (int(w) for w in str(args.hidden).split(',')):
        layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1)).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)

    def step():
        idx = torch.randperm(x.shape[0])[: args.batch]
        xb = x[idx].clone().requires_grad_(True)
        H = model(xb).sum()
        dH = torch.autograd.grad(H, xb, create_graph=True)[0]
        field = torch.stack([dH[:, 1], -dH[:, 0]], dim=1)
        loss = ((field - dxdt[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    rates = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        rates.append(args.steps * args.batch / (time.perf_counter() - t0))
    rates.sort()
    print(json.dumps({
        'samplesPerSecond': rates[len(rates) // 2],
        'rates': rates,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'dtype': args.dtype,
        'finalLoss': loss,
    }))


if __name__ == '__main__':
    main()
