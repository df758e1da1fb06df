"""Reference fidelity: computed from the problems' own actions, under the model."""

import dataclasses

import numpy as np
import torch

from grasp_bench.fidelity import reference_fidelity
from grasp_bench.judging import reference_success
from grasp_bench.models.simulator import SimulatorModel
from grasp_bench.problems import generate
from grasp_bench.tasks import PUSHT


def test_the_simulator_reproduces_every_problem_and_wrong_actions_fail():
    ps = generate(PUSHT, 20, 4, split="tuning")
    model = SimulatorModel(PUSHT, workers=1)
    z0 = model.encode(torch.as_tensor(ps.starts))
    own = reference_success(PUSHT, model, z0, ps, slice(0, 4), ps.goals)
    assert own.dtype == bool and own.shape == (4,) and own.all()
    # the same problems with other actions (staying put): their own actions are what counts
    still = dataclasses.replace(ps, actions=np.zeros_like(ps.actions))
    assert not reference_success(PUSHT, model, z0, still, slice(0, 4), ps.goals).any()
    # a slice judges only its problems
    assert reference_success(PUSHT, model, z0[1:3], ps, slice(1, 3), ps.goals[1:3]).shape == (2,)


def test_reference_fidelity_report_of_the_simulator_is_one():
    report = reference_fidelity(PUSHT, SimulatorModel(PUSHT, workers=1), horizons=(10, 20), n=3,
                                split="tuning")
    assert report["source"] == "replay" and report["split"] == "tuning"  # Push-T's default
    for h in ("H10", "H20"):
        assert report[h]["rate"] == 1.0 and report[h]["n"] == 3
        assert report[h]["ci"][0] < 1.0 <= report[h]["ci"][1] + 1e-9
