"""The lever study of the Push-T visual model (docs/world-models.md, "Levers"): one lever
at a time, on the frozen encoder and probe of a visual checkpoint, a fresh predictor
trained for a fixed number of steps on the ``pusht-pixel`` recipe's data, then its
reference fidelity on the 100 validation demo problems at H = 40 and 60.

    python results/reference/cpu/pixel-levers/levers.py K=3,hidden=64,layers=4 \\
        --base OLD.pt --work DIR

``--base``: the checkpoint whose encoder and probe are kept (the study used the
``pusht-pixel.pt`` shipped before the frame history, sha256 b20912fbba17f54e...,
``git show a4d7070:checkpoints/pusht-pixel.pt``).  Levers: ``K`` frames of history,
predictor ``hidden`` width and 3x3 conv ``layers``, ``R`` open-loop steps in the loss,
``attn=1`` a patch-token transformer (``hidden`` wide, ``layers`` deep) instead of the
convs, ``mlp=1`` an MLP on the whole flattened grid (``hidden`` wide, ``layers`` linear
layers: every patch sees every other in one step).  Appends one JSON line per run to
``DIR/results.jsonl``.
"""

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from grasp_bench.data import window_actions, window_indices
from grasp_bench.models.camera import in_view
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.models.recipes import RECIPES, recipe_data
from grasp_bench.problems import generate
from grasp_bench.tasks import get_task

DEFAULTS = dict(K=1, hidden=32, layers=3, R=3, steps=3000, batch=256, lr=2e-3, attn=0, heads=4,
                mlp=0)
C, G, k = 16, 8, 5


class Convs(nn.Module):
    """``z_K + P([z_1..z_K, e(a), xy])`` with 3x3 convs, as ``PixelWM.step``."""

    def __init__(self, K, hidden, layers, embed=8):
        super().__init__()
        self.ae = nn.Linear(2 * k, embed)
        d_in, mods = K * C + embed + 2, []
        for i in range(layers - 1):
            mods += [nn.Conv2d(d_in if i == 0 else hidden, hidden, 3, padding=1), nn.SiLU()]
        mods.append(nn.Conv2d(hidden, C, 3, padding=1))
        self.p = nn.Sequential(*mods)
        nn.init.zeros_(self.p[-1].weight)
        nn.init.zeros_(self.p[-1].bias)
        c = torch.linspace(-1, 1, G)
        yy, xx = torch.meshgrid(c, c, indexing="ij")
        self.register_buffer("xy", torch.stack([xx, yy])[None])

    def step(self, zs, a):  # zs (N, K, C, G, G), a (N, A) -> (N, C, G, G)
        n = len(zs)
        e = self.ae(a)[:, :, None, None].expand(n, -1, G, G)
        return zs[:, -1] + self.p(torch.cat([zs.reshape(n, -1, G, G), e,
                                             self.xy.expand(n, -1, -1, -1)], 1))


