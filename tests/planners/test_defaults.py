"""Every built-in planner's defaults and search space, pinned to a reviewed snapshot.

A default or a search range decides what every table measures: a changed number moves
the README's rates without any test of an update rule noticing.  This test makes such a
change deliberate: it fails until the snapshot is rewritten, in the same commit, with

    python -m tests.planners.test_defaults

and the diff of ``tests/planners/golden/configs.json`` shows what moved.  The citations
themselves are checked where they are readable: a field whose help cites ``key: value``
from a source config has that value as its default.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from grasp_bench.planners import REGISTRY
from grasp_bench.planners.space import Choice

GOLDEN = Path(__file__).parent / "golden" / "configs.json"
BUILT_IN = ("cem", "gd", "latco", "grasp", "mppi", "icem", "grasp-author", "grasp-nosg",
            "grasp-nonoise", "grasp-nosync", "grasp-nogoal")


def snapshot() -> dict:
    """``{planner: {"defaults": {field: value}, "search_space": {field: [...]}}}``."""
    out = {}
    for name in BUILT_IN:
        config_cls = REGISTRY[name][0]
        space = {}
        for field, p in getattr(config_cls, "search_space", {}).items():
            space[field] = (["choice", list(p.values)] if isinstance(p, Choice)
                            else [type(p).__name__.lower(), p.low, p.high, p.log])
        out[name] = {"config": config_cls.__name__,
                     "defaults": dataclasses.asdict(config_cls()),
                     "search_space": space}
    return out


def test_defaults_and_search_spaces_match_the_reviewed_snapshot():
    expected = json.loads(GOLDEN.read_text())
    got = json.loads(json.dumps(snapshot()))
    moved = [f"{p}.{part}.{k}: {expected[p][part].get(k)!r} -> {got[p][part].get(k)!r}"
             for p in got for part in ("defaults", "search_space")
             for k in sorted(set(got[p][part]) | set(expected.get(p, {}).get(part, {})))
             if p in expected and expected[p][part].get(k) != got[p][part].get(k)]
    assert not moved and got == expected, (
        "planner defaults or search ranges moved (rewrite the snapshot with "
        "`python -m tests.planners.test_defaults` if deliberate):\n" + "\n".join(moved))


#: ``opt_steps: 1000)`` or ``lr_s: 0.1;`` inside a help's citation
_CITED = re.compile(r"\b[a-z_]+: (-?[0-9][0-9.e-]*)(?=[);,]|$)")


def test_a_default_equals_the_value_its_help_cites():
    checked = []
    for name in BUILT_IN:
        config_cls = REGISTRY[name][0]
        default = config_cls()
        checked += _check_citations(name, config_cls, default)
    assert len(checked) >= 25, checked  # the pattern still reads the helps


def _check_citations(name, config_cls, default) -> list[str]:
    checked = []
    for f in dataclasses.fields(config_cls):
        help = f.metadata.get("help", "")
        cited = _CITED.findall(help)
        value = getattr(default, f.name)
        if len(cited) != 1 or isinstance(value, bool | str) or "(tuned:" in help:
            continue  # no single number cited, or a tuned default citing the source's
        assert float(cited[0]) == float(value), f"{name}.{f.name}: its help cites {cited[0]}"
        checked.append(f"{name}.{f.name}")
    return checked


if __name__ == "__main__":
    text = json.dumps(snapshot(), indent=1)  # then each range on one line:
    text = re.sub(r"\[\s+([^\[\]]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m[1]) + "]", text)
    GOLDEN.write_text(text + "\n")
    print(f"wrote {GOLDEN}")
