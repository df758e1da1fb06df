"""Commands for data and world models: collect, train, checkpoints, models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grasp_bench.cli.common import (
    DeviceOpt,
    EnvOpt,
    LayoutOpt,
    _positive,
    _writable_file,
    app,
    console,
    err_console,
    named_ticker,
    progress_bar,
    shown_path,
    user_errors,
)
from grasp_bench.cli.tables import WideOpt
from grasp_bench.errors import UserError


def parse_fields(config_cls: type, items: list[str], flag: str) -> dict:
    """``["hidden=64", "channels=8,16,16"]`` -> typed overrides of ``config_cls``'s fields
    (ints, floats, strings; comma-separated tuples); one clear error for anything else."""
    from dataclasses import fields

    known = {f.name: f for f in fields(config_cls)}
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in known:
            raise UserError(f"{flag} {item!r}: expected FIELD=VALUE with FIELD one of "
                            f"{', '.join(known)}")
        default = known[key].default
        try:
            if isinstance(default, tuple):
                out[key] = tuple(int(v) for v in value.split(",") if v.strip())
            elif isinstance(default, bool):
                out[key] = {"true": True, "false": False}[value.lower()]
            elif isinstance(default, int):
                out[key] = int(value)
            elif isinstance(default, float):
                out[key] = float(value)
            else:
                out[key] = value
        except (ValueError, KeyError):
            raise UserError(f"{flag} {item!r}: {value!r} is not a valid "
                            f"{type(default).__name__}") from None
    return out


def _refuse_overwrite(paths, force: bool) -> None:
    """Checkpoints are never replaced implicitly (a shipped one is the benchmark's model)."""
    for p in paths:
        p = Path(p)
        if not force and (p.with_suffix(".pt").exists() or p.with_suffix(".json").exists()):
            raise UserError(f"{p.with_suffix('.pt')} exists; pass --force to replace it, "
                            "or --out another path")


# -- data and models ------------------------------------------------------------------------
@app.command()
@user_errors
def collect(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 100,
    steps: Annotated[int, typer.Option(help="Env steps per episode.")] = 200,
    split: Annotated[str, typer.Option(help="Seed range: train or validation.")] = "train",
    seed: Annotated[int, typer.Option(help="Offset of the first seed in the split.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    source: Annotated[str, typer.Option(
        help="behaviour (the scripted behaviour policy, with exploration) or demo (Push-T's "
             "goal-directed demonstrations; each ends when the T covers its goal).")] =
        "behaviour",
    out: Annotated[
        Path | None, typer.Option(help="Output dataset (.npz; default data/<env>-<split>.npz).")
    ] = None,
) -> None:
    """Collect trajectories with a scripted policy (parallel over cores)."""
    from grasp_bench.data import collect as collect_data
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    _positive("episodes", episodes)
    _positive("steps", steps)
    if split not in ("train", "validation"):
        raise UserError(f"--split must be train or validation (got {split!r})")
    # noisy replays need noise levels: the recipes make them (`grasp-bench checkpoints`)
    sources = [s for s in task.problem_sources if s != "replay"]
    if source not in sources:
        raise UserError(f"--source must be one of {', '.join(sources)} for "
                        f"{task.name} (got {source!r})")
    out = _writable_file(out or Path("data") / f"{task.tag}-{split}.npz")
    with progress_bar() as bar:
        t = bar.add_task(f"collect {task.tag}", total=episodes)
        data = collect_data(
            task, episodes=episodes, steps=steps, split=split, seed=seed,
            workers=workers or None, progress=lambda n: bar.update(t, completed=n),
            source=source,
        )
    path = data.save(out)
    console.print(f"wrote {path}: {len(data)} episodes, {int(data.lengths.sum())} env steps")


@app.command()
@user_errors
def train(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    data: Annotated[
        Path | None, typer.Option(help="Training dataset (default: collect the recipe's).")
    ] = None,
    val_data: Annotated[
        Path | None, typer.Option(help="Validation dataset (default: collect the recipe's).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    rollout_steps: Annotated[
        int | None, typer.Option(help="Model steps in the multi-step loss (1: one-step).")
    ] = None,
    model: Annotated[str, typer.Option(
        "--model", help="learned (the state model), latent (64-dim latent) or pixel (the "
                        "visual model: encoder, predictor and probe, in three stages).")] =
        "learned",
    arch: Annotated[list[str] | None, typer.Option(
        "--arch", help="Override an architecture field of the recipe, FIELD=VALUE "
                       "(repeatable; e.g. --arch hidden=64 --arch layers=4).")] = None,
    train_set: Annotated[list[str] | None, typer.Option(
        "--train", help="Override a training-config field of the recipe, FIELD=VALUE "
                        "(repeatable; e.g. --train probe_epochs=6).")] = None,
    encoder_from: Annotated[str | None, typer.Option(
        help="pixel: reuse this visual checkpoint's frozen encoder and decoder (stage 1 "
             "skipped), as the capacity study does; 'random': a frozen random encoder.")] =
        None,
    device: DeviceOpt = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Checkpoint path (.pt; default: the shipped one).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace an existing checkpoint (e.g. a shipped one).")
    ] = False,
) -> None:
    """Train a world model from its recipe and write a checkpoint with its manifest.
    For the visual model --epochs sets the predictor's epochs."""
    from dataclasses import replace

    from grasp_bench.data import Trajectories
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.checkpoint import load_checkpoint
    from grasp_bench.models.recipes import RECIPES, arch_for, recipe_data, train_checkpoint
    from grasp_bench.tasks import LEARNED_MODELS, get_task

    task = get_task(env, layout)
    if model not in LEARNED_MODELS:
        raise UserError(f"--model must be one of {', '.join(LEARNED_MODELS)} (got {model!r})")
    recipe = RECIPES[task.name if model == "learned" else f"{task.name}-{model}"]
    if encoder_from is not None and model != "pixel":
        raise UserError("--encoder-from is for --model pixel")
    architecture = arch_for(task, recipe.kind, **{**recipe.arch, **parse_fields(
        type(arch_for(task, recipe.kind, **recipe.arch)), arch or [], "--arch")})
    cfg = replace(recipe.train, **parse_fields(type(recipe.train), train_set or [], "--train"))
    if epochs is not None:
        _positive("epochs", epochs)
        cfg = replace(cfg, **{"predictor_epochs" if model == "pixel" else "epochs": epochs})
    if rollout_steps is not None:
        _positive("rollout-steps", rollout_steps)
        cfg = replace(cfg, rollout_steps=rollout_steps)
    dev = resolve_device(device)
    for path in (data, val_data):
        if path is not None and not path.is_file():
            raise UserError(f"dataset {path} not found")
    source = encoder_from
    if encoder_from not in (None, "random"):
        source, _ = load_checkpoint(Path(encoder_from), env_id=task.env_id)
        shape = architecture.ENCODER_FIELDS
        if type(source.config) is not type(architecture) or any(
                getattr(source.config, f) != getattr(architecture, f) for f in shape):
            raise UserError(f"{encoder_from} is not a visual checkpoint with this encoder's "
                            f"shape ({type(architecture).__name__}: {', '.join(shape)})")
    out = out or task.checkpoint_of(model)
    _refuse_overwrite([out], force)
    out = _writable_file(out)
    with progress_bar() as bar:
        tick = named_ticker(bar)

        def load_or_collect(path: Path | None, split: str) -> Trajectories:
            if path is not None:
                return Trajectories.load(path)
            return recipe_data(task, recipe, split, progress=tick)

        train_data = load_or_collect(data, "train")
        val = load_or_collect(val_data, "validation")
        span = cfg.rollout_steps * architecture.frameskip
        for d, p in ((train_data, data), (val, val_data)):
            if d.meta.get("env_id") != task.env_id:
                raise UserError(f"dataset {p} is for {d.meta.get('env_id')}, not {task.env_id}")
            if int(d.lengths.max(initial=0)) < span:
                raise UserError(f"dataset {p} has no episode of {span} env steps, the span of "
                                f"the {cfg.rollout_steps}-step rollout loss")
        manifest = train_checkpoint(
            task, train_data, val, architecture, cfg, out, device=str(dev),
            progress=tick, evaluate=_fidelity_of(task), encoder_from=source,
        )
    console.print(f"wrote {out} ({manifest['bytes'] / 1e6:.2f} MB) in "
                  f"{manifest['training']['seconds']:.0f} s")
    _print_models([(out, manifest)])


ALL_RECIPES = "pusht,ballnav,pusht-latent,ballnav-latent,pusht-pixel,ballnav-pixel"


def _fidelity_of(task, n: int | None = None):
    """The manifest entries every trained or measured checkpoint gets: its reference
    fidelity on ``n`` (default: the module's 100) validation problems per horizon of the
    task's default source (:mod:`grasp_bench.fidelity`), and on demonstrations too where
    the task has them (``reference_fidelity_demo``)."""
    from grasp_bench.fidelity import reference_fidelity

    size = {} if n is None else {"n": n}

    def evaluate(model) -> dict:
        out = {"reference_fidelity": reference_fidelity(task, model, **size)}
        if "demo" in task.problem_sources[1:]:
            out["reference_fidelity_demo"] = reference_fidelity(task, model, source="demo",
                                                                **size)
        return out

    return evaluate


@app.command()
@user_errors
def checkpoints(
    envs: Annotated[str, typer.Option(
        help="Comma-separated recipes to rebuild (state models: pusht, ballnav; latent "
             "models: pusht-latent, ballnav-latent; visual models: pusht-pixel, "
             "ballnav-pixel).")] = ALL_RECIPES,
    out_dir: Annotated[
        Path | None, typer.Option(help="Where to write them (default: checkpoints/).")
    ] = None,
    device: DeviceOpt = "cpu",
    force: Annotated[bool, typer.Option(help="Replace existing checkpoints.")] = False,
) -> None:
    """Regenerate the shipped checkpoints from seeds (what `make checkpoints` runs)."""
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.recipes import RECIPES, build_checkpoint
    from grasp_bench.tasks import get_task

    names = [n.strip() for n in envs.split(",") if n.strip()]
    for n in names:
        if n not in RECIPES:
            raise UserError(f"no recipe for {n!r}; expected some of {', '.join(RECIPES)}")
    from grasp_bench.tasks import CHECKPOINT_DIR

    out_dir = out_dir or CHECKPOINT_DIR
    _refuse_overwrite([out_dir / f"{n}.pt" for n in names], force)
    dev = str(resolve_device(device))
    done = []
    with progress_bar() as bar:
        tick = named_ticker(bar)
        for n in names:
            m = build_checkpoint(
                n, out_dir=out_dir, device=dev,
                progress=lambda what, k, total, n=n: tick(f"{n}: {what}", k, total),
                evaluate=_fidelity_of(get_task(RECIPES[n].task)),
            )
            done.append((out_dir / m["weights"], m))
    _print_models(done)


@app.command()
@user_errors
def models(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Checkpoint directory (default: checkpoints/).")
    ] = None,
    brittleness: Annotated[bool, typer.Option(
        help="Also measure how far the state input / the action must move to steer the "
             "one-step prediction to another in-distribution latent (64 tuning problems; "
             "see grasp_bench/models/brittleness.py).")] = False,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Measure this checkpoint (a plugin's too) as the shipped ones "
                             "were: its open-loop and read errors on validation data and its "
                             "reference fidelity; printed, the file is left as it is.")] =
        None,
    val_data: Annotated[Path | None, typer.Option(
        help="--checkpoint: the validation dataset (`grasp-bench collect --split "
             "validation`; default: collect the shipped recipe's validation data).")] = None,
    problems: Annotated[int, typer.Option(
        help="--checkpoint: reference-fidelity problems per horizon (H = 40, 60, 80).")] = 100,
    wide: WideOpt = False,
) -> None:
    """List checkpoints with their accuracy (validation errors in physical units) and
    whether their weights match the manifest's sha256 (exit 1 if any does not);
    --checkpoint FILE measures one checkpoint's accuracy and fidelity now."""
    from grasp_bench.models.checkpoint import read_manifest, sha256_file
    from grasp_bench.tasks import CHECKPOINT_DIR

    if checkpoint is not None:
        if directory is not None:
            raise UserError("give --dir or --checkpoint, not both")
        _positive("problems", problems)
        path, manifest = _measure(checkpoint, val_data, problems)
        _print_models([(path, manifest, ["ok", "(measured now)"])])
        if brittleness:
            _print_brittleness([(path, manifest)])
        return
    if val_data is not None:
        raise UserError("--val-data is for --checkpoint")
    directory = directory or CHECKPOINT_DIR
    found = sorted(directory.glob("*.json"))
    if not found:
        raise UserError(f"no checkpoints in {directory}; build them with `make checkpoints`")
    rows, bad = [], 0
    for p in found:
        manifest, weights = read_manifest(p), p.with_suffix(".pt")
        if not weights.is_file():
            status = "MISSING"
        elif sha256_file(weights) != manifest.get("sha256"):
            status = "CORRUPT"
        else:
            status = "ok"
        bad += status != "ok"
        rows.append((weights, manifest, status))
    _print_models(rows)
    for w, m, status in rows:
        v = m.get("validation") or {}
        if status == "ok" and not (v.get("open_loop") and v.get("reference_fidelity")):
            console.print(f"  {w.name}: no accuracy or fidelity in its manifest; measure it "
                          f"with `grasp-bench models --checkpoint {shown_path(w)}`",
                          highlight=False, soft_wrap=True, markup=False)
    if brittleness:
        _print_brittleness([(w, m) for w, m, status in rows if status == "ok"])
    if bad:
        err_console.print(f"{bad} checkpoint(s) are corrupt or missing; rebuild them with "
                          "`make checkpoints`", highlight=False)
        raise typer.Exit(1)


