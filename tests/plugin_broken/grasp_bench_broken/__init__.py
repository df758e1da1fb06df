"""Broken grasp-bench plugins: one contract violation per module."""
