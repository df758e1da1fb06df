import itertools

import pytest

from grasp_bench.errors import UserError
from grasp_bench.seeds import SPLITS


def test_seed_ranges_are_disjoint():
    for a, b in itertools.combinations(SPLITS.values(), 2):
        assert a.stop <= b.start or b.stop <= a.start, (a, b)


def test_offsets_stay_inside_their_split():
    train = SPLITS["train"]
    assert train.seeds(5, 3) == [5, 6, 7]
    with pytest.raises(UserError, match="leaves the train range"):
        train.seeds(train.stop - 1, 2)
    with pytest.raises(UserError):
        train.seeds(-1, 1)