def _measure(checkpoint: Path, val_data: Path | None, problems: int) -> tuple[Path, dict]:
    """Load ``checkpoint`` and measure it as ``train`` measures a checkpoint it writes:
    open-loop errors at H = 40 and 80 and the read error on validation data, and the
    reference fidelity on ``problems`` validation problems per horizon (:func:`_fidelity_of`).
    Returns its path and its manifest with these under ``validation`` (the file is not
    rewritten)."""
    from grasp_bench.data import Trajectories
    from grasp_bench.models.checkpoint import load_checkpoint, read_manifest
    from grasp_bench.models.recipes import RECIPES, REPORT_HORIZONS, recipe_data
    from grasp_bench.models.train import open_loop_errors, probe_errors
    from grasp_bench.tasks import TASKS, get_task

    path = checkpoint.with_suffix(".pt")
    if not path.is_file() and not path.with_suffix(".json").is_file():
        raise UserError(f"no checkpoint at {path}")
    manifest = read_manifest(path)
    env_id = manifest.get("env_id")
    name = manifest.get("task") or ""
    name = next((t for t in TASKS if name == t or name.startswith(f"{t}-")), None) or next(
        (t for t in TASKS if get_task(t).env_id == env_id), None)
    if name is None:
        raise UserError(f"{path}'s manifest names no env grasp-bench knows (env_id {env_id!r})")
    task = get_task(name, (manifest.get("env_kwargs") or {}).get("layout"))
    model, manifest = load_checkpoint(path, env_id=task.env_id)
    with progress_bar() as bar:
        tick = named_ticker(bar)

        if val_data is not None:
            if not val_data.is_file():
                raise UserError(f"dataset {val_data} not found")
            val = Trajectories.load(val_data)
            if val.meta.get("env_id") != task.env_id:
                raise UserError(f"dataset {val_data} is for {val.meta.get('env_id')}, not "
                                f"{task.env_id}")
        else:
            val = recipe_data(task, RECIPES[task.name], "validation", progress=tick)
        errors = open_loop_errors(model, val, REPORT_HORIZONS, task.metrics,
                                  angle_indices=task.angle_indices)
        probe = probe_errors(model, val, task.metrics, angle_indices=task.angle_indices)
        t = bar.add_task("reference fidelity", total=None)
        fidelity = _fidelity_of(task, problems)(model)
        bar.update(t, total=1, completed=1)
    validation = {
        **manifest.get("validation", {}),
        "open_loop": {h: {k: round(v, 4) for k, v in m.items()} for h, m in errors.items()},
        "probe": {k: round(v, 4) for k, v in probe.items()},
        **fidelity,
    }
    return path, {**manifest, "task": manifest.get("task", task.tag), "validation": validation}


