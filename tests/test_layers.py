"""The package's layers point one way: the import contracts of pyproject.toml
(``[tool.importlinter]``: layers, no cycles, nothing imports the package's ``__init__``,
envs free of grasp_bench and torch, planners free of the simulator) hold."""

import ast
from pathlib import Path

from importlinter.cli import lint_imports  # the `dev` extra

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(capsys):
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out


def test_version_module_imports_nothing():
    import grasp_bench
    from grasp_bench.version import __version__

    assert grasp_bench.__version__ == __version__
    tree = ast.parse((ROOT / "grasp_bench" / "version.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
