"""Run defaults chosen by measurement (the README says where each was measured).

Kept in a module of their own, free of torch, so the command line can show them cheaply.
"""

#: torch CPU threads.  On the 2-core development machine one thread was as fast as two on
#: an idle machine and several times faster on a busy one (README, "Timing").
DEFAULT_THREADS = 1

#: MPC: iterations of a warm-started re-plan as a share of the planner's first-plan budget
#: (README, "Closed loop": on 50 BallNav tuning problems at H = 60, 0.1, 0.25 and 0.5
#: gave the same success within noise; 0.1 is the cheapest).
DEFAULT_REPLAN_BUDGET = 0.1
