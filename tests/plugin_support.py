"""Putting an installed plugin package on ``sys.path`` for a while, then taking every
trace of it (registrations, sources, modules) away again."""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager

from grasp_bench import plugins
from grasp_bench.models.checkpoint import ARCHITECTURES
from grasp_bench.planners import REGISTRY


@contextmanager
def plugins_from(*dirs, load: bool = True):
    """Entry points of the packages in ``dirs`` visible inside the block; with ``load``
    they are loaded (the skip messages are yielded), else the next ``load_plugins()``
    (the CLI's) loads them."""
    saved = (dict(REGISTRY), dict(ARCHITECTURES), dict(plugins._SOURCES), set(plugins._tried),
             plugins._scanned, list(sys.path), set(sys.modules))
    sys.path[:0] = [str(d) for d in dirs]
    importlib.invalidate_caches()
    try:
        if load:
            yield plugins.load_plugins(rescan=True)
        else:
            plugins._scanned = False
            yield []
    finally:
        registry, archs, sources, tried, scanned, path, modules = saved
        REGISTRY.clear()
        REGISTRY.update(registry)
        ARCHITECTURES.clear()
        ARCHITECTURES.update(archs)
        plugins._SOURCES.clear()
        plugins._SOURCES.update(sources)
        plugins._tried.clear()
        plugins._tried.update(tried)
        plugins._scanned = scanned
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if name.startswith(("grasp_bench_example", "grasp_bench_broken")):
                del sys.modules[name]
        importlib.invalidate_caches()
