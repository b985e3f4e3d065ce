"""Public notices for 一公开: the plan notice (抽查计划公告) and the draw notice (抽查任务公告).

Both are written as CSV (UTF-8 with BOM, opens in Excel) and HTML, in Chinese by default or in
English (``lang="en"``). They carry no personal data: institutions appear by code and name (a
legal entity); inspectors appear only as a count (no unit codes) unless the policy's
``publication.inspector_names`` is true, in which case their names (and nothing else) are shown.
Conflict-of-interest lists, reasons for replacements, risk scores and tiers of individual
institutions are never published. The draw notice carries the verification steps themselves
(in the notice's language), not a pointer to a document.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from riskscore.outputs import atomic_write_bytes, html_table, people_csv_bytes

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
        "count": "{n}名",
        "total_field": "合计",
        "randomness": "随机数：{text}",
        "commitment": "承诺哈希（开奖前已公布）：{sha}",
        "no_commitment": "承诺哈希：未在开奖前公布承诺",
        "manifest": "抽取清单哈希：{sha}",
        "chain": "变更记录：{n}条，最新哈希 {head}（无变更时为抽取清单哈希）",
        "verify_title": "核验方法（任何人均可复核）：",
        "verify_steps": [
            "1. 核对承诺：将上列承诺哈希与本局在开奖前公布的承诺哈希比对，两者应完全一致。",
            "2. 核对随机数：随机数取自事先指定的公开开奖结果；将各组号码去掉前导零、按从小到大排列，"
            "每个号码后加“.”、每组末尾加“/”，得到规范文本“{canonical}”，其SHA-256值即抽取种子{seed}。",
            "3. 核对输入：向本局索取或从门户网站下载本次抽取的全部文件（机构名单及风险等级、抽中概率、"
            "执法检查人员名单、政策文件、抽取参数、抽取清单），逐个计算SHA-256值，应与抽取清单和承诺中记录的一致；"
            "利害关系回避名单以加盐哈希公开。",
            "4. 重新抽取：每个风险等级内，按种子、用途和机构编号计算每家机构的SHA-256票号，票号最小的n家中选；"
            "检查人员同样按票号随机选派和匹配。可用开源工具riskscore执行“riskscore verify 抽取文件夹”，"
            "显示“核验通过”即重新抽取的结果与本公告逐字节一致；也可用任何编程语言按上述规则自行复算。",
        ],
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
        "count": "{n}",
        "total_field": "total",
        "randomness": "randomness: {text}",
        "commitment": "commitment sha256 (published before the lottery): {sha}",
        "no_commitment": "commitment sha256: no commitment was published before the lottery",
        "manifest": "draw manifest sha256: {sha}",
        "chain": "amendments: {n}, chain head sha256 {head} (the manifest sha256 when none)",
        "verify_title": "How to verify (anyone can):",
        "verify_steps": [
            "1. Commitment: compare the commitment sha256 above with the one the bureau "
            "published before the lottery; they must be identical.",
            "2. Randomness: the numbers come from the public lottery named in advance; drop "
            "leading zeros, sort each group ascending, write each number followed by '.', end "
            "each group with '/': the canonical text '{canonical}', whose SHA-256 is the draw key "
            "{seed}.",
            "3. Inputs: obtain every file of this draw from the bureau or its portal (institutions "
            "with risk tiers and inclusion probabilities, inspector list, policy, parameters, "
            "manifest) and compute their SHA-256; each must match the manifest and the "
            "commitment. The conflict-of-interest list is published as a salted hash.",
            "4. Re-draw: within each risk tier, every institution gets a SHA-256 ticket from the "
            "draw key, the purpose and its code; the n lowest tickets are drawn, and inspectors are "
            "drawn and matched the same way. The open-source tool riskscore re-runs it "
            "('riskscore verify DRAW_FOLDER' prints 'verified' when every byte matches), or "
            "recompute it in any language from these rules.",
        ],
    },
}


def _csv(header: list[str], rows: list[list]) -> bytes:
    """A notice CSV: UTF-8 with BOM, text cells neutralised against formula injection."""
    return people_csv_bytes(header, rows)


def _html(title: str, header: list[str], rows: list[list], foot: list[str], lang: str) -> bytes:
    """A notice page rendered by Jinja2 with autoescaping (no hand-written escaping)."""
    return html_table(title, header, rows, foot, lang).encode("utf-8")


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
        [t["policy"], "", policy["title"]],
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
            t["total_field"],
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
    atomic_write_bytes(pc, _csv(header, rows))
    atomic_write_bytes(ph, _html(title, header, rows, [], lang))
    return [pc, ph]


def draw_notice_bytes(
    draw_dir: str | Path, lang: str = "zh", data_dir: str | Path | None = None
) -> dict[str, bytes]:
    """The draw notice files (``draw_notice.csv``, ``draw_notice.html``) as bytes.

    Everything comes from the draw folder: the manifest, ``targets.csv``, the current teams
    (after amendments), the amendment chain (its length and head hash are printed so the
    public holds them) and the public names in ``inputs/names.csv``; ``riskscore verify``
    re-renders these bytes and compares them with the files in ``DRAW_DIR/notices/``.
    ``data_dir`` is read for names only for folders drawn before ``inputs/names.csv`` existed.
    """
    import yaml

    from riskscore.draw.amend import chain_head
    from riskscore.policy import validate_policy

    t = L[lang]
    d = Path(draw_dir)
    manifest_raw = (d / "manifest.json").read_bytes()
    manifest = json.loads(manifest_raw.decode("utf-8"))
    policy = validate_policy(
        yaml.safe_load((d / "inputs" / "policy.yaml").read_text(encoding="utf-8-sig")),
        "policy.yaml",
    )
    names: dict[str, str] = {}
    ins_names: dict[str, str] = {}
    names_p = d / "inputs" / "names.csv"
    if names_p.exists():
        for r in csv.DictReader(io.StringIO(names_p.read_text(encoding="utf-8"))):
            (names if r["kind"] == "institution" else ins_names)[r["id"]] = r["name"]
    elif data_dir is not None:
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
                (cur if cur.exists() else d / "assignments.csv").read_text(encoding="utf-8-sig")
            )
        )
    )
    teams: dict[str, list[dict]] = {}
    for r in arows:
        teams.setdefault(r["fixmedins_code"], []).append(r)
    trows = list(csv.DictReader(io.StringIO((d / "targets.csv").read_text(encoding="utf-8-sig"))))
    rd = manifest["round"]
    rows = []
    for r in sorted(trows, key=lambda r: int(r["order"])):
        members = teams.get(r["fixmedins_code"], [])
        if policy["publication"]["inspector_names"] and ins_names:
            sep = "、" if lang == "zh" else ", "
            who = sep.join(ins_names.get(m["inspector_id"], "") for m in members)
        else:  # a count only: unit codes mean nothing to the public
            who = t["count"].format(n=len(members))
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
    rnd = manifest["randomness"]
    sha = manifest.get("commitment_sha256")
    n_am, head = chain_head(d)
    foot = [
        t["randomness"].format(text=rnd["text"]),
        t["commitment"].format(sha=sha) if sha else t["no_commitment"],
        t["manifest"].format(sha=hashlib.sha256(manifest_raw).hexdigest()),
        t["chain"].format(n=n_am, head=head),
        t["verify_title"],
        *(
            step.format(canonical=rnd.get("canonical", ""), seed=rnd.get("seed_sha256", ""))
            for step in t["verify_steps"]
        ),
    ]
    title = t["draw_title"].format(year=manifest["year"], round=rd["name"])
    return {
        "draw_notice.csv": _csv(header, rows + [[f] for f in foot]),
        "draw_notice.html": _html(title, header, rows, foot, lang),
    }


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
        For names of a draw folder made before ``inputs/names.csv`` existed.

    Returns
    -------
    list of Path
    """
    files = draw_notice_bytes(draw_dir, lang, data_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name, b in files.items():
        made.append(atomic_write_bytes(out / name, b))
    return made