def _architecture(manifest: dict) -> str:
    """The manifest's architecture class and where it comes from (built-in, a plugin's
    distribution, or not installed)."""
    from grasp_bench.models.checkpoint import ARCHITECTURES
    from grasp_bench.plugins import MODELS, source

    name = str(manifest.get("architecture", {}).get("class", "StateMLP"))
    return f"{name} ({source(MODELS, name) if name in ARCHITECTURES else 'not installed'})"


def _print_models(rows) -> None:
    from grasp_bench.cli.tables import Column, print_table

    columns = [Column("checkpoint", True), Column("architecture"), Column("env"),
               Column("k", justify="right"), Column("MB", justify="right"),
               Column("train s", justify="right"), Column("val loss", justify="right"),
               Column("read error"), Column("open-loop error\nH40", True), Column("H80"),
               Column("reference fidelity\nH40/60/80 %", True), Column("sha256", True)]
    cells = []
    for path, m, *status in rows:
        ol = m.get("validation", {}).get("open_loop", {})
        fid = m.get("validation", {}).get("reference_fidelity") or {}
        fid_text = ["/".join(f"{100 * fid[h]['rate']:.0f}" if h in fid else "-"
                             for h in ("H40", "H60", "H80"))]
        if fid:
            fid_text.append(f"({fid.get('source')}, n={fid.get('H40', {}).get('n', '?')})")

        def fmt(h: str, ol: dict = ol) -> list[str]:
            return [f"{k} {v:.3g}" for k, v in ol.get(h, {}).items() if not k.endswith("_p90")]

        read = fmt("probe", {"probe": m.get("validation", {}).get("probe", {})}) or "-"
        arch = _architecture(m)
        cells.append([
            Path(path).name, arch.replace(" (", "\n(").split("\n"),
            m.get("task", m.get("env_id", "?")), str(m.get("frameskip")),
            f"{m.get('bytes', 0) / 1e6:.2f}", str(m.get("training", {}).get("seconds", "?")),
            f"{m.get('validation', {}).get('loss', float('nan')):.4f}", read,
            fmt("H40") or "-", fmt("H80") or "-", fid_text if fid else "-",
            status[0] if status else ["ok", "(just written)"],
        ])
    print_table("World models", columns, cells)
    from grasp_bench.models.checkpoint import ARCHITECTURES
    from grasp_bench.plugins import MODELS, source

    console.print("  architectures: " + ", ".join(f"{a} ({source(MODELS, a)})"
                                                  for a in ARCHITECTURES),
                  highlight=False, soft_wrap=True, markup=False)
    console.print("  read error: decode(encode(s)) against s on validation states (a visual "
                  "model's probe on true frames; median)", highlight=False, soft_wrap=True)
    console.print("  reference fidelity: the share of validation problems whose own reference "
                  "actions succeed under the model (95% Wilson intervals in the manifest)",
                  highlight=False, soft_wrap=True)


