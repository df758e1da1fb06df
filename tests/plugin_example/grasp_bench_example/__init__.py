"""Example grasp-bench plugin: a planner (``planner.RandomShooting``) and a world-model
architecture (``model.LinearDynamics``, with ``model.write_checkpoint``)."""
