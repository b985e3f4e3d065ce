"""The verifiable draw: randomness, tickets, commit → draw → verify → amend, golden manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from riskscore.cli import main as cli
from riskscore.draw import (
    amend,
    build_inputs,
    canonical_randomness,
    seed_from_randomness,
    ticket,
    tickets,
    verify_draw,
    write_commitment,
    write_draw,
)
from riskscore.draw.bundle import parse_inputs
from riskscore.errors import RiskscoreError, VerificationError

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"
POLICY = GOLDEN / "policy_joint.yaml"
RANDOMNESS = "福利彩票双色球 2026001期 红球 03 07 12 19 25 31; 蓝球 09"
SOURCE = "中国福利彩票双色球 2026年1月15日开奖号码"
SALT = "5eed5a17"


def _rows(p: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8-sig"))))


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "plan"
    assert (
        cli(
            [
                "plan",
                "--scores",
                str(DATA / "scores.csv"),
                "--data",
                str(DATA),
                "--policy",
                str(POLICY),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def _draw(plan_dir: Path, out: Path, randomness: str = RANDOMNESS, commit: bool = True) -> Path:
    if commit:
        assert (
            cli(
                [
                    "commit",
                    "--plan",
                    str(plan_dir),
                    "--data",
                    str(DATA),
                    "--out",
                    str(out),
                    "--randomness-source",
                    SOURCE,
                    "--salt",
                    SALT,
                ]
            )
            == 0
        )
    args = ["draw", "--plan", str(plan_dir), "--randomness", randomness, "--out", str(out)]
    if not commit:
        args += ["--data", str(DATA), "--salt", SALT]
    assert cli(args) == 0
    return out


# --------------------------------------------------------------------------- randomness
def test_rfc3797_canonicalisation():
    assert canonical_randomness("红球 03 07 12 19 25 31; 蓝球 09") == "3.7.12.19.25.31./9./"
    # order within a source does not matter, sources are kept apart
    assert canonical_randomness("31 25 19 12 7 3 / 9") == "3.7.12.19.25.31./9./"
    assert canonical_randomness("1 2; 3") != canonical_randomness("1 2 3")
    h = "a" * 64
    assert canonical_randomness(f"drand round 123 randomness {h.upper()}") == h + "/"
    with pytest.raises(RiskscoreError, match="no numbers"):
        canonical_randomness("没有数字")


def test_tickets_domain_separated_and_batch_equal():
    seed = seed_from_randomness("1 2 3")
    assert ticket(seed, "target|2025|1|A", "H001") != ticket(seed, "target|2025|1|B", "H001")
    assert ticket(seed, "p", "H001") != ticket(seed_from_randomness("1 2 4"), "p", "H001")
    ids = ["H001", "H002", "H003"]
    assert tickets(seed, "p", ids) == [ticket(seed, "p", i) for i in ids]
    # independent check of the documented formula
    raw = hashlib.sha256(b"riskscore-ticket-v1\x1f" + seed + b"\x1fp\x1fH001").digest()
    assert ticket(seed, "p", "H001") == int.from_bytes(raw, "big")
    assert seed == hashlib.sha256(b"1.2.3./").digest()


# --------------------------------------------------------------------------- draw outputs
def test_draw_outputs_and_constraints(plan_dir, tmp_path):
    d = _draw(plan_dir, tmp_path / "draw")
    for name in ("manifest.json", "frame.csv", "targets.csv", "assignments.csv", "reserve.csv"):
        assert (d / name).exists()
    frame = _rows(d / "frame.csv")
    assert len(frame) == 40  # closed/suspended institutions are out of the frame
    assert set(frame[0]) >= {
        "fixmedins_code",
        "tier",
        "stratum",
        "N_h",
        "n_h",
        "pi",
        "selected",
        "round",
    }
    for r in frame:
        assert float(r["pi"]) == pytest.approx(int(r["n_h"]) / int(r["N_h"]))
    targets = _rows(d / "targets.csv")
    assert len(targets) == sum(int(r["selected"]) for r in frame)
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["pi"]) == {r["fixmedins_code"] for r in frame}
    assert manifest["randomness"]["text"] == RANDOMNESS
    conflicts = {(r["inspector_id"], r["fixmedins_code"]) for r in _rows(DATA / "conflicts.csv")}
    unit = {r["inspector_id"]: r["unit"] for r in _rows(DATA / "inspectors.csv")}
    teams: dict[str, list[str]] = {}
    for r in _rows(d / "assignments.csv"):
        teams.setdefault(r["fixmedins_code"], []).append(r["inspector_id"])
    assert set(teams) == {t["fixmedins_code"] for t in targets}
    load: dict[str, int] = {}
    for code, team in teams.items():
        assert len(team) == 4 == len(set(team))
        assert sum(unit[i] == "JG" for i in team) == 2 and sum(unit[i] == "JH" for i in team) == 2
        assert not any((i, code) in conflicts for i in team)
        assert not {"I13", "I14"} & set(team)  # retired; certificate expired
        for i in team:
            load[i] = load.get(i, 0) + 1
    assert max(load.values()) <= 3
    res = _rows(d / "reserve.csv")
    for r in res:
        assert r["inspector_id"] not in teams[r["fixmedins_code"]]
        assert (r["inspector_id"], r["fixmedins_code"]) not in conflicts


def test_no_personal_data_in_public_outputs(plan_dir, tmp_path):
    d = _draw(plan_dir, tmp_path / "draw")
    names = [r["inspector_name"] for r in _rows(DATA / "inspectors.csv")]
    certs = [r["cert_no"] for r in _rows(DATA / "inspectors.csv")]
    reasons = {r["reason"] for r in _rows(DATA / "conflicts.csv")}
    files = [p for p in d.rglob("*") if p.is_file()] + [
        p for p in plan_dir.rglob("*") if p.is_file()
    ]
    for p in files:
        text = p.read_text(encoding="utf-8-sig")
        for s in names + certs + list(reasons):
            assert s not in text, f"{s} leaked into {p}"
    notice = (d / "notices" / "draw_notice.html").read_text(encoding="utf-8")
    assert "抽查任务公告" in notice
    # inspector ids are not shown either, only a count per unit
    assert "I0" not in (d / "notices" / "draw_notice.csv").read_text(encoding="utf-8-sig")


def test_notice_names_only_when_policy_allows(plan_dir, tmp_path):
    pol = POLICY.read_text(encoding="utf-8").replace(
        "inspector_names: false", "inspector_names: true"
    )
    p2 = tmp_path / "pol.yaml"
    p2.write_text(pol, encoding="utf-8")
    plan2 = tmp_path / "plan2"
    assert (
        cli(
            [
                "plan",
                "--scores",
                str(DATA / "scores.csv"),
                "--data",
                str(DATA),
                "--policy",
                str(p2),
                "--out",
                str(plan2),
            ]
        )
        == 0
    )
    d = _draw(plan2, tmp_path / "draw2")
    assert (
        cli(
            [
                "notice",
                "--draw",
                str(d),
                "--data",
                str(DATA),
                "--out",
                str(tmp_path / "n"),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    text = (tmp_path / "n" / "draw_notice.csv").read_text(encoding="utf-8-sig")
    assert "检查员" in text  # names allowed by this policy
    assert "ZF0" not in text  # never certificate numbers
    assert "inspection tasks" in (tmp_path / "n" / "draw_notice.html").read_text(encoding="utf-8")


def test_plan_notice_written(plan_dir):
    html = (plan_dir / "notices" / "plan_notice.html").read_text(encoding="utf-8")
    assert "抽查计划公告" in html and "不少于4名" in html
    csv_text = (plan_dir / "notices" / "plan_notice.csv").read_text(encoding="utf-8-sig")
    assert "重点检查事项" in csv_text


# --------------------------------------------------------------------------- golden manifest
def _golden_run(plan_dir: Path, out: Path) -> Path:
    inputs = build_inputs(plan_dir, DATA, None, None, None, SALT)
    write_commitment(out, inputs, SOURCE, "下一期双色球开奖号码")
    write_draw(out, inputs, RANDOMNESS, json.loads((out / "commitment.json").read_text("utf-8")))
    return out


def test_golden_manifest_byte_for_byte(plan_dir, tmp_path):
    d = _golden_run(plan_dir, tmp_path / "g")
    got = (d / "manifest.json").read_bytes()
    golden = GOLDEN / "manifest.json"
    if os.environ.get("RISKSCORE_REGEN_GOLDEN") == "1":
        golden.write_bytes(got)
        for name in ("targets.csv", "assignments.csv", "reserve.csv", "commitment.json"):
            shutil.copyfile(d / name, GOLDEN / name)
    assert got == golden.read_bytes(), (
        "manifest differs from tests/golden/manifest.json; if the draw algorithm, the code "
        "version or the fixtures changed on purpose, regenerate with RISKSCORE_REGEN_GOLDEN=1"
    )
    for name in ("targets.csv", "assignments.csv", "reserve.csv", "commitment.json"):
        assert (d / name).read_bytes() == (GOLDEN / name).read_bytes(), name


@pytest.fixture(scope="module")
def amended_draw(plan_dir, tmp_path_factory) -> Path:
    d = _golden_run(plan_dir, tmp_path_factory.mktemp("am") / "draw")
    first = _rows(d / "assignments.csv")[0]
    amend(
        d,
        first["inspector_id"],
        first["fixmedins_code"],
        "出差",
        "unavailable",
        "2026-01-20T09:00:00+08:00",
    )
    return d


def _tamper_cases() -> list[str]:
    return [
        "inputs/frame_input.csv",
        "inputs/allocation.csv",
        "inputs/previous.csv",
        "inputs/inspectors.csv",
        "inputs/conflicts.csv",
        "inputs/conflicts_salt.txt",
        "inputs/policy.yaml",
        "inputs/params.json",
        "inputs/randomness.txt",
        "frame.csv",
        "targets.csv",
        "assignments.csv",
        "reserve.csv",
        "manifest.json",
        "commitment.json",
        "amendments.jsonl",
        "amendments_private.jsonl",
        "assignments_current.csv",
    ]


def test_amended_draw_verifies(amended_draw):
    assert cli(["verify", str(amended_draw)]) == 0


@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize("name", _tamper_cases())
def test_one_byte_change_fails_verify(amended_draw, tmp_path, name, where, capsys):
    d = tmp_path / "copy"
    shutil.copytree(amended_draw, d)
    p = d / name
    b = bytearray(p.read_bytes())
    i = {"start": 0, "middle": len(b) // 2, "end": len(b) - 1}[where]
    b[i] ^= 0x01
    p.write_bytes(bytes(b))
    assert cli(["verify", str(d)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "核验失败" in err[0]


def test_verify_names_the_file(amended_draw, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(amended_draw, d)
    p = d / "targets.csv"
    p.write_bytes(p.read_bytes().replace(b"R1-T001", b"R1-T009", 1))
    with pytest.raises(VerificationError, match=r"targets\.csv"):
        verify_draw(d)


def test_draw_refuses_changed_inputs_after_commit(plan_dir, tmp_path):
    data2 = tmp_path / "data"
    shutil.copytree(DATA, data2)
    out = tmp_path / "draw"
    assert (
        cli(
            [
                "commit",
                "--plan",
                str(plan_dir),
                "--data",
                str(data2),
                "--out",
                str(out),
                "--randomness-source",
                SOURCE,
            ]
        )
        == 0
    )
    with open(data2 / "conflicts.csv", "a", encoding="utf-8") as fh:
        fh.write("I04,H002,新发现的亲属关系\n")
    code = cli(
        [
            "draw",
            "--plan",
            str(plan_dir),
            "--data",
            str(data2),
            "--randomness",
            RANDOMNESS,
            "--out",
            str(out),
        ]
    )
    assert code != 0
    assert not (out / "manifest.json").exists()


def test_draw_without_commit_and_locking(plan_dir, tmp_path):
    d = _draw(plan_dir, tmp_path / "d", commit=False)
    # no commitment published before the randomness: verify fails unless told otherwise
    assert cli(["verify", str(d)]) == 1
    assert cli(["verify", str(d), "--allow-uncommitted"]) == 0
    # outputs are locked: a second draw into the same folder is refused
    assert (
        cli(
            [
                "draw",
                "--plan",
                str(plan_dir),
                "--randomness",
                "1 2 3",
                "--out",
                str(d),
                "--data",
                str(DATA),
            ]
        )
        == 2
    )


def test_same_inputs_same_outputs_different_randomness_differs(plan_dir, tmp_path):
    a = _draw(plan_dir, tmp_path / "a", commit=False)
    b = _draw(plan_dir, tmp_path / "b", commit=False)
    c = _draw(plan_dir, tmp_path / "c", randomness="红球 01 02 03 04 05 06; 蓝球 16", commit=False)
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert (a / "targets.csv").read_bytes() != (c / "targets.csv").read_bytes() or (
        a / "assignments.csv"
    ).read_bytes() != (c / "assignments.csv").read_bytes()


# --------------------------------------------------------------------------- amendments
def test_amend_takes_next_eligible_reserve_entry(plan_dir, tmp_path):
    d = _golden_run(plan_dir, tmp_path / "d")
    ass = _rows(d / "assignments.csv")
    res = _rows(d / "reserve.csv")
    unit = {r["inspector_id"]: r["unit"] for r in _rows(DATA / "inspectors.csv")}
    code = ass[0]["fixmedins_code"]
    out = ass[0]["inspector_id"]
    team = [r["inspector_id"] for r in ass if r["fixmedins_code"] == code]
    load: dict[str, int] = {}
    for r in ass:
        load[r["inspector_id"]] = load.get(r["inspector_id"], 0) + 1
    # independent expectation: first reserve entry of the same unit (joint quota exact), under cap
    expected = next(
        r["inspector_id"]
        for r in sorted(
            (r for r in res if r["fixmedins_code"] == code), key=lambda r: int(r["rank"])
        )
        if unit[r["inspector_id"]] == unit[out]
        and r["inspector_id"] not in team
        and load.get(r["inspector_id"], 0) < 3
    )
    e = amend(d, out, code, "因病住院", "illness", "2026-01-20T10:00:00+08:00")
    assert e["added"] == expected and e["removed"] == out
    assert e["reason_code"] == "illness" and e["reason"] == "因病住院"
    assert e["timestamp"] == "2026-01-20T10:00:00+08:00"
    log = (d / "amendments.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == 1 and json.loads(log[0])["hash"] == e["hash"]
    # the free-text reason (health data here) stays in the private log, hashed in the public one
    assert "因病住院" not in log[0]
    priv = json.loads((d / "amendments_private.jsonl").read_text(encoding="utf-8"))
    assert priv["reason"] == "因病住院"
    assert (
        json.loads(log[0])["reason_sha256"]
        == hashlib.sha256(f"{priv['nonce']}\n因病住院".encode()).hexdigest()
    )
    # locked outputs untouched
    assert (d / "assignments.csv").read_bytes() == (GOLDEN / "assignments.csv").read_bytes()
    cur = _rows(d / "assignments_current.csv")
    now_team = [r["inspector_id"] for r in cur if r["fixmedins_code"] == code]
    assert out not in now_team and expected in now_team
    # a second amendment for the replacement chains to the first
    e2 = amend(d, expected, code, "临时公务", "unavailable", "2026-01-21T10:00:00+08:00")
    assert e2["prev_hash"] == e["hash"] and e2["added"] not in (out, expected)
    assert verify_draw(d)
    # the amendment timestamp defaults to the clock
    e3 = amend(d, e2["added"], code, "x", "other")
    assert e3["timestamp"].startswith("20")


def test_amend_bad_requests(plan_dir, tmp_path):
    d = _golden_run(plan_dir, tmp_path / "d")
    ass = _rows(d / "assignments.csv")
    with pytest.raises(RiskscoreError, match="--target"):
        amend(d, ass[0]["inspector_id"], "H999", "x")
    with pytest.raises(RiskscoreError, match="--unavailable"):
        amend(d, "I99", ass[0]["fixmedins_code"], "x")
    with pytest.raises(RiskscoreError, match="reason-code"):
        amend(d, ass[0]["inspector_id"], ass[0]["fixmedins_code"], "x", "bogus")


def test_reserve_exhaustion_is_reported(plan_dir, tmp_path):
    d = _golden_run(plan_dir, tmp_path / "d")
    ass = _rows(d / "assignments.csv")
    code = ass[0]["fixmedins_code"]
    cur = ass[0]["inspector_id"]
    with pytest.raises(RiskscoreError, match="exhausted"):
        for k in range(20):
            ts = f"2026-02-{k + 1:02d}T00:00:00+08:00"
            cur = amend(d, cur, code, "x", "unavailable", ts)["added"]
    assert verify_draw(d)


# --------------------------------------------------------------------------- rounds and cap
def test_second_round_respects_cap_and_records_it(tmp_path):
    pol = POLICY.read_text(encoding="utf-8")
    pol = pol.replace("annual_cap: 2", "annual_cap: 1").replace(
        "tier_probabilities: {A: 0.04, B: 0.10, C: 0.20, D: 0.40}",
        "tier_probabilities: {A: 0.1, B: 0.2, C: 0.5, D: 1.0}",
    )
    pol = pol.replace(
        "joint: {units: [JG, JH], min_per_unit: 2}", "joint: {units: [], min_per_unit: 2}"
    )
    p = tmp_path / "p.yaml"
    p.write_text(pol, encoding="utf-8")
    plan = tmp_path / "plan"
    assert (
        cli(
            [
                "plan",
                "--scores",
                str(DATA / "scores.csv"),
                "--data",
                str(DATA),
                "--policy",
                str(p),
                "--out",
                str(plan),
            ]
        )
        == 0
    )
    r1 = tmp_path / "r1"
    r2 = tmp_path / "r2"
    assert (
        cli(
            ["draw", "--plan", str(plan), "--randomness", "1 2 3", "--out", str(r1), "--salt", SALT]
        )
        == 0
    )
    assert (
        cli(
            [
                "draw",
                "--plan",
                str(plan),
                "--randomness",
                "4 5 6",
                "--out",
                str(r2),
                "--round",
                "2",
                "--previous",
                str(r1),
                "--salt",
                SALT,
            ]
        )
        == 0
    )
    t1 = {r["fixmedins_code"] for r in _rows(r1 / "targets.csv")}
    t2 = {r["fixmedins_code"] for r in _rows(r2 / "targets.csv")}
    assert t1 and t2 and not (t1 & t2)  # cap 1: never twice
    f2 = {r["fixmedins_code"]: r for r in _rows(r2 / "frame.csv")}
    for c in t1:
        assert f2[c]["eligible"] == "0" and float(f2[c]["pi_conditional"]) == 0.0
        assert f2[c]["prior_inspections"] == "1"
    # tier D (2 institutions, rate 1.0): one per round, both inspected over the year
    d_codes = [c for c, r in f2.items() if r["tier"] == "D"]
    assert set(d_codes) <= t1 | t2
    assert cli(["verify", str(r2), "--allow-uncommitted"]) == 0
    inc = {r["fixmedins_code"]: r for r in _rows(plan / "inclusion.csv")}
    assert float(inc[d_codes[0]]["pi"]) == pytest.approx(1.0)


def test_parse_inputs_roundtrip(plan_dir):
    inputs = build_inputs(plan_dir, DATA, None, None, None, SALT)
    inp, params, policy = parse_inputs(inputs)
    assert inp.team_size == 4 and inp.joint_units == ["JG", "JH"]
    assert len(inp.frame) == 40 and params["round_index"] == 1
    assert ("I01", "H033") in inp.conflicts


def test_auditor_script_in_docs_reproduces_targets(amended_draw, tmp_path):
    import re
    import subprocess
    import sys

    doc = (Path(__file__).parents[1] / "docs" / "verify_for_auditors.md").read_text(
        encoding="utf-8"
    )
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    script = tmp_path / "check_targets.py"
    script.write_text(code, encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, str(script), str(amended_draw)], capture_output=True, text=True
    )
    assert ok.stdout.strip() == "OK: targets reproduced", ok.stderr
    # and it notices a forged target list
    forged = tmp_path / "forged"
    shutil.copytree(amended_draw, forged)
    t = forged / "targets.csv"
    lines = t.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")[0]
    other = "H011" if first != "H011" else "H012"
    t.write_text(
        "\n".join([lines[0], lines[1].replace(first, other, 1), *lines[2:]]) + "\n",
        encoding="utf-8",
    )
    bad = subprocess.run([sys.executable, str(script), str(forged)], capture_output=True, text=True)
    assert bad.stdout.startswith("DIFFERENT")


def test_unteamable_target_names_the_constraint():
    from riskscore.draw.core import DrawInputs, Inspector, run_draw
    from riskscore.errors import PolicyError

    ins = [Inspector(f"I{i}", "U", "2027-01-01", "active") for i in range(3)]
    base = dict(
        year=2025,
        round_index=1,
        round_name="r",
        draw_date="2025-04-01",
        frame={"X1": "D"},
        n_round={"D": 1},
        previous={},
        annual_cap=2,
        inspectors=ins,
        conflicts={("I0", "X1"), ("I1", "X1")},
        team_size=2,
    )
    with pytest.raises(PolicyError, match=r"teams\.min_size: target X1 has 1 eligible"):
        run_draw(seed_from_randomness("1"), DrawInputs(**base))
    base.update(team_size=4, joint_units=["U", "V"], min_per_unit=2, conflicts=set())
    with pytest.raises(
        PolicyError,
        match=r"teams\.joint\.min_per_unit: target X1 has 0 eligible inspectors from unit V",
    ):
        run_draw(seed_from_randomness("1"), DrawInputs(**base))
    # an expired certificate on the draw date makes an inspector ineligible
    base.update(
        team_size=3,
        joint_units=[],
        inspectors=ins[:2] + [Inspector("I2", "U", "2025-03-31", "active")],
    )
    with pytest.raises(PolicyError, match="has 2 eligible"):
        run_draw(seed_from_randomness("1"), DrawInputs(**base))


def test_auditor_one_liners(amended_draw):
    import re
    import subprocess

    doc = (Path(__file__).parents[1] / "docs" / "verify_for_auditors.md").read_text(
        encoding="utf-8"
    )
    one = re.search(r"^(python3 -c .*)$", doc, re.M).group(1)
    out = subprocess.run(one, shell=True, cwd=amended_draw, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr
    # sha256sum recipe for the salted conflicts entry
    salted = subprocess.run(
        "cat inputs/conflicts_salt.txt inputs/conflicts.csv | sha256sum",
        shell=True,
        cwd=amended_draw,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    m = json.loads((amended_draw / "manifest.json").read_text(encoding="utf-8"))
    assert m["inputs"]["inputs/conflicts.csv"] == "salted:" + salted
    seed = subprocess.run(
        ["sha256sum"], input=m["randomness"]["canonical"], capture_output=True, text=True
    ).stdout.split()[0]
    assert seed == m["randomness"]["seed_sha256"]


def test_public_copy_verifies_targets_without_the_private_files(amended_draw, tmp_path, capsys):
    pub = tmp_path / "public"
    shutil.copytree(amended_draw, pub)
    for name in ("inputs/conflicts.csv", "inputs/conflicts_salt.txt", "amendments_private.jsonl"):
        (pub / name).unlink()
    assert cli(["verify", str(pub)]) == 0
    assert "公开副本" in capsys.readouterr().out
    for name in (
        "targets.csv",
        "frame.csv",
        "assignments.csv",
        "reserve.csv",
        "inputs/params.json",
    ):
        bad = tmp_path / f"bad_{name.replace('/', '_')}"
        shutil.copytree(pub, bad)
        p = bad / name
        b = bytearray(p.read_bytes())
        b[len(b) // 2] ^= 0x01
        p.write_bytes(bytes(b))
        assert cli(["verify", str(bad)]) == 1, name
    # a forged but self-consistent target list is caught by re-drawing the targets
    forged = tmp_path / "forged"
    shutil.copytree(pub, forged)
    m = json.loads((forged / "manifest.json").read_text(encoding="utf-8"))
    rows = (forged / "targets.csv").read_text(encoding="utf-8").splitlines()
    first = rows[1].split(",")[0]
    other = next(c for c in sorted(m["pi"]) if c not in "".join(rows))
    (forged / "targets.csv").write_text(
        "\n".join([rows[0], rows[1].replace(first, other), *rows[2:]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(VerificationError, match="targets.csv"):
        verify_draw(forged)
