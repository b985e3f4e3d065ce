"""Public notices for 一公开: the plan notice (抽查计划公告) and the draw notice (抽查任务公告).

Both are written as CSV (UTF-8 with BOM, opens in Excel) and HTML, in Chinese by default or in
English (``lang="en"``). They carry no personal data: institutions appear by code and name (a
legal entity); inspectors appear only as a count per unit unless the policy's
``publication.inspector_names`` is true, in which case their names (and nothing else) are shown.
Conflict-of-interest lists, reasons for replacements, risk scores and tiers of individual
institutions are never published.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

L = {
    "zh": {
        "plan_title": "{year}年度医保基金监管“双随机、一公开”抽查计划公告",
        "draw_title": "{year}年度医保基金监管“双随机、一公开”抽查任务公告（{round}）",
        "section": "类别",
        "field": "项目",
        "value": "内容",
        "policy": "依据",
        "scope": "抽查范围",
        "frame": "定点医药机构数",
        "ratio": "抽查比例",
        "tier": "风险等级",
        "tier_row": "{tier}级：{N}家，计划抽查{n}家次（{rate:.1%}）",
        "total": "合计计划抽查{n}家次，占{N}家的{ratio:.1%}（下限{floor:.0%}）",
        "rounds": "抽查批次",
        "round_row": "{start} 至 {end}",
        "deadline": "完成时限",
        "cap": "同一机构年度抽查次数上限",
        "cap_v": "{cap}次",
        "team": "检查组",
        "team_v": "每组不少于{k}名具有行政执法资格的检查人员；有利害关系的依法回避；无法参加的从公布的递补名单依次递补",
        "method": "抽取方式",
        "method_v": "按风险等级分层随机抽取检查对象、随机选派检查人员并随机匹配；随机数取自事先公布的公开开奖结果，任何人可用公开的输入复核（riskscore verify）",
        "items": "抽查事项",
        "key": "重点检查事项",
        "general": "一般检查事项",
        "no": "序号",
        "code": "机构编号",
        "name": "机构名称",
        "round": "批次",
        "team_id": "检查组",
        "inspectors": "检查人员",
        "dates": "检查时间",
        "count_unit": "{n}名（{unit}）",
        "randomness": "随机数",
        "commitment": "承诺哈希",
        "manifest": "清单哈希",
        "verify": "复核方法：riskscore verify 抽取目录；或按 docs/verify_for_auditors.md 用 sha256sum 核对",
    },
    "en": {
        "plan_title": "{year} random inspection plan (double-random, one-public) of the medical-insurance fund",
        "draw_title": "{year} random inspection tasks ({round})",
        "section": "section",
        "field": "item",
        "value": "value",
        "policy": "policy",
        "scope": "scope",
        "frame": "designated institutions",
        "ratio": "sampling ratio",
        "tier": "risk tier",
        "tier_row": "tier {tier}: {N} institutions, {n} inspections planned ({rate:.1%})",
        "total": "{n} inspections of {N} institutions, {ratio:.1%} (floor {floor:.0%})",
        "rounds": "rounds",
        "round_row": "{start} to {end}",
        "deadline": "deadline",
        "cap": "annual cap per institution",
        "cap_v": "{cap} inspections",
        "team": "teams",
        "team_v": "at least {k} qualified inspectors per team; conflicts of interest recuse; replacements from the published reserve list in order",
        "method": "method",
        "method_v": "targets drawn at random within risk tiers, inspectors drawn at random and matched at random; randomness from a public lottery named in advance; anyone can re-run the draw (riskscore verify)",
        "items": "inspection items",
        "key": "key item",
        "general": "general item",
        "no": "no.",
        "code": "institution code",
        "name": "institution",
        "round": "round",
        "team_id": "team",
        "inspectors": "inspectors",
        "dates": "period",
        "count_unit": "{n} ({unit})",
        "randomness": "randomness",
        "commitment": "commitment sha256",
        "manifest": "manifest sha256",
        "verify": "verify: riskscore verify DRAW_DIR, or sha256sum as in docs/verify_for_auditors.md",
    },
}


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _html(title: str, header: list[str], rows: list[list], foot: list[str], lang: str) -> str:
    e = html.escape
    th = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    ft = "".join(f"<p>{e(x)}</p>" for x in foot)
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}</style>"
        f"</head><body><h1>{e(title)}</h1>\n<table><thead><tr>{th}</tr></thead><tbody>\n{body}\n"
        f"</tbody></table>{ft}</body></html>\n"
    )


def plan_notice(plan_dir: str | Path, out_dir: str | Path, lang: str = "zh") -> list[Path]:
    """Write ``plan_notice.csv`` and ``plan_notice.html`` (抽查计划公告).

    Parameters
    ----------
    plan_dir : path
        Output of ``riskscore plan``.
    out_dir : path
    lang : {"zh", "en"}

    Returns
    -------
    list of Path
    """
    from riskscore.plan import load_plan

    t = L[lang]
    summary, _inc, policy = load_plan(plan_dir)
    fr = summary["frame"]["institutions"]
    rows: list[list] = [
        [t["policy"], policy["policy_id"], policy["title"]],
        [t["scope"], t["frame"], fr],
    ]
    for tier, st in summary["strata"].items():
        rows.append(
            [
                t["ratio"],
                t["tier"],
                t["tier_row"].format(
                    tier=tier,
                    N=st["N_h"],
                    n=st["n_h"],
                    rate=(st["n_h"] / st["N_h"]) if st["N_h"] else 0,
                ),
            ]
        )
    fl = summary["floor"]
    rows.append(
        [
            t["ratio"],
            "Σ",
            t["total"].format(
                n=fl["planned_inspections"],
                N=fr,
                ratio=fl["planned_ratio"],
                floor=fl["overall_floor"],
            ),
        ]
    )
    for r in summary["rounds"]:
        rows.append([t["rounds"], r["name"], t["round_row"].format(start=r["start"], end=r["end"])])
    rows += [
        [t["deadline"], "", summary["deadline"]],
        [t["cap"], "", t["cap_v"].format(cap=summary["annual_cap"])],
        [t["team"], "", t["team_v"].format(k=summary["team_size"])],
        [t["method"], "", t["method_v"]],
    ]
    for it in summary.get("items") or policy["items"]["list"]:
        rows.append(
            [
                t["items"],
                f"{it['item_id']} {it['item_name']}（{t[it['item_class']]}）",
                it["content"],
            ]
        )
    header = [t["section"], t["field"], t["value"]]
    title = t["plan_title"].format(year=summary["year"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pc, ph = out / "plan_notice.csv", out / "plan_notice.html"
    pc.write_text(_csv(header, rows), encoding="utf-8-sig")
    ph.write_text(_html(title, header, rows, [], lang), encoding="utf-8")
    return [pc, ph]


def draw_notice(
    draw_dir: str | Path,
    out_dir: str | Path,
    lang: str = "zh",
    data_dir: str | Path | None = None,
) -> list[Path]:
    """Write ``draw_notice.csv`` and ``draw_notice.html`` (抽查任务公告).

    Parameters
    ----------
    draw_dir : path
        A draw folder (current teams after amendments are used).
    out_dir : path
    lang : {"zh", "en"}
    data_dir : path, optional
        For institution names, and inspector names when the policy allows them.

    Returns
    -------
    list of Path
    """
    import yaml

    from riskscore.policy import validate_policy

    t = L[lang]
    d = Path(draw_dir)
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    policy = validate_policy(
        yaml.safe_load((d / "inputs" / "policy.yaml").read_text(encoding="utf-8-sig")),
        "policy.yaml",
    )
    names: dict[str, str] = {}
    ins_names: dict[str, str] = {}
    if data_dir is not None:
        from riskscore.io import load_table

        inst = load_table(Path(data_dir), "institutions")
        if inst is not None:
            names = dict(
                zip(inst["fixmedins_code"], inst["fixmedins_name"].fillna(""), strict=True)
            )
        if policy["publication"]["inspector_names"]:
            ins = load_table(Path(data_dir), "inspectors")
            if ins is not None:
                ins_names = dict(
                    zip(ins["inspector_id"], ins["inspector_name"].fillna(""), strict=True)
                )
    cur = d / "assignments_current.csv"
    arows = list(
        csv.DictReader(
            io.StringIO(
                (cur if cur.exists() else d / "assignments.csv").read_text(encoding="utf-8")
            )
        )
    )
    teams: dict[str, list[dict]] = {}
    for r in arows:
        teams.setdefault(r["fixmedins_code"], []).append(r)
    trows = list(csv.DictReader(io.StringIO((d / "targets.csv").read_text(encoding="utf-8"))))
    rd = manifest["round"]
    rows = []
    for r in sorted(trows, key=lambda r: int(r["order"])):
        members = teams.get(r["fixmedins_code"], [])
        if policy["publication"]["inspector_names"] and ins_names:
            who = "、".join(ins_names.get(m["inspector_id"], "") for m in members)
        else:
            units: dict[str, int] = {}
            for m in members:
                units[m["unit"]] = units.get(m["unit"], 0) + 1
            who = t["count_unit"].format(
                n=len(members), unit="、".join(f"{u}×{n}" for u, n in sorted(units.items()))
            )
        rows.append(
            [
                r["order"],
                r["fixmedins_code"],
                names.get(r["fixmedins_code"], ""),
                rd["name"],
                r["team_id"],
                who,
                t["round_row"].format(start=rd["start"], end=rd["end"]),
            ]
        )
    header = [t["no"], t["code"], t["name"], t["round"], t["team_id"], t["inspectors"], t["dates"]]
    import hashlib

    foot = [
        f"{t['randomness']}: {manifest['randomness']['text']}",
        f"{t['commitment']}: {manifest.get('commitment_sha256') or '-'}",
        f"{t['manifest']}: {hashlib.sha256((d / 'manifest.json').read_bytes()).hexdigest()}",
        t["verify"],
    ]
    title = t["draw_title"].format(year=manifest["year"], round=rd["name"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pc, ph = out / "draw_notice.csv", out / "draw_notice.html"
    pc.write_text(_csv(header, rows + [[f] for f in foot]), encoding="utf-8-sig")
    ph.write_text(_html(title, header, rows, foot, lang), encoding="utf-8")
    return [pc, ph]
