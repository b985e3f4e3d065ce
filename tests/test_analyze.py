"""``riskscore analyze``: estimates table, set-aside accounting, other tables, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskscore.analyze import analyze
from riskscore.cli import main
from riskscore.errors import RiskscoreError
from riskscore.estimate import check_frame, hajek_rate, sample_from_frame
from test_inspect_sim import make_province


@pytest.fixture()
def cycle(tmp_path):
    data, scores, draw = make_province(tmp_path)
    res = tmp_path / "res"
    assert (
        main(
            [
                "inspect-sim",
                "--draw",
                str(draw),
                "--data",
                str(data),
                "--out",
                str(res),
                "--seed",
                "4",
                "--complaints",
                "15",
            ]
        )
        == 0
    )
    return tmp_path, data, scores, draw, res / "results.csv"


def _est(out):
    return pd.read_csv(out / "estimates.csv").set_index(["scope", "measure"])


def test_analyze_cli_writes_all_tables(cycle, capsys):
    root, data, scores, draw, results = cycle
    out = root / "out"
    capsys.readouterr()
    assert (
        main(
            [
                "analyze",
                "--draw",
                str(draw),
                "--results",
                str(results),
                "--out",
                str(out),
                "--scores",
                str(scores),
                "--data",
                str(data),
                "--as-of",
                "2025-12-31",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "违规率估计" in text and "不纳入估计" in text and "15" in text
    est = pd.read_csv(out / "estimates.csv")
    assert list(est.columns[:5]) == ["scope", "measure", "estimate", "ci_low", "ci_high"]
    e = est.set_index(["scope", "measure"])
    for key in [
        ("overall", "violation_rate"),
        ("overall", "naive_hit_rate"),
        ("overall", "improper_amount_total"),
        ("overall", "lift_vs_uniform"),
        ("overall", "recovered_total"),
        ("overall", "excluded_non_draw"),
        ("origin:complaint", "excluded_non_draw"),
        ("tier:D", "violation_rate"),
    ]:
        assert key in e.index, key
    assert e.loc[("overall", "excluded_non_draw"), "estimate"] == 15
    vr = e.loc[("overall", "violation_rate")]
    assert vr["ci_low"] <= vr["estimate"] <= vr["ci_high"]
    # the targeted draw's inspected-only rate exceeds the design-based estimate
    assert e.loc[("overall", "naive_hit_rate"), "estimate"] > vr["estimate"]

    def _no_nan(c):
        raise AssertionError(f"analysis.json holds {c}")

    summary = json.loads(
        (out / "analysis.json").read_text(encoding="utf-8"), parse_constant=_no_nan
    )
    assert summary["accounting"]["excluded_non_draw"] == 15
    for f in [
        "hit_rate_by_tier.csv",
        "indicator_precision.csv",
        "calibration.csv",
        "rectification_tracker.csv",
        "next_year_credit.csv",
        "analysis.json",
    ]:
        assert (out / f).exists(), f
    prec = pd.read_csv(out / "indicator_precision.csv").set_index("name")
    # the informative family beats the noise family
    assert prec.loc["over_prescription", "precision_ipw"] > prec.loc["zero_markup", "precision_ipw"]
    cal = pd.read_csv(out / "calibration.csv")
    assert len(cal) == 10 and cal["N"].sum() == 600
    credit = pd.read_csv(out / "next_year_credit.csv")
    assert set(credit["rating"]) <= set("ABCD") and len(credit) == 600
    tiers = pd.read_csv(out / "hit_rate_by_tier.csv")
    assert tiers["findings"].sum() == e.loc[("overall", "findings"), "estimate"]


def test_estimates_match_estimator_and_ignore_non_draw_rows(cycle):
    """Done-when (c): complaint inspections never change the estimates; they are counted."""
    root, data, scores, draw, results = cycle
    res = pd.read_csv(results, dtype=str)
    analyze(draw, results, root / "a", as_of=pd.Timestamp("2025-12-31").date())
    a = _est(root / "a")
    # direct computation from draw rows only
    frame = check_frame(pd.read_csv(draw / "frame.csv", dtype=str))
    d = res[res["origin"] == "draw"]
    s = sample_from_frame(frame, d["fixmedins_code"])
    direct = hajek_rate(s, d["violation_found"].astype(int).to_numpy())
    assert a.loc[("overall", "violation_rate"), "estimate"] == pytest.approx(direct.estimate)
    # turn every complaint into a violation with a huge amount, add special checks: the
    # estimates do not move, the set-aside count does
    res2 = res.copy()
    c = res2["origin"] == "complaint"
    res2.loc[c, "violation_found"] = "1"
    res2.loc[c, "improper_amount"] = "99999999"
    extra = res2[c].head(5).assign(origin="special", result_id=lambda x: "S" + x["result_id"])
    res2 = pd.concat([res2, extra])
    res2.to_csv(root / "res2.csv", index=False)
    analyze(draw, root / "res2.csv", root / "b", as_of=pd.Timestamp("2025-12-31").date())
    b = _est(root / "b")
    for m in ["violation_rate", "improper_amount_total", "naive_hit_rate", "lift_vs_uniform"]:
        assert b.loc[("overall", m), "estimate"] == pytest.approx(a.loc[("overall", m), "estimate"])
    assert b.loc[("overall", "excluded_non_draw"), "estimate"] == 20
    assert b.loc[("origin:special", "excluded_non_draw"), "estimate"] == 5


def test_draw_rows_not_in_frame_and_missing_results_are_reported(cycle):
    root, data, scores, draw, results = cycle
    res = pd.read_csv(results, dtype=str)
    d = res[res["origin"] == "draw"]
    bogus = d.head(2).assign(
        fixmedins_code=["ZZ1", "ZZ2"], result_id=lambda x: "X" + x["result_id"]
    )
    # drop one drawn institution's result (not yet inspected)
    res2 = pd.concat([res.drop(index=d.index[-1]), bogus])
    res2.to_csv(root / "r.csv", index=False)
    summary = analyze(draw, root / "r.csv", root / "o", as_of=pd.Timestamp("2025-12-31").date())
    e = summary["estimates"].set_index(["scope", "measure"])
    assert e.loc[("overall", "excluded_draw_not_selected"), "estimate"] == 2
    assert e.loc[("overall", "drawn_without_result"), "estimate"] == 1
    assert "without a result" in e.loc[("overall", "violation_rate"), "note"]


def test_invalid_rows_are_counted_not_used(cycle):
    root, data, scores, draw, results = cycle
    res = pd.read_csv(results, dtype=str)
    res.loc[res.index[0], "origin"] = "rumour"  # not an allowed origin code
    res.to_csv(root / "r.csv", index=False)
    summary = analyze(draw, root / "r.csv", root / "o", as_of=pd.Timestamp("2025-12-31").date())
    e = summary["estimates"].set_index(["scope", "measure"])
    assert e.loc[("overall", "excluded_invalid_rows"), "estimate"] == 1
    assert "not_allowed:origin" in e.loc[("overall", "excluded_invalid_rows"), "note"]


def test_multi_round_frame_combines_rounds(tmp_path):
    rng = np.random.default_rng(0)
    rows, results = [], []
    codes = [f"M{i:04d}" for i in range(400)]
    tiers = np.where(np.arange(400) < 300, "low", "high")
    y = (rng.random(400) < np.where(tiers == "low", 0.1, 0.4)).astype(int)
    for r in ("1", "2"):
        for t, n in (("low", 30), ("high", 30)):
            idx = np.flatnonzero(tiers == t)
            pick = set(rng.choice(idx, n, replace=False).tolist())
            for i in idx:
                rows.append(
                    {
                        "fixmedins_code": codes[i],
                        "tier": t,
                        "stratum": t,
                        "N_h": len(idx),
                        "n_h": n,
                        "pi": n / len(idx),
                        "selected": int(i in pick),
                        "round": r,
                    }
                )
                if i in pick:
                    results.append(
                        {
                            "result_id": f"{r}-{i}",
                            "fixmedins_code": codes[i],
                            "origin": "draw",
                            "draw_round": r,
                            "inspect_date": "2025-06-01",
                            "violation_found": y[i],
                            "improper_amount": 1000.0 * y[i],
                        }
                    )
    (tmp_path / "draw").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "draw" / "frame.csv", index=False)
    pd.DataFrame(results).to_csv(tmp_path / "r.csv", index=False)
    s = analyze(
        tmp_path / "draw",
        tmp_path / "r.csv",
        tmp_path / "o",
        as_of=pd.Timestamp("2025-12-31").date(),
    )
    e = s["estimates"].set_index(["scope", "measure"])
    r1 = e.loc[("round:1", "violation_rate"), "estimate"]
    r2 = e.loc[("round:2", "violation_rate"), "estimate"]
    assert e.loc[("overall", "violation_rate"), "estimate"] == pytest.approx((r1 + r2) / 2)
    assert "combined over 2 rounds" in e.loc[("overall", "violation_rate"), "note"]
    assert e.loc[("overall", "findings"), "estimate"] == sum(r["violation_found"] for r in results)
    # the same year as two draw folders (one per round, as `riskscore draw` writes them)
    fr = pd.DataFrame(rows)
    dirs = []
    for r in ("1", "2"):
        d = tmp_path / f"draw{r}"
        d.mkdir()
        fr[fr["round"] == r].to_csv(d / "frame.csv", index=False)
        dirs.append(str(d))
    assert (
        main(
            [
                "analyze",
                "--draw",
                *dirs,
                "--results",
                str(tmp_path / "r.csv"),
                "--out",
                str(tmp_path / "o2"),
                "--as-of",
                "2025-12-31",
                "--lang",
                "en",
            ]
        )
        == 0
    )
    e2 = pd.read_csv(tmp_path / "o2" / "estimates.csv").set_index(["scope", "measure"])
    assert e2.loc[("overall", "violation_rate"), "estimate"] == pytest.approx(
        e.loc[("overall", "violation_rate"), "estimate"]
    )
    one = analyze(
        [dirs[1]],
        tmp_path / "r.csv",
        tmp_path / "o3",
        round_=None,
        as_of=pd.Timestamp("2025-12-31").date(),
    )["estimates"]
    one = one.set_index(["scope", "measure"])
    assert one.loc[("overall", "violation_rate"), "estimate"] == pytest.approx(r2)
    # round 1's rows are not selected in round 2's frame: set aside, and said so
    assert one.loc[("overall", "excluded_draw_not_selected"), "estimate"] > 0


def test_analyze_errors_are_one_line(tmp_path, capsys):
    data, scores, draw = make_province(tmp_path)
    assert (
        main(
            [
                "analyze",
                "--draw",
                str(draw),
                "--results",
                str(tmp_path / "none.csv"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "none.csv" in err and "Traceback" not in err
    pd.DataFrame(
        {
            "result_id": ["1"],
            "fixmedins_code": ["P00001"],
            "origin": ["draw"],
            "inspect_date": ["2025-01-01"],
            "violation_found": [1],
        }
    ).to_csv(tmp_path / "r.csv", index=False)
    assert (
        main(
            [
                "analyze",
                "--draw",
                str(draw),
                "--results",
                str(tmp_path / "r.csv"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "improper_amount" in capsys.readouterr().err


@pytest.mark.slow
def test_full_cycle_on_synthetic_province(tmp_path):
    """synth → score → plan → draw → inspect-sim → analyze on a small synthetic province."""
    data, score, plan, draw = (tmp_path / x for x in ("data", "score", "plan", "draw"))
    assert (
        main(["synth", "--out", str(data), "--institutions", "60", "--seed", "3", "--no-progress"])
        == 0
    )
    assert main(["score", "--data", str(data), "--out", str(score)]) == 0
    assert (
        main(
            ["plan", "--scores", str(score / "scores.csv"), "--data", str(data), "--out", str(plan)]
        )
        == 0
    )
    assert (
        main(["draw", "--plan", str(plan), "--randomness", "test 01 02 03", "--out", str(draw)])
        == 0
    )
    assert (
        main(
            [
                "inspect-sim",
                "--draw",
                str(draw),
                "--data",
                str(data),
                "--out",
                str(tmp_path / "res"),
                "--complaints",
                "4",
            ]
        )
        == 0
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                "--draw",
                str(draw),
                "--results",
                str(tmp_path / "res" / "results.csv"),
                "--scores",
                str(score / "scores.csv"),
                "--data",
                str(data),
                "--out",
                str(out),
                "--as-of",
                "2025-12-31",
            ]
        )
        == 0
    )
    e = pd.read_csv(out / "estimates.csv").set_index(["scope", "measure"])
    assert e.loc[("overall", "excluded_non_draw"), "estimate"] == 4
    assert e.loc[("overall", "excluded_draw_not_selected"), "estimate"] == 0
    assert 0 <= e.loc[("overall", "violation_rate"), "estimate"] <= 1
    frame = pd.read_csv(draw / "frame.csv")
    assert e.loc[("overall", "population_size"), "estimate"] == len(frame)
    assert len(pd.read_csv(out / "next_year_credit.csv")) == len(frame)


def test_results_may_name_the_round(cycle):
    """Results that record the round by its name (上半年) match the draw's round."""
    root, data, scores, draw, results = cycle
    (draw / "manifest.json").write_text(
        '{"round": {"index": 1, "name": "上半年"}}', encoding="utf-8"
    )
    res = pd.read_csv(results, dtype=str)
    res.loc[res["origin"] == "draw", "draw_round"] = "上半年"
    res.to_csv(root / "named.csv", index=False)
    a = analyze(draw, results, root / "a", as_of=pd.Timestamp("2025-12-31").date())
    b = analyze(draw, root / "named.csv", root / "b", as_of=pd.Timestamp("2025-12-31").date())
    ea = a["estimates"].set_index(["scope", "measure"])
    eb = b["estimates"].set_index(["scope", "measure"])
    assert eb.loc[("overall", "excluded_draw_not_selected"), "estimate"] == 0
    assert eb.loc[("overall", "violation_rate"), "estimate"] == pytest.approx(
        ea.loc[("overall", "violation_rate"), "estimate"]
    )
    # a round the draw does not know is set aside, and counted
    res.loc[res["origin"] == "draw", "draw_round"] = "下半年"
    res.to_csv(root / "other.csv", index=False)
    with pytest.raises(RiskscoreError, match="nothing to estimate"):
        analyze(draw, root / "other.csv", root / "c", as_of=pd.Timestamp("2025-12-31").date())
