"""A small, seeded world of riskscore outputs for the report tests.

Writes a data folder (contract tables, with personal data in psn_info_b / mdtrt_d /
inspectors) and the folders the other commands write (score, plan, draw, results,
analysis) in their documented formats. Everything comes from ``default_rng(seed)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.contract import FAMILIES
from riskscore.tracking import TRACKER_COLUMNS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
TIERS = ("A", "B", "C", "D")
RATES = {"A": 0.04, "B": 0.10, "C": 0.20, "D": 0.40}


def _name(rng) -> str:
    return rng.choice(list(SURNAMES)) + "".join(rng.choice(list(GIVEN), size=2))


def _certno(rng) -> str:
    body = f"{rng.integers(110000, 659999)}{rng.integers(1950, 2010)}"
    body += f"{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}{rng.integers(0, 999):03d}"
    return body + str(rng.choice(list("0123456789X")))


def _mobile(rng) -> str:
    return f"1{rng.choice([3, 5, 7, 8, 9])}{rng.integers(0, 10**9):09d}"


def make_world(root: Path, seed: int = 11, n_inst: int = 60) -> dict[str, Path]:
    """Create the fixture folders under ``root``; returns name → folder.

    Layout matches the templates' default parameters: ``root/data_samples`` and
    ``root/out/{score,plan,draw,results,analysis}``.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    dirs = {
        "data_dir": root / "data_samples",
        "score_dir": root / "out" / "score",
        "plan_dir": root / "out" / "plan",
        "draw_dir": root / "out" / "draw",
        "results_dir": root / "out" / "results",
        "analysis_dir": root / "out" / "analysis",
    }
    for p in dirs.values():
        p.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ registry
    codes = [f"H{i:04d}" for i in range(1, n_inst + 1)]
    types = rng.choice(["hospital", "clinic", "pharmacy"], size=n_inst, p=[0.4, 0.3, 0.3])
    lv = [str(rng.choice(["3", "2", "1"])) if t == "hospital" else "0" for t in types]
    regions = rng.choice(["410102", "410103", "410104", "410105"], size=n_inst)
    inst = pd.DataFrame(
        {
            "fixmedins_code": codes,
            "fixmedins_name": [
                f"测试{'医院' if t == 'hospital' else '诊所' if t == 'clinic' else '药店'}{i}号"
                for i, t in enumerate(types, start=1)
            ],
            "medins_type": types,
            "hosp_lv": lv,
            "ownership": rng.choice(["public", "private"], size=n_inst),
            "region": regions,
            "status": "active",
        }
    )
    inst.to_csv(dirs["data_dir"] / "institutions.csv", index=False)

    # ------------------------------------------------------------------ persons and claims (PII)
    n_psn = 80
    psn = pd.DataFrame(
        {
            "psn_no": [f"P{i:06d}" for i in range(n_psn)],
            "gend": rng.choice(["1", "2"], size=n_psn),
            "brdy": [
                f"{rng.integers(1940, 2015)}-{rng.integers(1, 13):02d}-{rng.integers(1, 28):02d}"
                for _ in range(n_psn)
            ],
            "certno": [_certno(rng) for _ in range(n_psn)],
            "psn_name": [_name(rng) for _ in range(n_psn)],
            "tel": [_mobile(rng) for _ in range(n_psn)],
            "addr": [f"某市某区{rng.integers(1, 99)}号" for _ in range(n_psn)],
        }
    )
    psn.to_csv(dirs["data_dir"] / "psn_info_b.csv", index=False)
    n_md = 600
    who = rng.integers(0, n_psn, size=n_md)
    start = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 330, size=n_md), unit="D")
    md = pd.DataFrame(
        {
            "mdtrt_id": [f"M{i:07d}" for i in range(n_md)],
            "psn_no": psn["psn_no"].to_numpy()[who],
            "fixmedins_code": rng.choice(codes, size=n_md),
            "med_type": rng.choice(["11", "21", "41"], size=n_md),
            "begntime": start.strftime("%Y-%m-%d 09:00:00"),
            "endtime": (start + pd.Timedelta(days=1)).strftime("%Y-%m-%d 10:00:00"),
            "psn_name": psn["psn_name"].to_numpy()[who],
            "certno": psn["certno"].to_numpy()[who],
            "tel": psn["tel"].to_numpy()[who],
        }
    )
    md.to_csv(dirs["data_dir"] / "mdtrt_d.csv", index=False)
    n_fee = 1500
    pick = rng.integers(0, n_md, size=n_fee)
    cnt = rng.integers(1, 5, size=n_fee).astype(float)
    pric = np.round(rng.uniform(5, 400, size=n_fee), 2)
    fee = pd.DataFrame(
        {
            "bkkp_sn": [f"F{i:08d}" for i in range(n_fee)],
            "mdtrt_id": md["mdtrt_id"].to_numpy()[pick],
            "psn_no": md["psn_no"].to_numpy()[pick],
            "fixmedins_code": md["fixmedins_code"].to_numpy()[pick],
            "fee_ocur_time": md["begntime"].to_numpy()[pick],
            "med_chrgitm_type": rng.choice(["03", "04", "09", "11"], size=n_fee),
            "hilist_code": rng.choice(["X01", "X02", "X03", "Z10"], size=n_fee),
            "hilist_name": rng.choice(
                ["阿莫西林胶囊", "血常规", "CT检查", "复方丹参滴丸"], size=n_fee
            ),
            "medins_list_codg": "L1",
            "cnt": cnt,
            "pric": pric,
            "det_item_fee_sumamt": np.round(cnt * pric, 2),
        }
    )
    fee.to_csv(dirs["data_dir"] / "fee_list_d.csv", index=False)

    n_ins = 14
    inspectors = pd.DataFrame(
        {
            "inspector_id": [f"I{i:03d}" for i in range(n_ins)],
            "inspector_name": [_name(rng) for _ in range(n_ins)],
            "unit": rng.choice(["U01", "U02"], size=n_ins),
            "cert_no": [f"ZF{i:05d}" for i in range(n_ins)],
            "cert_valid_until": "2027-12-31",
            "status": "active",
        }
    )
    inspectors.to_csv(dirs["data_dir"] / "inspectors.csv", index=False)
    items = pd.DataFrame(
        {
            "item_id": ["000-01", "000-03", "000-07"],
            "item_name": ["医疗保障监督检查", "医疗服务行为和医疗费用监督管理", "集中采购合规性"],
            "target_type": "定点医药机构",
            "content": ["遵守协议情况", "医疗服务行为和医疗费用", "集中采购行为"],
            "item_class": ["general", "key", "key"],
            "method": "现场检查",
            "inspecting_body": "市医疗保障局",
            "legal_basis": "《医疗保障基金使用监督管理条例》",
        }
    )
    items.to_csv(dirs["data_dir"] / "inspection_items.csv", index=False)

    # ------------------------------------------------------------------ scores
    risk = np.round(rng.beta(2, 5, size=n_inst), 6)
    q = np.quantile(risk, [0.5, 0.8, 0.95])
    tier = np.array(["A"] * n_inst, dtype=object)
    for t, cut in zip(("B", "C", "D"), q, strict=True):
        tier[risk > cut] = t
    fund = np.round(rng.uniform(2e5, 5e6, size=n_inst), 2)
    scores = pd.DataFrame(
        {
            "fixmedins_code": codes,
            "risk_score": risk,
            "tier": tier,
            "expected_loss": np.round(risk * fund, 2),
        }
    )
    for f in FAMILIES:
        scores[f] = np.round(rng.uniform(0, 1, size=n_inst) * risk, 6)
    scores["iforest_score"] = np.round(rng.uniform(0.3, 0.7, size=n_inst), 6)
    scores["top_reasons_zh"] = "检查费用占比高于同类"
    scores["top_reasons_en"] = "test share above peers"
    scores["fund_paid"] = fund
    scores["medins_type"] = types
    scores["hosp_lv"] = lv
    scores["region"] = regions
    scores["peer_group"] = [f"{a}|{b}" for a, b in zip(types, lv, strict=True)]
    scores.to_csv(dirs["score_dir"] / "scores.csv", index=False)
    ind_rows = []
    for c, pg in zip(codes, scores["peer_group"], strict=True):
        for k, fam in enumerate(("over_testing", "duplicate_charging", "over_prescription")):
            den = int(rng.integers(20, 400))
            num_ = int(rng.binomial(den, 0.05 + 0.05 * k))
            ind_rows.append(
                {
                    "fixmedins_code": c,
                    "indicator_id": f"ind_{fam}",
                    "family": fam,
                    "peer_group": pg,
                    "numerator": num_,
                    "denominator": den,
                    "rate": num_ / den,
                    "shrunk_rate": (num_ + 2) / (den + 30),
                }
            )
    pd.DataFrame(ind_rows).to_csv(dirs["score_dir"] / "indicators.csv", index=False)
    ev_rows = []
    for c in scores.sort_values("risk_score", ascending=False)["fixmedins_code"][:10]:
        f_ids = fee.loc[fee["fixmedins_code"] == c, "bkkp_sn"].tolist()[:8]
        m_ids = md.loc[md["fixmedins_code"] == c, "mdtrt_id"].tolist()[:4]
        ev_rows += [
            {
                "fixmedins_code": c,
                "indicator_id": "ind_over_testing",
                "family": "over_testing",
                "record_table": "fee_list_d",
                "record_id": r,
            }
            for r in f_ids
        ]
        ev_rows += [
            {
                "fixmedins_code": c,
                "indicator_id": "ind_duplicate_charging",
                "family": "duplicate_charging",
                "record_table": "mdtrt_d",
                "record_id": r,
            }
            for r in m_ids
        ]
    pd.DataFrame(ev_rows).to_csv(dirs["score_dir"] / "evidence.csv", index=False)

    # ------------------------------------------------------------------ plan
    sizes = {t: int((tier == t).sum()) for t in TIERS}
    n_h = {t: max(1, int(np.floor(RATES[t] * sizes[t] + 0.5))) if sizes[t] else 0 for t in TIERS}
    total = sum(n_h.values())
    floor_n = int(np.ceil(0.10 * n_inst))
    inc = scores[["fixmedins_code", "tier", "risk_score", "expected_loss"]].copy()
    inc["in_frame"] = 1
    inc["N_h"] = inc["tier"].map(sizes)
    inc["n_h"] = inc["tier"].map(n_h)
    inc["expected_inspections"] = inc["n_h"] / inc["N_h"]
    inc["pi"] = inc["expected_inspections"]
    inc["exclusion_reason"] = ""
    inc.to_csv(dirs["plan_dir"] / "inclusion.csv", index=False)
    q_ = inc["risk_score"].to_numpy()
    e = inc["expected_inspections"].to_numpy()
    el = inc["expected_loss"].to_numpy()
    plan = {
        "format": "riskscore-plan/1",
        "policy": {"policy_id": "floor10_2025", "title": "测试政策", "file": "policy.yaml"},
        "year": 2025,
        "deadline": "2025-12-31",
        "rounds": [
            {
                "name": "上半年",
                "share": 0.5,
                "start": "2025-04-01",
                "end": "2025-06-30",
                "index": 1,
                "inspections": total // 2,
            },
            {
                "name": "下半年",
                "share": 0.5,
                "start": "2025-07-01",
                "end": "2025-11-30",
                "index": 2,
                "inspections": total - total // 2,
            },
        ],
        "frame": {"institutions": n_inst, "excluded": 0},
        "strata": {
            t: {"N_h": sizes[t], "n_h": n_h[t], "pi_annual": n_h[t] / sizes[t] if sizes[t] else 0.0}
            for t in TIERS
        },
        "annual_cap": 2,
        "floor": {
            "overall_floor": 0.10,
            "required_inspections": floor_n,
            "planned_inspections": total,
            "planned_ratio": total / n_inst,
            "scaled_by": 1.0,
            "met": total >= floor_n,
        },
        "capacity": {
            "checked": True,
            "rounds": [
                {
                    "round": "上半年",
                    "inspections": total // 2,
                    "qualified_inspectors": n_ins,
                    "seats_needed": 2 * (total // 2),
                    "seats_available": 4 * n_ins,
                },
                {
                    "round": "下半年",
                    "inspections": total - total // 2,
                    "qualified_inspectors": n_ins,
                    "seats_needed": 2 * (total - total // 2),
                    "seats_available": 4 * n_ins,
                },
            ],
            "inspector_days_needed": 2.0 * total,
            "inspector_days_available": 20.0 * n_ins,
        },
        "expected_findings": {
            "proxy": "risk_score (all in [0, 1])",
            "inspections": total,
            "expected_findings_targeted": float((e * q_).sum()),
            "expected_findings_uniform": float(total / n_inst * q_.sum()),
            "lift": float((e * q_).sum() / (total / n_inst * q_.sum())),
            "expected_loss_covered_targeted": float((e * el).sum()),
            "expected_loss_covered_uniform": float(total / n_inst * el.sum()),
        },
        "team_size": 2,
    }
    (dirs["plan_dir"] / "plan.json").write_text(
        json.dumps(plan, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    from riskscore.policy import default_policy_path

    (dirs["plan_dir"] / "policy.yaml").write_bytes(default_policy_path().read_bytes())

    # ------------------------------------------------------------------ draw
    selected = []
    for t in TIERS:
        members = sorted(inc.loc[inc["tier"] == t, "fixmedins_code"])
        if n_h[t]:
            selected += list(rng.choice(members, size=n_h[t], replace=False))
    frame = inc[["fixmedins_code", "tier"]].copy()
    frame["stratum"] = frame["tier"]
    frame["N_h"] = inc["N_h"]
    frame["n_h"] = inc["n_h"]
    frame["pi"] = inc["pi"]
    frame["selected"] = frame["fixmedins_code"].isin(selected).astype(int)
    frame.to_csv(dirs["draw_dir"] / "frame.csv", index=False)
    targets = frame[frame["selected"] == 1][["fixmedins_code", "tier", "pi"]].copy()
    targets["round"] = 1
    targets["team_id"] = [f"T{i:02d}" for i in range(len(targets))]
    targets.to_csv(dirs["draw_dir"] / "targets.csv", index=False)
    asg = []
    for _, r in targets.iterrows():
        for s, iid in enumerate(rng.choice(inspectors["inspector_id"], size=2, replace=False), 1):
            asg.append(
                {
                    "fixmedins_code": r["fixmedins_code"],
                    "round": 1,
                    "team_id": r["team_id"],
                    "seat": s,
                    "role": "leader" if s == 1 else "member",
                    "inspector_id": iid,
                    "unit": inspectors.set_index("inspector_id").loc[iid, "unit"],
                }
            )
    pd.DataFrame(asg).to_csv(dirs["draw_dir"] / "assignments.csv", index=False)
    (dirs["draw_dir"] / "manifest.json").write_text(json.dumps({"year": 2025}), encoding="utf-8")

    # ------------------------------------------------------------------ results
    res = []
    inspected = sorted(selected)[:-1]  # one drawn institution not inspected yet
    fams = list(FAMILIES)
    for i, c in enumerate(inspected):
        found = int(rng.random() < 0.5)
        amt = float(np.round(rng.uniform(1e3, 5e4), 2)) if found else 0.0
        res.append(
            {
                "result_id": f"R{i:04d}",
                "fixmedins_code": c,
                "item_id": "000-03",
                "origin": "draw",
                "draw_round": "1",
                "inspect_date": "2025-06-10",
                "violation_found": found,
                "violation_types": ";".join(rng.choice(fams, size=2, replace=False))
                if found
                else "",
                "improper_amount": amt,
                "recovered_amount": round(amt * 0.8, 2),
                "penalty_amount": round(amt * 1.0, 2) if found else 0.0,
                "rectify_deadline": "2025-07-10" if found else "",
                "rectify_done_date": "2025-07-01" if found and i % 2 else "",
                "followup_date": "",
                "referral_to": "公安机关" if found and i == 0 else "",
            }
        )
    others = [c for c in codes if c not in selected][:2]
    for j, c in enumerate(others):
        res.append(
            {
                "result_id": f"C{j:04d}",
                "fixmedins_code": c,
                "item_id": "000-01",
                "origin": "complaint",
                "draw_round": "",
                "inspect_date": "2025-05-01",
                "violation_found": 1,
                "violation_types": "identity_fraud",
                "improper_amount": 8000.0,
                "recovered_amount": 8000.0,
                "penalty_amount": 8000.0,
                "rectify_deadline": "2025-06-01",
                "rectify_done_date": "2025-05-20",
                "followup_date": "",
                "referral_to": "",
            }
        )
    results = pd.DataFrame(res)
    results.to_csv(dirs["results_dir"] / "results.csv", index=False)

    # ------------------------------------------------------------------ analysis (formats of riskscore analyze)
    draw_res = results[results["origin"] == "draw"]
    y = draw_res["violation_found"].to_numpy(float)
    w = 1 / frame.set_index("fixmedins_code").loc[draw_res["fixmedins_code"], "pi"].to_numpy()
    rate = float((w * y).sum() / w.sum())
    naive = float(y.mean())
    est = [
        ("overall", "violation_rate", rate, max(0, rate - 0.2), min(1, rate + 0.2)),
        ("overall", "violation_rate_ht", rate * 0.98, max(0, rate - 0.25), min(1, rate + 0.25)),
        ("overall", "naive_hit_rate", naive, max(0, naive - 0.2), min(1, naive + 0.2)),
        (
            "overall",
            "improper_amount_total",
            float((w * draw_res["improper_amount"]).sum()),
            0.0,
            float((w * draw_res["improper_amount"]).sum()) * 2,
        ),
        (
            "overall",
            "violating_institutions_total",
            float((w * y).sum()),
            1.0,
            float((w * y).sum()) * 2,
        ),
        ("overall", "lift_vs_uniform", naive / rate if rate else np.nan, 0.8, 2.5),
        ("overall", "findings", float(y.sum()), np.nan, np.nan),
        ("overall", "recovered_total", float(results["recovered_amount"].sum()), np.nan, np.nan),
        ("overall", "penalty_total", float(results["penalty_amount"].sum()), np.nan, np.nan),
    ]
    for t in TIERS:
        est.append(
            (
                f"tier:{t}",
                "violation_rate",
                0.1 * (TIERS.index(t) + 1),
                0.0,
                0.2 * (TIERS.index(t) + 1),
            )
        )
    pd.DataFrame(est, columns=["scope", "measure", "estimate", "ci_low", "ci_high"]).assign(
        se=np.nan, n=len(draw_res), note=""
    ).to_csv(dirs["analysis_dir"] / "estimates.csv", index=False)
    tiers_rows = []
    for t in TIERS:
        part = frame[frame["tier"] == t]
        ins = draw_res[draw_res["fixmedins_code"].isin(part["fixmedins_code"])]
        tiers_rows.append(
            {
                "tier": t,
                "N": len(part),
                "n_drawn": int(part["selected"].sum()),
                "n_inspected": len(ins),
                "findings": int(ins["violation_found"].sum()),
                "hit_rate": float(ins["violation_found"].mean()) if len(ins) else np.nan,
                "violation_rate_est": 0.1 * (TIERS.index(t) + 1),
                "ci_low": 0.0,
                "ci_high": 0.2 * (TIERS.index(t) + 1),
                "improper_amount_found": float(ins["improper_amount"].sum()),
                "pi": float(part["pi"].mean()) if len(part) else np.nan,
            }
        )
    pd.DataFrame(tiers_rows).to_csv(dirs["analysis_dir"] / "hit_rate_by_tier.csv", index=False)
    pd.DataFrame(
        [
            {
                "kind": "family",
                "name": f,
                "flag_rule": "top 20% of frame",
                "n_flagged_inspected": 3,
                "hits_flagged": 2,
                "precision_naive": 0.67,
                "precision_ipw": 0.5,
                "ci_low": 0.1,
                "ci_high": 0.9,
                "recall_ipw": 0.3,
                "lift_over_base": 1.4,
            }
            for f in ("over_testing", "duplicate_charging")
        ]
        + [
            {
                "kind": "indicator",
                "name": "ind_over_testing",
                "flag_rule": "top 20% of frame",
                "n_flagged_inspected": 2,
                "hits_flagged": 1,
                "precision_naive": 0.5,
                "precision_ipw": 0.4,
                "ci_low": 0.0,
                "ci_high": 0.9,
                "recall_ipw": 0.2,
                "lift_over_base": 1.1,
            }
        ]
    ).to_csv(dirs["analysis_dir"] / "indicator_precision.csv", index=False)
    pd.DataFrame(
        [
            {
                "decile": k,
                "score_min": k / 10,
                "score_max": (k + 1) / 10,
                "mean_risk_score": k / 10 + 0.05,
                "N": 6,
                "n_inspected": 1,
                "findings": k % 2,
                "naive_rate": float(k % 2),
                "observed_rate_ipw": min(1.0, k / 10 + 0.05),
                "ci_low": max(0.0, k / 10 - 0.1),
                "ci_high": min(1.0, k / 10 + 0.2),
            }
            for k in range(1, 6)
        ]
    ).to_csv(dirs["analysis_dir"] / "calibration.csv", index=False)
    tr = results[results["violation_found"] == 1].copy()
    tr["rectify_status"] = np.where(
        tr["rectify_done_date"].astype(str).str.len() > 4, "done_on_time", "overdue"
    )
    tr["days_overdue"] = np.where(tr["rectify_status"] == "overdue", 30, 0)
    tr["followup_status"] = ""
    tr["as_of"] = "2025-08-09"
    tr[TRACKER_COLUMNS].to_csv(dirs["analysis_dir"] / "rectification_tracker.csv", index=False)
    nxt = pd.DataFrame({"fixmedins_code": codes})
    found = set(draw_res.loc[draw_res["violation_found"] == 1, "fixmedins_code"])
    clean = set(draw_res["fixmedins_code"]) - found
    nxt["rating"] = ["C" if c in found else "A" if c in clean else "B" for c in codes]
    nxt["rule"] = "fixture"
    nxt.to_csv(dirs["analysis_dir"] / "next_year_credit.csv", index=False)
    return dirs


# ---------------------------------------------------------------------- reading rendered reports
def soup(path_or_html):
    from bs4 import BeautifulSoup

    text = path_or_html
    if isinstance(path_or_html, Path):
        text = path_or_html.read_text(encoding="utf-8")
    return BeautifulSoup(text, "html.parser")


def key_value(doc, key: str, name: str) -> str:
    """Raw ``data-value`` of key figure ``name`` in the key-figure box ``key``."""
    table = doc.find("table", attrs={"data-key": key})
    assert table is not None, f"no key-figure table {key}"
    row = table.find("tr", attrs={"data-name": name})
    assert row is not None, f"no key figure {name} in {key}"
    return row.find("td")["data-value"]


def table_rows(doc, key: str) -> list[dict[str, str]]:
    """Rows of the table with ``data-key=key`` as header text → cell text."""
    table = doc.find("table", attrs={"data-key": key})
    assert table is not None, f"no table {key}"
    head = (
        [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
        if table.find("thead")
        else [th.get_text(strip=True) for th in table.find("tr").find_all("th")]
    )
    rows = []
    body = table.find("tbody") or table
    for tr in body.find_all("tr"):
        cells = [c.get_text(strip=True) for c in tr.find_all(["td", "th"])]
        if cells and cells != head:
            rows.append(dict(zip(head, cells, strict=False)))
    return rows


def number(text: str) -> float:
    """Parse a displayed number ("1,234.5", "12.5%")."""
    t = text.replace(",", "").strip()
    if t.endswith("%"):
        return float(t[:-1]) / 100
    return float(t)
