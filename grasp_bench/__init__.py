"""grasp-bench: planners over learned world models at long horizons.

``grasp_bench.api`` is the Python API (imported on first use: ``grasp_bench.api.run_cell``).
"""

from grasp_bench.version import __version__

__all__ = ["__version__"]


def __getattr__(name: str):
    if name == "api":  # lazy: ``import grasp_bench`` stays free of torch
        import importlib

        return importlib.import_module("grasp_bench.api")
    raise AttributeError(f"module 'grasp_bench' has no attribute {name!r}")