class Tokens(nn.Module):
    """The same step with a transformer over the 64 patch tokens."""

    def __init__(self, K, d, layers, heads):
        super().__init__()
        self.ae, self.inp = nn.Linear(2 * k, d), nn.Linear(K * C, d)
        self.pos = nn.Parameter(torch.randn(G * G, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.tf = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(d, C)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def step(self, zs, a):
        n = len(zs)
        h = self.inp(zs.reshape(n, -1, G * G).transpose(1, 2)) + self.pos + self.ae(a)[:, None]
        return zs[:, -1] + self.out(self.tf(h)).transpose(1, 2).reshape(n, C, G, G)


class Flat(nn.Module):
    """The same step with an MLP on the flattened grids of the K frames and the action."""

    def __init__(self, K, hidden, layers):
        super().__init__()
        dims = [K * C * G * G + 2 * k] + [hidden] * (layers - 1)
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            mods += [nn.Linear(a, b), nn.SiLU()]
        self.p = nn.Sequential(*mods, nn.Linear(dims[-1], C * G * G))
        nn.init.zeros_(self.p[-1].weight)
        nn.init.zeros_(self.p[-1].bias)

    def step(self, zs, a):
        n = len(zs)
        return zs[:, -1] + self.p(torch.cat([zs.reshape(n, -1), a], 1)).reshape(n, C, G, G)


def rollout(model, zs, acts):  # (N, K, C, G, G), (N, T, A) -> (N, T, C, G, G)
    out = []
    for t in range(acts.shape[1]):
        out.append(model.step(zs, acts[:, t]))
        zs = torch.cat([zs[:, 1:], out[-1][:, None]], 1)
    return torch.stack(out, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("levers", help="comma-separated FIELD=VALUE over " + str(DEFAULTS))
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    V = dict(DEFAULTS)
    for kv in args.levers.split(","):
        key, value = kv.split("=")
        V[key] = type(V[key])(value)
    K, R = V["K"], V["R"]
    task = get_task("pusht")
    base = load_checkpoint(args.base)[0].eval().requires_grad_(False)
    args.work.mkdir(parents=True, exist_ok=True)

    def enc(states):  # (N, S) -> one frame's grid (N, C, G, G)
        with torch.no_grad():
            return torch.cat([base.encode_frames(base.render(torch.as_tensor(
                states[i:i + 1024], dtype=torch.float32))).reshape(-1, C, G, G)
                for i in range(0, len(states), 1024)])

    def load(split):  # the recipe's data and every state's latent, cached in --work
        path = args.work / f"{split}.pkl"
        if not path.exists():
            path.write_bytes(pickle.dumps(recipe_data(task, RECIPES["pusht-pixel"], split)))
        d = pickle.loads(path.read_bytes())
        zpath = args.work / f"{split}_z.pt"
        if not zpath.exists():
            torch.save(enc(d.states), zpath)
        return d, torch.load(zpath)

    def windows(d):  # state indices (M, K-1+R+1), past held at the episode's start
        s_idx, a_idx = window_indices(d, k, R)
        first = d.state_offsets[np.searchsorted(d.state_offsets, s_idx[:, 0], "right") - 1]
        past = [np.maximum(s_idx[:, :1] - j * k, first[:, None]) for j in range(K - 1, 0, -1)]
        idx = np.concatenate([*past, s_idx], 1)
        ok = in_view(base.camera.config, d.states)[idx].all(1)
        return torch.as_tensor(idx[ok]), torch.as_tensor(
            window_actions(d, a_idx[ok], k, R).astype(np.float32))

    (tr, Ztr), (va, Zva) = load("train"), load("validation")
    (wi, wa), (vi, vaa) = windows(tr), windows(va)
    model = (Tokens(K, V["hidden"], V["layers"], V["heads"]) if V["attn"]
             else Flat(K, V["hidden"], V["layers"]) if V["mlp"]
             else Convs(K, V["hidden"], V["layers"]))

    def loss_fn(Z, idx, acts):  # teacher forcing + open loop, on the newest frames
        zt = Z[idx].float()
        teach = sum((model.step(zt[:, t:t + K], acts[:, t]) - zt[:, t + K]).square().mean()
                    for t in range(R)) / R
        return teach + (rollout(model, zt[:, :K], acts) - zt[:, K:]).square().mean()

    opt = torch.optim.AdamW(model.parameters(), lr=V["lr"], weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, V["steps"])
    gen = torch.Generator().manual_seed(0)
    t0 = time.time()
    for s in range(V["steps"]):
        b = torch.randint(0, len(wi), (V["batch"],), generator=gen)
        loss = loss_fn(Ztr, wi[b], wa[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if s % 500 == 0:
            with torch.no_grad():
                vb = torch.arange(0, len(vi), max(1, len(vi) // 2048))
                print(s, f"{loss.item():.5f} val {loss_fn(Zva, vi[vb], vaa[vb]).item():.5f}",
                      f"{time.time() - t0:.0f}s", flush=True)
    res = {"name": args.levers, "variant": V, "train_s": round(time.time() - t0)}
    env = task.make_env()
    model.eval()
    for h in (40, 60):
        ps = generate(task, h, 100, split="validation", source="demo")
        n = len(ps)
        with torch.no_grad():
            seen = np.concatenate([ps.past[:, len(ps.past[0]) - j * k][:, None]
                                   for j in range(K - 1, 0, -1)] + [ps.starts[:, None]], 1)
            z0 = enc(seen.reshape(-1, seen.shape[-1])).reshape(n, K, C, G, G)
            acts = torch.as_tensor(ps.actions, dtype=torch.float32).reshape(n, h // k, 2 * k)
            zT = rollout(model, z0, acts)[:, -1]
            dec = base.decode(zT.reshape(n, -1)).double().numpy()
        err = np.linalg.norm(dec[:, 2:4] - ps.goals[:, 2:4], axis=1)
        res[f"H{h}"] = {"fidelity": float(env.is_success(dec, ps.goals).mean()),
                        "block_err_med": round(float(np.median(err)), 1)}
    print(json.dumps(res), flush=True)
    with open(args.work / "results.jsonl", "a") as f:
        f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
