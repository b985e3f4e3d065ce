"""``riskscore score``: files, columns, determinism, skipped indicators, errors.

The first tests replace loading and indicator computation by synthetic long tables (the
scoring plumbing); the others run the real pipeline on a generated province
(``riskscore synth``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from riskscore.cli import build_parser, main
from riskscore.commands import score as score_cmd
from riskscore.contract import FAMILIES, TABLES

sys.path.insert(0, str(Path(__file__).parent))
from test_scoring import make_province  # noqa: E402

SCORE_COLUMNS = [
    "fixmedins_code",
    "risk_score",
    "tier",
    "expected_loss",
    *FAMILIES,
    "iforest_score",
    "top_reasons_zh",
    "top_reasons_en",
]
PII = {c for t in TABLES.values() for c in t.pii_columns}


def _fake(monkeypatch, seed=11, drop_codes=()):
    inst, values, truth, exposure = make_province(seed)
    inst = inst.drop(columns=["size"]).assign(
        fixmedins_name="机构", legal_rep="张三", address="某路1号"
    )
    values = values[~values["indicator_id"].isin(drop_codes)]
    ev_rows = []
    for r in values.itertuples(index=False):
        for k in range(min(int(r.numerator), 30)):
            ev_rows.append(
                (
                    r.fixmedins_code,
                    r.indicator_id,
                    r.family,
                    "fee_list_d",
                    f"{r.fixmedins_code}-{r.indicator_id}-{k:03d}",
                    "2024-01-01",
                )
            )
    evidence = pd.DataFrame(
        ev_rows,
        columns=["fixmedins_code", "indicator_id", "family", "record_table", "record_id", "detail"],
    )
    res = SimpleNamespace(
        values=values,
        evidence=evidence,
        skipped=[(c, "fee_list_d absent (表缺失)") for c in drop_codes],
        exposure=exposure,
        computed=sorted(values["indicator_id"].unique()),
        rules={"_version": "test"},
    )
    credit = pd.DataFrame(
        {
            "fixmedins_code": inst["fixmedins_code"][:10],
            "rating": ["D"] * 10,
            "rating_date": pd.Timestamp("2024-06-30"),
        }
    )
    ds = SimpleNamespace(report=lambda: {"tables": {"institutions": {"quarantined": 0}}})
    monkeypatch.setattr(
        score_cmd, "_load", lambda d: (ds, {"institutions": inst, "credit_ratings": credit})
    )
    monkeypatch.setattr(score_cmd, "_indicators", lambda *a, **k: res)
    return inst, values, truth


def test_score_writes_one_row_per_institution(monkeypatch, tmp_path, capsys):
    inst, values, truth = _fake(monkeypatch, drop_codes=("b7_pairs",))
    out = tmp_path / "out"
    assert main(["score", "--data", str(tmp_path), "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    assert list(s.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    assert len(s) == len(inst) and s["fixmedins_code"].is_unique
    assert sorted(s["fixmedins_code"]) == list(s["fixmedins_code"])
    assert set(s["tier"]) <= set("ABCD")
    assert not (set(s.columns) & PII) and "fixmedins_name" not in s.columns
    # duplicate_charging only had b7_pairs → all 0 now
    assert (s["duplicate_charging"] == 0).all()
    # credit D raises the tier of the first ten institutions by one (unless already D)
    first = s.set_index("fixmedins_code").loc[inst["fixmedins_code"][:10]]
    order = {t: i for i, t in enumerate("ABCD")}
    assert (first["tier"].map(order) == np.minimum(first["tier_score"].map(order) + 1, 3)).all()
    text = capsys.readouterr().out
    assert "跳过" in text and "b7_pairs" in text and "fee_list_d" in text
    assert "风险等级" in text and "随机种子：0" in text
    ev = pd.read_csv(out / "evidence.csv", dtype=str)
    assert ev.groupby(["fixmedins_code", "indicator_id"]).size().max() <= 20
    ind = pd.read_csv(out / "indicators.csv", dtype={"fixmedins_code": str})
    flagged = ind.loc[ind["excess"] > 0, ["fixmedins_code", "indicator_id"]]
    assert set(map(tuple, ev[["fixmedins_code", "indicator_id"]].to_numpy())) <= set(
        map(tuple, flagged.to_numpy())
    )
    assert {"rate", "shrunk_rate", "peer_norm", "indicator_zh"} <= set(ind.columns)
    meta = (out / "score_meta.json").read_text(encoding="utf-8")
    assert '"seed": 0' in meta and "b7_pairs" in meta


def test_score_is_deterministic_and_english(monkeypatch, tmp_path, capsys):
    _fake(monkeypatch)
    digests = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        assert (
            main(
                [
                    "score",
                    "--data",
                    str(tmp_path),
                    "--out",
                    str(out),
                    "--seed",
                    "5",
                    "--lang",
                    "en",
                    "--quiet",
                ]
            )
            == 0
        )
        digests.append(
            [
                hashlib.sha256((out / f).read_bytes()).hexdigest()
                for f in ("scores.csv", "evidence.csv", "indicators.csv", "score_meta.json")
            ]
        )
    assert digests[0] == digests[1]
    text = capsys.readouterr().out
    assert "Tiers (A low" in text and "seed=5" in text


def test_reference_period_is_recorded(monkeypatch, tmp_path, capsys):
    _fake(monkeypatch)
    ref = tmp_path / "ref"
    ref.mkdir()
    out = tmp_path / "o"
    assert (
        main(
            [
                "score",
                "--data",
                str(tmp_path),
                "--out",
                str(out),
                "--reference",
                str(ref),
                "--quiet",
            ]
        )
        == 0
    )
    meta = json.loads((out / "score_meta.json").read_text(encoding="utf-8"))
    assert meta["reference"] == str(ref)
    assert str(ref) in capsys.readouterr().out


def test_policy_tiers_are_used(monkeypatch, tmp_path):
    _fake(monkeypatch)
    pol = Path(score_cmd.__file__).parents[1] / "data" / "policies" / "floor10_2025.yaml"
    text = pol.read_text(encoding="utf-8").replace(
        "score_quantiles: {B: 0.50, C: 0.80, D: 0.95}", "score_quantiles: {B: 0.2, C: 0.4, D: 0.6}"
    )
    assert "B: 0.2" in text
    custom = tmp_path / "p.yaml"
    custom.write_text(text, encoding="utf-8")
    out = tmp_path / "o"
    assert (
        main(
            [
                "score",
                "--data",
                str(tmp_path),
                "--out",
                str(out),
                "--policy",
                str(custom),
                "--quiet",
            ]
        )
        == 0
    )
    s = pd.read_csv(out / "scores.csv", dtype=str)
    assert (s["tier_score"] == "D").mean() == pytest.approx(0.4, abs=0.03)


def test_missing_folder_is_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "riskscore.cli",
            "score",
            "--data",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "nope" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- real pipeline
def _has_synth() -> bool:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return "synth" in sub.choices


needs_synth = pytest.mark.skipif(not _has_synth(), reason="riskscore synth not available yet")


@pytest.fixture(scope="module")
def small_province(tmp_path_factory):
    if not _has_synth():
        pytest.skip("riskscore synth not available yet")
    d = tmp_path_factory.mktemp("prov") / "data"
    assert (
        main(["synth", "--out", str(d), "--institutions", "40", "--seed", "3", "--no-progress"])
        == 0
    )
    return d


@pytest.mark.slow
@needs_synth
def test_score_on_generated_province(small_province, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["score", "--data", str(small_province), "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    inst = pd.read_csv(small_province / "institutions.csv", dtype={"fixmedins_code": str})
    assert sorted(s["fixmedins_code"]) == sorted(inst["fixmedins_code"].astype(str))
    assert list(s.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    assert not (set(s.columns) & PII)
    assert s["risk_score"].between(0, 1).all()
    assert (s["expected_loss"] >= 0).all()


@pytest.mark.slow
@needs_synth
def test_without_fee_list_scoring_runs_and_names_skipped(small_province, tmp_path, capsys):
    d = tmp_path / "nofee"
    shutil.copytree(small_province, d)
    for f in d.glob("fee_list_d.*"):
        f.unlink()
    out = tmp_path / "out"
    assert main(["score", "--data", str(d), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "fee_list_d" in text and "跳过" in text
    meta = json.loads((out / "score_meta.json").read_text(encoding="utf-8"))
    skipped = {d["indicator_id"]: d["reason"] for d in meta["indicators_skipped"]}
    for ind in ("op_days_over_limit", "dc_b7_pairs", "ot_b8_frequency"):
        assert ind in skipped and "fee_list_d" in skipped[ind]
        assert ind in text
    assert meta["indicators_computed"]  # encounter-level indicators still ran
    assert "if_after_death" in meta["indicators_computed"]
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    assert len(s) == len(pd.read_csv(d / "institutions.csv"))
    assert s["risk_score"].notna().all()


# Spark-vs-DuckDB parity of `score`: tests/test_spark_cluster.py (a real standalone cluster)


# --------------------------------------------------------------------------- atomic outputs
def _plan(scores: Path, tmp_path: Path, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["plan", "--scores", str(scores), "--out", str(tmp_path / "plan_x")])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("point", [1, 2, 3, 4, 5])
def test_interrupted_score_leaves_a_set_plan_refuses(monkeypatch, tmp_path, capsys, point):
    """SIGINT (KeyboardInterrupt) at each write of `score`: plan refuses what is left."""
    import riskscore.outputs as outputs

    _fake(monkeypatch)
    out = tmp_path / "out"
    assert main(["score", "--data", str(tmp_path), "--out", str(out), "--quiet"]) == 0
    code, err = _plan(out / "scores.csv", tmp_path, capsys)
    assert code == 0, err  # the complete set is accepted
    _fake(monkeypatch, seed=12)  # a different province: a mixed set would look plausible
    real = outputs.atomic_write_bytes
    calls = {"n": 0}

    def interrupted(path, data):
        calls["n"] += 1
        if calls["n"] == point:  # 1 = "incomplete" marker, 2-4 = CSVs, 5 = completion record
            if point > 1:  # half a file on disk, as a killed writer leaves it
                Path(path).write_bytes(data[: len(data) // 2])
            raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(outputs, "atomic_write_bytes", interrupted)
    assert main(["score", "--data", str(tmp_path), "--out", str(out), "--quiet"]) == 130
    monkeypatch.setattr(outputs, "atomic_write_bytes", real)
    assert not (out / ".riskscore.lock").exists()
    code, err = _plan(out / "scores.csv", tmp_path, capsys)
    if point == 1:  # interrupted before anything changed: the old set is whole and accepted
        assert code == 0, err
        return
    assert code == 2 and len(err) == 1, err
    assert "scores.csv" in err[0] and "re-run" in err[0], err[0]


def test_mixed_set_is_refused(monkeypatch, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for i, o in enumerate((a, b)):
        _fake(monkeypatch, seed=11 + i)
        assert main(["score", "--data", str(tmp_path), "--out", str(o), "--quiet"]) == 0
    shutil.copyfile(b / "score_meta.json", a / "score_meta.json")
    (a / "scores.csv").write_bytes((a / "scores.csv").read_bytes()[:-200])  # truncated
    code, err = _plan(a / "scores.csv", tmp_path, capsys)
    assert code == 2 and len(err) == 1 and "SHA-256" in err[0]


CONCURRENT = r"""
import sys, time
sys.path.insert(0, {tests!r})
from types import SimpleNamespace
import test_score_cli as t
from riskscore.commands import score as sc
class MP:
    def setattr(self, obj, name, value):
        setattr(obj, name, value)
