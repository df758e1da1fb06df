"""grasp-bench: planners over learned world models at long horizons."""

__version__ = "0.1.0"
