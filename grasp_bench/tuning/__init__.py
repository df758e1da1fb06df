"""Hyperparameter tuning as the paper did it: per env and horizon, equal budgets, on the
tuning split only (``score``: one config on one problem set; ``study``: the protocol;
``run``: ``grasp-bench tune``).  The tuned-config files they write are read and written by
:mod:`grasp_bench.tuned`, which runs use too."""