t._fake(MP())
slow = sc._indicators
def _indicators(*a, **k):
    time.sleep(3)
    return slow(*a, **k)
sc._indicators = _indicators
from riskscore.cli import main
sys.exit(main(["score", "--data", {data!r}, "--out", {out!r}, "--quiet"]))
"""


def test_two_concurrent_scores_into_one_folder(tmp_path):
    out = tmp_path / "out"
    script = CONCURRENT.format(tests=str(Path(__file__).parent), data=str(tmp_path), out=str(out))
    procs = []
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
        time.sleep(0.5)
    res = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    codes = sorted(c for c, _ in res)
    assert codes == [0, 2], res
    err = next(e for c, e in res if c == 2).strip().splitlines()
    assert len(err) == 1 and "another run is writing" in err[0]
    assert main(["plan", "--scores", str(out / "scores.csv"), "--out", str(tmp_path / "p")]) == 0


@pytest.mark.parametrize("case", ["file_as_out", "folder_as_scores", "missing_parent_file"])
def test_unusable_out_is_one_line_before_computation(monkeypatch, tmp_path, capsys, case):
    called = []
    monkeypatch.setattr(score_cmd, "_load", lambda d: called.append(1))
    f = tmp_path / "f"
    f.write_text("x", encoding="utf-8")
    out = {"file_as_out": f, "missing_parent_file": f / "sub" / "out"}.get(case)
    if case == "folder_as_scores":
        out = tmp_path / "o"
        (out / "scores.csv").mkdir(parents=True)
    assert main(["score", "--data", str(tmp_path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and not called
