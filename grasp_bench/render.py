"""Pictures of one episode of a run: the simulator beside the world model.

``grasp-bench render RUN_DIR --planner P --horizon H --episode I --out FILE.gif|.png``

* Open loop: left, the returned plan replayed in the simulator; right, the world model's
  own rollout of it, decoded to states and drawn with the env's renderer (held for the k
  env steps of each model step), and for a visual model also its decoder's frame (what
  it imagines).  Both show the goal.  From the first model step whose
  decoded state is no longer within the success tolerance of the simulator's, the
  caption says "diverged" and the model panel is framed in red.  For GRASP, frames
  follow with its virtual states at every snapshot (the trail on the right), the lifted
  trajectory converging across iterations.
* MPC: left, the executed trajectory; right, the simulator state with the current
  re-plan's model rollout drawn as a trail from it.

What a run keeps for this (``cells/<planner>-H<h>.plans.npz``): open loop, the returned
plans ``(n, T, A)`` float32 and GRASP's virtual states at its snapshots ``(n, R, T-1, D)``;
MPC, the executed env actions ``(n, H, 2)`` and every re-plan ``(n, R, T, A)``
(NaN-padded).  Problems are redrawn from the run's options (the same seeds).
A ``.png`` contact sheet ends with a legend (:func:`legend`) of what the panels show.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from grasp_bench.errors import UserError
from grasp_bench.models.base import PAST_STEPS, start_latents
from grasp_bench.tasks import Task

GAP, CAPTION = 4, 16  # px between the panels, caption strip height
RED = (200, 30, 30)
TRAIL_BODY, TRAIL_BLOCK = (30, 60, 220), (90, 90, 90)  # trails: the agent / ball, the block


@dataclass
class Episode:
    """One episode of a run, with what its pictures need."""

    task: Task
    model: torch.nn.Module
    mode: str
    planner: str
    start: np.ndarray  # (S,)
    goal: np.ndarray  # (S,)
    plans: dict  # this episode's slice of the cell's plans.npz
    past: np.ndarray | None = None  # (P, S): the env states before the start


def load_episode(run_dir: Path, planner: str, horizon: int, episode: int) -> Episode:
    """Everything :func:`frames` needs; :class:`UserError` for a cell or episode the run
    does not have, or a run that kept no plans."""
    from grasp_bench.options import prepare
    from grasp_bench.problems import load_or_generate
    from grasp_bench.rundir import check_same_model, options_of_run
    from grasp_bench.sweep import plans_path

    opts = options_of_run(run_dir)
    if planner not in opts.planners or horizon not in opts.horizons:
        raise UserError(f"{run_dir} has no cell {planner} H={horizon} (planners "
                        f"{','.join(opts.planners)}, H {','.join(map(str, opts.horizons))})")
    if not 0 <= episode < opts.episodes:
        raise UserError(f"--episode must be in 0..{opts.episodes - 1} (got {episode})")
    path = plans_path(run_dir, planner, horizon)
    if not path.is_file():
        raise UserError(f"{path} not found: the cell has not finished, or the run was made "
                        "before runs kept their plans")
    prep = prepare(dataclasses.replace(opts, tuned=None))  # the plans are kept: no configs
    check_same_model(run_dir, prep, tuned=False)
    problems = load_or_generate(prep.task, horizon, opts.episodes, split=opts.problem_split,
                                offset=opts.problem_offset, source=prep.options.problem_source)
    with np.load(path) as f:
        plans = {k: f[k][episode] for k in f.files}
    return Episode(prep.task, prep.model, opts.mode, planner, problems.starts[episode],
                   problems.goals[episode], plans, problems.past_states()[episode])


def draw(task: Task, state: np.ndarray, goal: np.ndarray, size: int,
         trail: np.ndarray | None = None) -> np.ndarray:
    """The env's picture of ``state`` with ``goal``; ``trail (P, S)`` states drawn as paths
    (the controlled body's in blue, Push-T's block origin in grey)."""
    if task.name == "pusht":
        from envs.pusht import render_state

        img = render_state(state, goal_state=goal, size=size)
    else:
        from envs.ballnav import render_state

        img = render_state(state, task.layout, goal, size=size)
    if trail is None or len(trail) < 2:
        return img
    pil = Image.fromarray(img)
    pen = ImageDraw.Draw(pil)
    scale = size / 512.0
    paths = [((0, 1), TRAIL_BODY)] + ([((2, 3), TRAIL_BLOCK)] if task.name == "pusht" else [])
    for idx, color in paths:
        pts = [(float(s[idx[0]]) * scale, float(s[idx[1]]) * scale) for s in trail]
        pen.line(pts, fill=color, width=2)
        for x, y in pts:
            pen.ellipse((x - 2, y - 2, x + 2, y + 2), fill=color)
    return np.asarray(pil)


def _panel_pair(left: np.ndarray, right: np.ndarray, caption: str, alarm: bool) -> np.ndarray:
    h, w, _ = left.shape
    wr = right.shape[1]
    out = Image.new("RGB", (w + GAP + wr, h + CAPTION), (255, 255, 255))
    out.paste(Image.fromarray(left), (0, CAPTION))
    out.paste(Image.fromarray(right), (w + GAP, CAPTION))
    pen = ImageDraw.Draw(out)
    pen.text((4, 2), caption, fill=RED if alarm else (0, 0, 0))
    if alarm:
        pen.rectangle((w + GAP, CAPTION, w + GAP + wr - 1, CAPTION + h - 1), outline=RED, width=3)
    return np.asarray(out)


@torch.no_grad()
def _imagined(ep: Episode, zs: torch.Tensor, size: int) -> list[np.ndarray] | None:
    """A visual model's own frames of its latents ``zs (T+1, D)`` (its decoder, what it
    imagines), images of ``size`` px; None for a model without a decoder."""
    if not hasattr(ep.model, "reconstruct"):
        return None
    imgs = (ep.model.reconstruct(zs).clamp(0, 1) * 255).byte().permute(0, 2, 3, 1).numpy()
    return [np.asarray(Image.fromarray(i).resize((size, size), Image.Resampling.NEAREST))
            for i in imgs]


@torch.no_grad()
def _model_latents(ep: Episode, seen: np.ndarray, actions: np.ndarray) -> torch.Tensor:
    """The model's rollout of ``actions (T, A)`` from the last of the states ``seen (P+1, S)``
    (the ones before it: a history model's observations): latents ``(T+1, D)``."""
    s = torch.as_tensor(seen[None], dtype=torch.float32)
    z0 = start_latents(ep.model, s[:, -1], s[:, :-1])
    return ep.model.rollout(z0, torch.as_tensor(actions[None], dtype=torch.float32))[0]


@torch.no_grad()
def _model_states(ep: Episode, seen: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """The model's rollout of ``actions (T, A)`` after the states ``seen``, decoded:
    ``(T+1, S)``."""
    return ep.model.decode(_model_latents(ep, seen, actions)).double().numpy()


def frames(ep: Episode, size: int = 224) -> list[np.ndarray]:
    """The episode's frames (see the module docstring)."""
    from envs import replay

    k, task = ep.model.frameskip, ep.task
    past = ep.past if ep.past is not None else np.repeat(ep.start[None], PAST_STEPS, axis=0)
    if ep.mode == "mpc":
        moves = ep.plans["executed"].astype(np.float64)
        sim = replay(task.env_id, ep.start[None], moves[None], **task.env_kwargs)[0]
        replans = [p[~np.isnan(p).any(-1)] for p in ep.plans["replans"]]
        # re-plan r plans the model steps left: it began at env step k (T - its length)
        began = [k * (len(replans[0]) - len(p)) for p in replans]
        seen, P = np.concatenate([past, sim]), len(past)
        trails = [_model_states(ep, seen[b: P + b + 1], p)
                  for b, p in zip(began, replans, strict=True)]  # each re-plan's rollout
        out = []
        for t in range(len(sim)):
            r = int(np.searchsorted(began, t, side="right")) - 1
            caption = f"{ep.planner} MPC  t={t}/{len(moves)}  re-plan {r + 1}/{len(replans)}"
            out.append(_panel_pair(draw(task, sim[t], ep.goal, size, sim[: t + 1]),
                                   draw(task, sim[began[r]], ep.goal, size, trails[r]),
                                   caption, False))
        return out
    plan = ep.plans["actions"]
    moves = plan.reshape(len(plan) * k, -1).astype(np.float64)
    sim = replay(task.env_id, ep.start[None], moves[None], **task.env_kwargs)[0]
    zs = _model_latents(ep, np.concatenate([past, ep.start[None]]), plan)
    with torch.no_grad():
        model = ep.model.decode(zs).double().numpy()
    env = task.make_env()
    agree = env.is_success(sim[::k], model)
    env.close()
    diverged = int(np.argmin(agree)) * k if not agree.all() else None
    imagined = _imagined(ep, zs, size)
    out = []
    for t in range(len(sim)):
        alarm = diverged is not None and t >= diverged
        caption = f"{ep.planner}  t={t}/{len(moves)}  simulator | world model" + (
            " (probe | its own frame)" if imagined else "") + (
            f"  diverged at t={diverged}" if alarm else "")
        right = draw(task, model[t // k], ep.goal, size)
        if imagined:
            right = np.concatenate([right, np.full((size, GAP, 3), 255, np.uint8),
                                    imagined[t // k]], axis=1)
        out.append(_panel_pair(draw(task, sim[t], ep.goal, size), right, caption, alarm))
    trail = ep.plans.get("virtual_states")
    if trail is not None:  # GRASP: its virtual states across iterations
        for r, states in enumerate(trail):
            with torch.no_grad():
                decoded = ep.model.decode(torch.as_tensor(states)).double().numpy()
            path = np.concatenate([ep.start[None], decoded, ep.goal[None]])
            out.append(_panel_pair(draw(task, ep.start, ep.goal, size, sim),
                                   draw(task, ep.start, ep.goal, size, path),
                                   f"GRASP virtual states, snapshot {r + 1}/{len(trail)}",
                                   False))
    wide = max(o.shape[1] for o in out)  # one size for every frame of an animation
    return [np.pad(o, ((0, 0), (0, wide - o.shape[1]), (0, 0)), constant_values=255)
            for o in out]


LEGEND_ROW = 14  # px per legend line


def legend_items(ep: Episode) -> list[tuple[str, tuple[int, int, int], str]]:
    """What the episode's pictures show, one ``(mark, color, text)`` per line; ``mark``:
    ``fill`` (a filled square), ``ring`` (an outlined disc), ``line`` (a path) or
    ``frame`` (an outlined square)."""
    from envs.render import BLOCK_FILL, GOAL_GREEN, LIGHT_GREEN, LIGHT_SLATE_GRAY, ROYAL_BLUE

    pusht = ep.task.name == "pusht"
    body = "agent" if pusht else "ball"
    if ep.mode == "mpc":
        items = [("fill", (0, 0, 0), "left panel: the simulator, executing (trail: its path)"),
                 ("fill", (0, 0, 0), "right panel: the simulator at the current re-plan, its "
                                     "world-model rollout as a trail")]
    else:
        items = [("fill", (0, 0, 0), "left panel: the simulator, the returned plan replayed"),
                 ("fill", (0, 0, 0), "right panel: the world model's rollout of the plan, "
                                     "decoded (held k env steps a model step)")]
        if hasattr(ep.model, "reconstruct"):
            items.append(("fill", (0, 0, 0), "far right: the visual model's own frame "
                                             "(its decoder)"))
        items.append(("frame", RED, "red frame: the model's state left the simulator's "
                                    "success tolerance (diverged)"))
    items.append(("fill", ROYAL_BLUE, f"the {body}"))
    if pusht:
        items += [("fill", BLOCK_FILL, "the T block"),
                  ("fill", LIGHT_GREEN, "goal: the T's goal pose"),
                  ("ring", GOAL_GREEN, "goal ring: the agent's goal position")]
    else:
        items.append(("ring", LIGHT_GREEN, "goal: a disc of the success radius (20 px)"))
    items.append(("line", TRAIL_BODY, f"trail: the {body}'s path"))
    if pusht:
        items.append(("line", TRAIL_BLOCK, "trail: the block's centre"))
    if ep.mode != "mpc" and "virtual_states" in ep.plans:
        items.append(("line", LIGHT_SLATE_GRAY, "GRASP frames after the rollout: left, the "
                                                "simulator's path; right, its virtual states "
                                                "at each snapshot, decoded, start to goal"))
    return items


def legend(ep: Episode, width: int) -> np.ndarray:
    """A strip ``(rows * LEGEND_ROW + 4, W, 3)`` uint8 with :func:`legend_items`, ``W``
    ``width`` or wider where a line needs it."""
    items = legend_items(ep)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(width, *(24 + int(probe.textlength(t)) for _, _, t in items))
    img = Image.new("RGB", (width, len(items) * LEGEND_ROW + 4), (255, 255, 255))
    pen = ImageDraw.Draw(img)
    for i, (mark, color, text) in enumerate(items):
        y = 2 + i * LEGEND_ROW
        box = (4, y + 2, 14, y + 12)
        if mark == "fill":
            pen.rectangle(box, fill=color)
        elif mark == "ring":
            pen.ellipse(box, outline=color, width=2)
        elif mark == "frame":
            pen.rectangle(box, outline=color, width=2)
        else:
            pen.line((4, y + 7, 14, y + 7), fill=color, width=2)
        pen.text((20, y + 1), text, fill=(0, 0, 0))
    return np.asarray(img)


def save(images: list[np.ndarray], out: Path, fps: float = 10.0,
         legend: np.ndarray | None = None) -> Path:
    """``.gif``: an animation (Pillow); ``.png``: a contact sheet of every 5th frame, with
    the ``legend`` strip (:func:`legend`) below it."""
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".png"):
        raise UserError(f"--out must end in .gif or .png (got {out.name!r})")
    out.parent.mkdir(parents=True, exist_ok=True)
    pics = [Image.fromarray(a) for a in images]
    if suffix == ".gif":
        pics[0].save(out, save_all=True, append_images=pics[1:], duration=int(1000 / fps),
                     loop=0)
        return out
    chosen = pics[::5] + ([pics[-1]] if (len(pics) - 1) % 5 else [])
    cols = min(4, len(chosen))
    rows = -(-len(chosen) // cols)
    w, h = pics[0].size
    extra = 0 if legend is None else legend.shape[0]
    sheet = Image.new("RGB", (max(cols * w, 0 if legend is None else legend.shape[1]),
                              rows * h + extra), (255, 255, 255))
    for i, p in enumerate(chosen):
        sheet.paste(p, ((i % cols) * w, (i // cols) * h))
    if legend is not None:
        sheet.paste(Image.fromarray(legend), (0, rows * h))
    sheet.save(out)
    return out
