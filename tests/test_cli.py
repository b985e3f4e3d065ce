"""The CLI: every sub-command documents itself; user errors never show a traceback."""

import subprocess
import sys

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
