"""Every seed range of the project, in one place, pairwise disjoint.

Training data, validation data, tuning problems and evaluation problems never share a
seed, so no planner is ever evaluated on a start or goal that its world model was
trained on, or that its hyperparameters were tuned on.  A seed ``s`` given on the
command line is an offset into the range of its split.
"""

from __future__ import annotations

from dataclasses import dataclass

from grasp_bench.errors import UserError


@dataclass(frozen=True)
class SeedRange:
    name: str
    start: int
    stop: int

    def seeds(self, offset: int, count: int) -> list[int]:
        """``count`` consecutive seeds starting ``offset`` into this range."""
        if offset < 0 or count < 0 or self.start + offset + count > self.stop:
            raise UserError(
                f"seed offset {offset} with {count} seeds leaves the {self.name} range "
                f"(offsets 0..{self.stop - self.start - 1})"
            )
        return list(range(self.start + offset, self.start + offset + count))

    def __contains__(self, seed: int) -> bool:
        return self.start <= seed < self.stop


TRAIN = SeedRange("train", 0, 1_000_000)
VALIDATION = SeedRange("validation", 1_000_000, 2_000_000)
TUNING = SeedRange("tuning", 2_000_000, 3_000_000)
EVALUATION = SeedRange("evaluation", 3_000_000, 4_000_000)
SPLITS = {r.name: r for r in (TRAIN, VALIDATION, TUNING, EVALUATION)}
