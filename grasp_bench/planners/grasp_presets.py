"""GRASP's named presets: the author's config, and the ablations.

``grasp-author`` is GRASP with the author's config verbatim (le-wm-grasp ``grasp.yaml``:
750 iterations, lr_states 0.1, goal weight 1, a sync every 50 iterations of 10 steps at
lr 0.05), GRASP's default until the tuning studies moved it (see ``grasp.GRASPConfig``);
it reproduces the tables measured with it.

The ablations each remove one of the ingredients the paper argues for (arXiv
2602.00475: the stop-gradient on the model's state input and the noise on the states
exist because the state gradients of learned latent world models are brittle; the sync
and the dense goal term carry the actions).  Run them like any planner,
``--planners grasp,grasp-nosg,grasp-nonoise,grasp-nosync,grasp-nogoal``.

=================  ==========================================  ======================
planner            what changes (everything else: GRASP's)     config
=================  ==========================================  ======================
``grasp-nosg``     states also get the gradient through F      ``stop_gradient=False``
``grasp-nonoise``  no Gaussian noise on the states             ``noise=0``
``grasp-nosync``   no BPTT sync of the actions                 ``sync_every=0``
``grasp-nogoal``   no dense goal term (the last transition     ``gamma=0``
                   still ends at the goal)
=================  ==========================================  ======================

Each is tuned like the others: its search space is GRASP's without the ablated fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from grasp_bench.planners.grasp import _SRC, GRASP, GRASPConfig
from grasp_bench.planners.registry import knob, register
from grasp_bench.planners.space import SearchSpace

__all__ = ["ABLATIONS", "PRESETS", "ablated_fields"]


@dataclass(frozen=True)
class GRASPAuthorConfig(GRASPConfig):
    iterations: int = knob(750, f"main iterations ({_SRC} n_steps: 750)")
    lr_states: float = knob(0.1, f"Adam lr of the virtual states ({_SRC} lr_s: 0.1)")
    gamma: float = knob(1.0, "weight of the goal term (grasp_solver.py goal weight 1.0)")
    sync_every: int = knob(50, f"iterations between syncs, 0 = never ({_SRC} gd_interval: 50)")
    sync_steps: int = knob(10, f"steps per sync ({_SRC} gd_opt_steps: 10)")
    sync_lr: float = knob(0.05, f"Adam lr of the serial-rollout sync ({_SRC} gd_lr: 0.05)")


def _without(*names: str) -> SearchSpace:
    return {k: v for k, v in GRASPConfig.search_space.items() if k not in names}


@dataclass(frozen=True)
class GRASPNoSGConfig(GRASPConfig):
    stop_gradient: bool = knob(False, "ablation: the states get the gradient through F")


@dataclass(frozen=True)
class GRASPNoNoiseConfig(GRASPConfig):
    noise: float = knob(0.0, "ablation: no noise on the states")
    search_space: ClassVar[SearchSpace] = _without("noise")


@dataclass(frozen=True)
class GRASPNoSyncConfig(GRASPConfig):
    sync_every: int = knob(0, "ablation: no sync")
    search_space: ClassVar[SearchSpace] = _without("sync_every", "sync_steps", "sync_lr")


@dataclass(frozen=True)
class GRASPNoGoalConfig(GRASPConfig):
    gamma: float = knob(0.0, "ablation: no dense goal term")
    search_space: ClassVar[SearchSpace] = _without("gamma")


def _preset(name: str, config_cls: type, doc: str) -> type:
    def __init__(self, config=None):
        GRASP.__init__(self, config or config_cls())

    cls = type(config_cls.__name__.removesuffix("Config"), (GRASP,),
               {"__init__": __init__, "__doc__": doc})
    return register(name, config_cls)(cls)


#: name -> planner class
PRESETS = {"grasp-author": _preset("grasp-author", GRASPAuthorConfig,
                                   "GRASP with the author's config (le-wm-grasp grasp.yaml).")}

#: name -> planner class, in the order of the table above
ABLATIONS = {
    "grasp-nosg": _preset("grasp-nosg", GRASPNoSGConfig, "GRASP without the stop-gradient."),
    "grasp-nonoise": _preset("grasp-nonoise", GRASPNoNoiseConfig, "GRASP without noise."),
    "grasp-nosync": _preset("grasp-nosync", GRASPNoSyncConfig, "GRASP without the sync."),
    "grasp-nogoal": _preset("grasp-nogoal", GRASPNoGoalConfig,
                            "GRASP without the dense goal term."),
}


def ablated_fields(name: str) -> tuple[str, ...]:
    """The fields an ablation sets (empty for any other planner): a tuned GRASP config
    applies to the ablation without them (``run --tuned`` ablates the tuned GRASP)."""
    if name not in ABLATIONS:
        return ()
    base, own = GRASPConfig(), ABLATIONS[name]().config
    return tuple(f.name for f in fields(base) if getattr(base, f.name) != getattr(own, f.name))
