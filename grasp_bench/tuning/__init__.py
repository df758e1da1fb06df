"""Hyperparameter tuning as the paper did it: per env and horizon, equal budgets, on the
tuning split only (``score``: one config on one problem set; ``study``: the protocol;
``tuned``: the tuned-config files; ``run``: ``grasp-bench tune``)."""
