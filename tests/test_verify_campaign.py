"""Tampering campaign against a draw folder: `verify` must fail on every case, naming the file.

Every file of a committed, drawn and twice-amended folder (notices included) gets byte flips,
row swaps and deletion; extra files, truncated amendment chains, bad timestamps and a missing
commitment are tried too. Each case must exit 1 with one line that names the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from riskscore.cli import main as cli
from riskscore.draw import amend, build_inputs, write_commitment, write_draw
from riskscore.draw.amend import _canon
from riskscore.draw.bundle import read_csv_bytes, verify_draw
from riskscore.draw.notices import draw_notice
from riskscore.errors import VerificationError

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"
POLICY = GOLDEN / "policy_joint.yaml"
RANDOMNESS = "福利彩票双色球 2026001期 红球 03 07 12 19 25 31; 蓝球 09"
SOURCE = "中国福利彩票双色球 2026年1月15日开奖号码"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    """Plan → commit → draw (with notices) → two amendments, all through the library."""
    base = tmp_path_factory.mktemp("campaign")
    plan = base / "plan"
    args = ["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA)]
    assert cli([*args, "--policy", str(POLICY), "--out", str(plan)]) == 0
    d = base / "draw"
    inputs = build_inputs(plan, DATA, None, None, None, "5eed5a17")
    rec = write_commitment(d, inputs, SOURCE, "下一期")
    write_draw(d, inputs, RANDOMNESS, rec)
    rows = read_csv_bytes((d / "assignments.csv").read_bytes(), "a", ["fixmedins_code"])
    amend(d, rows[0]["inspector_id"], rows[0]["fixmedins_code"], "出差", "unavailable",
          "2026-01-20T09:00:00+08:00")  # fmt: skip
    amend(d, rows[-1]["inspector_id"], rows[-1]["fixmedins_code"], "病假", "illness",
          "2026-01-21T09:00:00+08:00")  # fmt: skip
    assert cli(["verify", str(d)]) == 0
    return d


def _files(d: Path) -> list[str]:
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())


def _copy(src: Path, tmp_path: Path, name: str = "copy") -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _fails_naming(d: Path, capsys, *names: str, extra: tuple[str, ...] = ()) -> str:
    capsys.readouterr()
    assert cli(["verify", str(d), *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "核验失败" in err[0], err
    assert any(n in err[0] for n in names), f"{err[0]!r} names none of {names}"
    return err[0]


EXPECTED_FILES = {
    "amendments.jsonl",
    "amendments_private.jsonl",
    "assignments.csv",
    "assignments_current.csv",
    "commitment.json",
    "frame.csv",
    "inputs/allocation.csv",
    "inputs/conflicts.csv",
    "inputs/conflicts_salt.txt",
    "inputs/frame_input.csv",
    "inputs/inspectors.csv",
    "inputs/names.csv",
    "inputs/params.json",
    "inputs/policy.yaml",
    "inputs/previous.csv",
    "inputs/randomness.txt",
    "manifest.json",
    "notices/draw_notice.csv",
    "notices/draw_notice.html",
    "reserve.csv",
    "targets.csv",
}


def test_the_campaign_covers_every_file_of_the_folder(drawn):
    assert set(_files(drawn)) == EXPECTED_FILES


def _who(name: str) -> tuple[str, ...]:
    """Strings of which one must appear in the failure line for a tampered ``name``."""
    base = name.split("/")[-1]
    if name == "inputs/conflicts_salt.txt":
        return (name, "inputs/conflicts.csv")
    if name == "manifest.json":
        return ("manifest.json",)
    return (name, base)


@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_byte_flip(drawn, tmp_path, capsys, name, where):
    d = _copy(drawn, tmp_path)
    p = d / name
    b = bytearray(p.read_bytes())
    i = {"start": 0, "middle": len(b) // 2, "end": len(b) - 1}[where]
    b[i] ^= 0x01
    p.write_bytes(bytes(b))
    _fails_naming(d, capsys, *_who(name))


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_deletion(drawn, tmp_path, capsys, name):
    d = _copy(drawn, tmp_path)
    (d / name).unlink()
    names = _who(name)
    if name == "manifest.json":
        names = ("manifest.json",)
    if name in ("inputs/conflicts.csv", "inputs/conflicts_salt.txt"):
        # the other private file is still there: not a public copy
        names = ("inputs/conflicts.csv", "inputs/conflicts_salt.txt")
    _fails_naming(d, capsys, *names)


CSV_FILES = sorted(n for n in EXPECTED_FILES if n.endswith(".csv") or n.endswith(".jsonl"))


@pytest.mark.parametrize("name", CSV_FILES)
def test_row_swap(drawn, tmp_path, capsys, name):
    d = _copy(drawn, tmp_path)
    p = d / name
    lines = p.read_bytes().split(b"\n")
    body = [i for i in range(1, len(lines)) if lines[i]] if name.endswith(".csv") else None
    if name.endswith(".jsonl"):
        body = [i for i in range(len(lines)) if lines[i]]
    if len(body) < 2 or all(lines[body[0]] == lines[j] for j in body[1:]):
        pytest.skip(f"{name}: fewer than two distinct rows")
    j = next(j for j in body[1:] if lines[j] != lines[body[0]])
    lines[body[0]], lines[j] = lines[j], lines[body[0]]
    p.write_bytes(b"\n".join(lines))
    _fails_naming(d, capsys, *_who(name))


def test_swapping_a_drawn_institution_for_an_undrawn_one_in_both_notices(drawn, tmp_path, capsys):
    d = _copy(drawn, tmp_path)
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    targets = read_csv_bytes((d / "targets.csv").read_bytes(), "t", ["fixmedins_code"])
    drawn_code = targets[0]["fixmedins_code"]
    other = next(c for c in sorted(m["pi"]) if c not in {t["fixmedins_code"] for t in targets})
    for n in ("draw_notice.csv", "draw_notice.html"):
        p = d / "notices" / n
        p.write_bytes(p.read_bytes().replace(drawn_code.encode(), other.encode()))
    _fails_naming(d, capsys, "notices/draw_notice")
    # deleting the HTML alone, or the whole notices folder, fails too
    d2 = _copy(drawn, tmp_path, "nohtml")
    (d2 / "notices" / "draw_notice.html").unlink()
    _fails_naming(d2, capsys, "notices/draw_notice.html")
    d3 = _copy(drawn, tmp_path, "nonotices")
    shutil.rmtree(d3 / "notices")
    _fails_naming(d3, capsys, "notices/draw_notice")


@pytest.mark.parametrize(
    "extra",
    ["extra.txt", "inputs/extra.csv", "notices/old_notice.html", "sub/x.csv", ".riskscore.lock"],
)
def test_extra_file_is_named(drawn, tmp_path, capsys, extra):
    d = _copy(drawn, tmp_path)
    p = d / extra
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("x\n", encoding="utf-8")
    line = _fails_naming(d, capsys, extra.split("/")[0] if extra.startswith("sub") else extra)
    assert "unexpected" in line or "writing" in line


def _rewrite_chain(d: Path, entries: list[dict]) -> None:
    """Write a self-consistent chain (hashes recomputed) and re-render the notice."""
    prev = hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()
    out = []
    for e in entries:
        e = {k: v for k, v in e.items() if k != "hash"}
        e["prev_hash"] = prev
        e["hash"] = hashlib.sha256(_canon(e)).hexdigest()
        prev = e["hash"]
        out.append(_canon(e) + b"\n")
    (d / "amendments.jsonl").write_bytes(b"".join(out))


def _entries(d: Path) -> list[dict]:
    return [json.loads(x) for x in (d / "amendments.jsonl").read_text("utf-8").splitlines()]


def test_truncated_chain_fails_on_the_published_notice(drawn, tmp_path, capsys):
    # drop the last amendment and assignments_current.csv
    d = _copy(drawn, tmp_path, "t1")
    for n in ("amendments.jsonl", "amendments_private.jsonl"):
        p = d / n
        p.write_bytes(b"".join(p.read_bytes().splitlines(keepends=True)[:-1]))
    (d / "assignments_current.csv").unlink()
    _fails_naming(d, capsys, "assignments_current.csv", "notices/draw_notice")
    # all three amendment files deleted: the notice holds the chain length and head
    d2 = _copy(drawn, tmp_path, "t2")
    for n in ("amendments.jsonl", "amendments_private.jsonl", "assignments_current.csv"):
        (d2 / n).unlink()
    line = _fails_naming(d2, capsys, "notices/draw_notice")
    assert "amendment" in line
    # a forger who also re-renders the notice is caught by the head the public holds
    head = _entries(drawn)[-1]["hash"]
    draw_notice(d2, d2 / "notices")
    assert cli(["verify", str(d2)]) == 0
    _fails_naming(d2, capsys, "amendments.jsonl", extra=("--head", head))
    assert cli(["verify", str(drawn), "--head", head]) == 0


@pytest.mark.parametrize(
    "ts,why",
    [
        ("not-a-time", "not ISO 8601"),
        ("2026-01-21", "needs a time"),
        ("2026-01-21T09:00:00", "needs a time"),
        ("2025-03-01T09:00:00+08:00", "before the draw date"),
        ("2026-01-19T09:00:00+08:00", "earlier than the previous"),
    ],
)
def test_bad_timestamp_in_a_consistent_chain(drawn, tmp_path, capsys, ts, why):
    d = _copy(drawn, tmp_path)
    entries = _entries(d)
    entries[-1]["timestamp"] = ts
    _rewrite_chain(d, entries)
    draw_notice(d, d / "notices")  # the forger re-renders the notice too
    line = _fails_naming(d, capsys, "amendments.jsonl line 2")
    assert why in line


@pytest.mark.parametrize(
    "ts", ["not-a-time", "2025-03-01T09:00:00+08:00", "2026-01-19T09:00:00+08:00"]
)
def test_amend_refuses_bad_timestamps(drawn, tmp_path, capsys, ts):
    d = _copy(drawn, tmp_path)
    cur = read_csv_bytes((d / "assignments_current.csv").read_bytes(), "a", ["inspector_id"])
    args = ["amend", str(d), "--unavailable", cur[1]["inspector_id"]]
    args += ["--target", cur[1]["fixmedins_code"], "--reason", "x", "--timestamp", ts]
    capsys.readouterr()
    assert cli(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--timestamp" in err[0]
    assert cli(["verify", str(d)]) == 0  # nothing was written


def test_missing_commitment(tmp_path, capsys):
    plan = tmp_path / "plan"
    args = ["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA)]
    assert cli([*args, "--policy", str(POLICY), "--out", str(plan)]) == 0
    d = tmp_path / "draw"
    assert cli(["draw", "--plan", str(plan), "--randomness", "1 2 3", "--out", str(d)]) == 0
    line = _fails_naming(d, capsys, "commitment.json")
    assert "--allow-uncommitted" in line
    capsys.readouterr()
    assert cli(["verify", str(d), "--allow-uncommitted"]) == 0
    out = capsys.readouterr().out
    assert "警告" in out and "commitment" in out and "核验通过" in out


def test_verify_draw_library_call_names_the_notice(drawn, tmp_path):
    d = _copy(drawn, tmp_path)
    p = d / "notices" / "draw_notice.csv"
    p.write_bytes(p.read_bytes().replace("检查组".encode(), "检査组".encode(), 1))
    with pytest.raises(VerificationError, match=r"notices/draw_notice\.csv"):
        verify_draw(d)


def test_audit_copy_holds_no_scores(drawn):
    """docs/draw.md §8: tiers and π are in the audit copy, risk scores nowhere."""
    for p in drawn.rglob("*"):
        if p.is_file():
            text = p.read_text(encoding="utf-8-sig")
            assert "risk_score" not in text and "expected_loss" not in text, p
    notice = (drawn / "notices" / "draw_notice.csv").read_text(encoding="utf-8-sig")
    frame = read_csv_bytes((drawn / "frame.csv").read_bytes(), "f", ["pi"])
    assert not any(f",{r['pi']}," in notice for r in frame)  # no π in the notice
