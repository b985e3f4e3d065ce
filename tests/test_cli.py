"""The CLI: every sub-command documents itself; user errors never show a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from riskscore.cli import build_parser, main


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


def test_core_commands_are_registered():
    assert {"contract", "demo"} <= set(_commands())


@pytest.mark.parametrize("name", _commands())
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip()


def test_demo_with_missing_data_is_one_clear_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "riskscore.cli",
            "demo",
            "--data",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
            "--no-reports",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "error" in proc.stderr


@pytest.mark.parametrize("command", ["validate", "score"])
def test_engine_out_of_memory_is_one_line_asking_for_more_memory(tmp_path, capsys, command):
    sample = Path(__file__).resolve().parents[1] / "data_samples"
    argv = [command, "--data", str(sample), "--memory", "20MB"]
    if command == "score":
        argv += ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "ran out of memory (--memory 20MB)" in err and "larger --memory" in err
    assert "unreadable" not in err
