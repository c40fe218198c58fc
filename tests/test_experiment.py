"""The experiment scaffold (jaxdl/experiment.py): configs, --quick, checks, atomic results."""

import json

import numpy as np
import pytest

from jaxdl.experiment import Param, main, parse_config, save_json

CONFIG = {
    "steps": Param(100, "steps", minimum=1),
    "lr": Param(0.1, "rate", minimum=0.0),
    "sizes": Param([8, 4], "sizes", minimum=1),
    "name": Param("a", "a choice", choices=["a", "b"]),
    "flag": Param(False, "a switch"),
    "limit": Param(None, "optional", minimum=1, kind=int),
}


def test_defaults_quick_and_explicit_flags_in_that_order():
    config = parse_config(CONFIG, [], quick={"steps": 5})
    assert (config.steps, config.lr, config.sizes, config.name, config.flag, config.limit) == (100, 0.1, [8, 4], "a",
                                                                                               False, None)
    assert config.out == "runs/experiment" and config.progress and not config.quick
    quick = parse_config(CONFIG, ["--quick", "--sizes", "2", "--flag", "--limit", "3"], quick={"steps": 5})
    assert (quick.steps, quick.sizes, quick.flag, quick.limit, quick.quick) == (5, [2], True, 3, True)
    assert parse_config(CONFIG, ["--quick", "--steps", "7"], quick={"steps": 5}).steps == 7


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "error: --steps must be >= 1, got 0\n"),
    (["--lr", "nan"], "error: --lr must be a finite number, got nan\n"),
    (["--sizes", "3", "0"], "error: --sizes must be >= 1, got 0\n"),
    (["--name", "c"], "error: --name must be one of a, b; got 'c'\n"),
    (["--limit", "0"], "error: --limit must be >= 1, got 0\n"),
])
def test_a_bad_value_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        parse_config(CONFIG, argv)
    assert exit_.value.code == 2 and capsys.readouterr().err == message


def test_a_check_between_fields_and_an_unknown_quick_field(capsys):
    with pytest.raises(SystemExit):
        parse_config(CONFIG, ["--steps", "3"], check=lambda c: "--steps must be even" if c.steps % 2 else None)
    assert capsys.readouterr().err == "error: --steps must be even\n"
    with pytest.raises(ValueError, match="not in the config"):
        parse_config(CONFIG, [], quick={"epochs": 1})


def test_main_runs_and_writes_the_numbers_with_the_config(tmp_path, capsys):
    def run(config, out):
        return {"twice": 2 * config.steps, "array": np.arange(2)}

    result = main(run, CONFIG, quick={"steps": 5}, argv=["--quick", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "test_experiment.json").read_text())
    assert result["twice"] == written["twice"] == 10 and written["array"] == [0, 1]
    assert written["config"]["steps"] == 5 and written["config"]["out"] == str(tmp_path)
    assert f"output directory: {tmp_path}" in capsys.readouterr().out


def test_a_diverged_run_exits_3_without_a_result(tmp_path):
    def run(config, out):
        raise FloatingPointError("train_loss became NaN or inf at step 2")

    with pytest.raises(SystemExit) as exit_:
        main(run, CONFIG, argv=["--out", str(tmp_path)])
    assert exit_.value.code == 3 and not (tmp_path / "test_experiment.json").exists()


def test_save_json_is_atomic(tmp_path):
    (tmp_path / "r.json").write_text('{"old": 1}')
    with pytest.raises(TypeError, match="cannot write object"):
        save_json({"bad": object()}, tmp_path, "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == {"old": 1}  # the old file survives a failed write
