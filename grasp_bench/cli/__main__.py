"""``python -m grasp_bench.cli``: the same as the ``grasp-bench`` console script."""

from grasp_bench.cli import main

main()
