"""Planners over world models: one per module; the shared contract in ``protocol``, configs
and overrides in ``registry``.

Importing this package registers every planner in :data:`REGISTRY`, in the order
``cem, gd, latco, grasp, mppi, icem``, then GRASP's presets: the author's config and the
ablations (``grasp_presets``).  Planners of other packages join it through the entry-point
group ``grasp_bench.planners`` (:mod:`grasp_bench.plugins`, loaded by the CLI and the API).
"""

from grasp_bench.planners import (  # noqa: F401  (registers)
    cem,
    gd,
    grasp,
    grasp_presets,
    icem,
    latco,
    mppi,
)
from grasp_bench.planners.cem import CEM, CEMConfig
from grasp_bench.planners.gd import GD, GDConfig
from grasp_bench.planners.grasp import GRASP, GRASPConfig
from grasp_bench.planners.icem import ICEM, ICEMConfig
from grasp_bench.planners.latco import LatCo, LatCoConfig
from grasp_bench.planners.mppi import MPPI, MPPIConfig
from grasp_bench.planners.protocol import Planner, PlanResult, action_box, terminal_cost
from grasp_bench.planners.registry import (
    REGISTRY,
    FieldRow,
    apply_overrides,
    describe_registry,
    make_planner,
    parse_overrides,
)

# Paper order (GRASP Table 1 baselines first, then the extra sampling planners).
_ORDER = ("cem", "gd", "latco", "grasp", "mppi", "icem", "grasp-author", "grasp-nosg",
          "grasp-nonoise", "grasp-nosync", "grasp-nogoal")
_entries = dict(REGISTRY)
REGISTRY.clear()
REGISTRY.update({k: _entries[k] for k in _ORDER if k in _entries})
REGISTRY.update({k: v for k, v in _entries.items() if k not in REGISTRY})
del _entries

__all__ = [
    "CEM",
    "GD",
    "GRASP",
    "ICEM",
    "MPPI",
    "REGISTRY",
    "CEMConfig",
    "FieldRow",
    "GDConfig",
    "GRASPConfig",
    "ICEMConfig",
    "LatCo",
    "LatCoConfig",
    "MPPIConfig",
    "PlanResult",
    "Planner",
    "action_box",
    "apply_overrides",
    "describe_registry",
    "make_planner",
    "parse_overrides",
    "terminal_cost",
]