def _print_brittleness(rows) -> None:
    from grasp_bench.cli.tables import Column, print_table
    from grasp_bench.models.brittleness import measure
    from grasp_bench.models.checkpoint import load_checkpoint
    from grasp_bench.models.figure3 import measure_on_problems
    from grasp_bench.problems import load_or_generate
    from grasp_bench.tasks import get_task

    columns = [Column("checkpoint", True), Column("pairs", justify="right"),
               Column("|dz| / |dF|\n(p10)", True, "right"), Column("reached", justify="right"),
               Column("|da| / |a'-a|", justify="right"), Column("reached", justify="right"),
               Column("grad step gain\n1% / 10%", True, "right"),
               Column("|F(z')-g| /\n|F(z)-g| 1%", justify="right"), Column("brittle", True),
               Column("sha256")]
    cells = []
    for weights, manifest in rows:
        task = get_task(manifest.get("task", ""), manifest.get("env_kwargs", {}).get("layout"))
        model, _ = load_checkpoint(weights, env_id=task.env_id)
        problems = load_or_generate(task, 40, 64, split="tuning")
        k = model.frameskip
        first = problems.actions[:, :k].reshape(len(problems), -1)
        past = problems.past_states()
        b = measure(model, problems.starts, first, past=past)
        f3 = measure_on_problems(model, problems.starts, first, problems.goals, past,
                                 eps=(0.01, 0.1))
        cells.append([weights.name, str(b.pairs),
                      f"{b.state_ratio_median:.3g} ({b.state_ratio_p10:.3g})",
                      f"{b.state_reached:.0%}", f"{b.action_ratio_median:.3g}",
                      f"{b.action_reached:.0%}",
                      " / ".join(f"{s.gain_median:.3g}" for s in f3.steps),
                      f"{f3.steps[0].ratio_median:.4g}", "yes" if f3.brittle else "no",
                      str(manifest.get("sha256", ""))[:12]])
    print_table("Brittleness of the one-step prediction (in-distribution pairs of 64 tuning "
                "problems, H = 40, the task's default problems)", columns, cells)
    console.print("  |dz| / |dF|: state-input change per unit of prediction change (far below "
                  "1: brittle, a small step off the data steers the prediction)",
                  highlight=False, soft_wrap=True)
    console.print("  grad step gain: one gradient step on the state input of |F(z, a) - g|^2 "
                  "(g the problem's goal latent) of 1% / 10% of the latents' spread; how far "
                  "the prediction moves toward g per unit the input moved (the paper's Figure "
                  "3; >> 1: brittle, see grasp_bench/models/figure3.py)",
                  highlight=False, soft_wrap=True)
