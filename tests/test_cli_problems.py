"""`grasp-bench problems`: a problem set described, both sources, bad input refused."""

from typer.testing import CliRunner

from grasp_bench.cli import app

runner = CliRunner()


def test_problems_describes_both_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path))
    for source in ("demo", "behaviour"):
        res = runner.invoke(app, ["problems", "--horizons", "10,20", "--episodes", "3",
                                  "--problem-source", source, "--sensitivity"])
        assert res.exit_code == 0, res.output
        assert f"3 {source} problems" in res.output and "block_pos_px" in res.output


def test_problems_bad_input_is_one_line():
    for args, message in ((["--problem-source", "human"], "--problem-source"),
                          (["--env", "ballnav", "--problem-source", "demo"], "ballnav"),
                          (["--horizons", "400"], "300 env steps"),
                          (["--problem-source", "behaviour", "--horizons", "400"],
                           "longer than the env's episodes"),
                          (["--episodes", "0"], "--episodes")):
        res = runner.invoke(app, ["problems", *args])
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output
