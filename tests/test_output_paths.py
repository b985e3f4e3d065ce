"""Unusable output paths are one-line errors before any computation, in every command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskscore.cli import main as cli

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"


def _argv(cmd: str, out: Path, plan: Path) -> list[str]:
    return {
        "score": ["score", "--data", str(DATA), "--out", str(out), "--quiet"],
        "validate-q": ["validate", "--data", str(DATA), "--quarantine-out", str(out)],
        "validate-c": ["validate", "--data", str(DATA), "--clean-out", str(out)],
        "plan": ["plan", "--scores", str(DATA / "scores.csv"), "--out", str(out)],
        "commit": ["commit", "--plan", str(plan), "--out", str(out), "--randomness-source", "x"],
        "draw": ["draw", "--plan", str(plan), "--randomness", "1 2", "--out", str(out)],
        "synth": ["synth", "--out", str(out), "--institutions", "20", "--no-progress"],
    }[cmd]


OWN_FILE = {"score": "scores.csv", "plan": "plan.json", "commit": "commitment.json"}
OWN_FILE["draw"] = "manifest.json"
COMMANDS = ["score", "validate-q", "validate-c", "plan", "commit", "draw", "synth"]


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("paths") / "plan"
    pol = str(GOLDEN / "policy_joint.yaml")
    args = ["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA)]
    assert cli([*args, "--policy", pol, "--out", str(p)]) == 0
    return p


@pytest.mark.parametrize("kind", ["file_as_out", "parent_is_a_file", "folder_as_output", "ro"])
@pytest.mark.parametrize("cmd", COMMANDS)
def test_unusable_output_path(cmd, kind, plan, tmp_path, capsys):
    f = tmp_path / "a_file"
    f.write_text("x\n", encoding="utf-8")
    if kind == "file_as_out":
        out = f
    elif kind == "parent_is_a_file":
        out = f / "deeper" / "out"
    elif kind == "folder_as_output":
        if cmd not in OWN_FILE:
            pytest.skip("this command writes files of data-dependent names")
        out = tmp_path / "out"
        (out / OWN_FILE[cmd]).mkdir(parents=True)
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "out"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert cli(_argv(cmd, out, plan)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "--out" in err[0] or "--quarantine-out" in err[0] or "--clean-out" in err[0], err[0]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
