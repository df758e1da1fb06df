"""The package's version.  It imports nothing of grasp_bench, so any module may import it
without reaching the package's ``__init__`` (which stands above everything, beside the
API); ``pyproject.toml`` holds the same number."""

__version__ = "0.1.0"
