"""The synthetic catalogue (目录): drugs and service items with real national codes.

Drug codes are read from the NHSA 两库 rule tables (``b1``/``b3``/``b4``/``b5``/``b6`` ``_codes``
files) together with their restriction (gender, child, insurance type, care setting,
institution level); service items from ``b7`` (duplicate-charging pairs), ``b8`` (frequency
and period limits) and ``b1_item`` (gender-restricted items). A few common drugs and items
that carry no restriction complete the catalogue (their codes follow the national code
layout; they are marked ``source="common"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.errors import RiskscoreError

# Common unrestricted drugs: (code, name, daily units, unit price).  Codes follow the
# national layout (X + ATC5 + generic serial + form/spec/manufacturer; Z + 5 + 5 + …).
COMMON_DRUGS = [
    ("XC08CAA017A001010100001", "苯磺酸氨氯地平片", 1, 0.45),
    ("XC08CAA017A001010200002", "苯磺酸氨氯地平片", 1, 1.60),
    ("XA10BAE049A001010100003", "盐酸二甲双胍片", 2, 0.12),
    ("XA10BAE049A001010200004", "盐酸二甲双胍缓释片", 2, 0.55),
    ("XC10AAA087A001010100005", "阿托伐他汀钙片", 1, 0.30),
    ("XC10AAA087A001010200006", "阿托伐他汀钙片", 1, 2.80),
    ("XB01ACA056A001010100007", "阿司匹林肠溶片", 1, 0.15),
    ("XJ01CAA040E001010100008", "阿莫西林胶囊", 3, 0.25),
    ("XJ01DCT010A001010100009", "头孢呋辛酯片", 2, 1.10),
    ("XA02BCA211E001010100010", "奥美拉唑肠溶胶囊", 1, 0.40),
    ("XN02BEA001A001010100011", "对乙酰氨基酚片", 3, 0.08),
    ("XR06AEL064A001010100012", "氯雷他定片", 1, 0.90),
    ("XC09CAL050A001010100013", "氯沙坦钾片", 1, 0.60),
    ("XC07ABM080A001010100014", "酒石酸美托洛尔片", 2, 0.10),
    ("ZA04CAE0101010100015", "连花清瘟胶囊", 3, 0.45),
    ("ZA06AAB0022010100016", "复方丹参滴丸", 3, 0.10),
    ("ZA09BAS0045010100017", "六味地黄丸", 2, 0.35),
    ("ZA10AAG0123010100018", "银黄颗粒", 3, 0.80),
]

# Common service items (national medical service item codes, 13 digits).
# (code, name, category, price, kind) — kind: consult, bed, nursing, test, treat, surgery, monitor
COMMON_ITEMS = [
    ("1102000010000", "门诊诊查费", "02", 15.0, "consult_out"),
    ("1102000030000", "急诊诊查费", "02", 20.0, "consult_er"),
    ("1102000050000", "住院诊查费", "02", 20.0, "consult_ipt"),
    ("1109000010000", "普通病房床位费", "01", 45.0, "bed"),
    ("1201000040000", "Ⅱ级护理", "07", 25.0, "nursing"),
    ("1201000030000", "Ⅰ级护理", "07", 35.0, "nursing"),
    ("2501010150000", "血细胞分析", "04", 20.0, "test"),
    ("2501020350000", "尿液分析", "04", 12.0, "test"),
    ("2503020010000", "血清葡萄糖测定", "04", 6.0, "test"),
    ("2503010010000", "血清总蛋白测定", "04", 5.0, "test"),
    ("2503060010000", "血清尿素测定", "04", 6.0, "test"),
    ("2503060020000", "血清肌酐测定", "04", 8.0, "test"),
    ("2102010010000", "X线摄影", "03", 60.0, "test"),
    ("2103000010000", "X线计算机体层(CT)平扫", "03", 220.0, "test"),
    ("2201000010000", "B超常规检查", "03", 60.0, "test"),
    ("3107010010000", "常规心电图检查", "03", 20.0, "test"),
    ("1204000060000", "静脉输液", "05", 12.0, "treat"),
    ("1204000010000", "肌肉注射", "05", 4.0, "treat"),
    ("1205000010000", "换药", "05", 15.0, "treat"),
    ("3400000010000", "康复治疗", "05", 60.0, "rehab"),
    ("3402000240000", "平衡功能训练", "05", 40.0, "rehab"),
    ("3402000250000", "手功能训练", "05", 35.0, "rehab"),
    ("3110000010000", "血液透析", "05", 420.0, "dialysis"),
    ("3311000010000", "手术(普通)", "06", 1800.0, "surgery"),
    ("3311000020000", "手术(复杂)", "06", 4200.0, "surgery"),
    ("3107010220000", "心电监测", "03", 6.0, "monitor"),
    ("3107010280000", "血氧饱和度监测", "03", 3.0, "monitor"),
    ("1102000040000", "门急诊留观诊查费", "02", 15.0, "consult_obs"),
    ("3115030010000", "抗精神病药物治疗监测", "05", 30.0, "psych"),
    ("2503020030000", "糖化血红蛋白测定", "04", 45.0, "period"),
    ("2503020020000", "血清果糖胺测定", "04", 20.0, "period"),
    ("3402000390000", "康复评定", "05", 50.0, "period_rehab"),
]

RESTRICTIONS = (
    "none",
    "male",
    "female",
    "child",
    "work_injury",
    "maternity",
    "inpatient",
    "level2",
    "level3",
    "course",
)


@dataclass
class Catalogue:
    """Products used by the generator.

    Attributes
    ----------
    drugs : pandas.DataFrame
        ``code, name, generic_key, chrgitm, restriction, source, unit_price, daily_units,
        n_restr`` (number of distinct restrictions of the code), ``work_injury`` (listed in b3).
    items : pandas.DataFrame
        ``code, name, chrgitm, price, kind, restriction, source``.
    b7_pairs : pandas.DataFrame
        ``main_code, sub_code`` single-day pairs whose main item the generator bills.
    """

    drugs: pd.DataFrame
    items: pd.DataFrame
    b7_pairs: pd.DataFrame


def generic_key(code: str) -> str:
    """Generic (ingredient) key of a national drug code (通用名组): first 10 characters of a
    western-drug code, first 11 of a Chinese-patent-medicine code."""
    return code[:11] if code.startswith("Z") else code[:10]


def _read(rules_dir: Path, name: str) -> pd.DataFrame:
    path = rules_dir / name
    if not path.exists():
        raise RiskscoreError(f"{path}: NHSA rule table not found (expected the published b-file)")
    return pd.read_csv(path, dtype=str, encoding="utf-8")


def _codes_with_rule(rules_dir: Path, stem: str, code_col: str, value_col: str) -> pd.DataFrame:
    codes = _read(rules_dir, f"{stem}_codes.csv")
    rules = _read(rules_dir, f"{stem}_rules.csv")
    rules = rules.drop_duplicates("药品通用名")
    df = codes.merge(rules[["药品通用名", value_col]], on="药品通用名", how="left")
    df = df.rename(columns={code_col: "code", "药品通用名": "name", value_col: "value"})
    df["code"] = df["code"].str.strip()
    df = df[df["code"].str.match(r"^[XZ][A-Z0-9]{15,25}$", na=False)]
    return df[["code", "name", "value"]]


def load_catalogue(rules_dir: Path, rng: np.random.Generator) -> Catalogue:
    """Build the catalogue from the NHSA rule tables in ``rules_dir``.

    Parameters
    ----------
    rules_dir : Path
        Folder with the published 两库 b-files (``riskscore.paths.NHSA_RULES_DIR``).
    rng : numpy.random.Generator
        Draws prices and daily doses.

    Returns
    -------
    Catalogue
    """
    parts = []
    g = _codes_with_rule(rules_dir, "b1_drug_gender", "药品代码", "限定对象")
    g["restriction"] = np.where(g["value"] == "男", "male", "female")
    parts.append(g.assign(source="b1_drug_gender"))
    a = _codes_with_rule(rules_dir, "b1_drug_age", "国标代码", "限定对象")
    parts.append(a.assign(restriction="child", source="b1_drug_age"))
    i = _codes_with_rule(rules_dir, "b3_drug_insurance_type", "国标代码", "限定对象")
    i["restriction"] = np.where(i["value"] == "工伤", "work_injury", "maternity")
    parts.append(i.assign(source="b3_drug_insurance_type"))
    s = _codes_with_rule(rules_dir, "b4_drug_care_setting", "国标代码", "限定值域")
    parts.append(s.assign(restriction="inpatient", source="b4_drug_care_setting"))
    lv = _codes_with_rule(rules_dir, "b5_drug_institution_level", "国标代码", "限定值域")
    lv["restriction"] = np.where(lv["value"] == "三级", "level3", "level2")
    parts.append(lv.assign(source="b5_drug_institution_level"))
    c = _codes_with_rule(rules_dir, "b6_drug_payment_course", "国标代码", "限定值域")
    parts.append(c.assign(restriction="course", source="b6_drug_payment_course"))
    drugs = pd.concat(parts, ignore_index=True)
    # a code restricted in several files keeps its first restriction; ``n_restr`` counts them
    # and ``work_injury`` marks b3 (工伤) codes, so honest use can avoid multi-restricted codes
    n_restr = drugs.groupby("code")["restriction"].nunique()
    work = set(drugs.loc[drugs["restriction"] == "work_injury", "code"])
    drugs = drugs.drop_duplicates("code", keep="first")
    drugs["n_restr"] = drugs["code"].map(n_restr).astype(int)
    drugs["work_injury"] = drugs["code"].isin(work)
    common = pd.DataFrame(COMMON_DRUGS, columns=["code", "name", "daily_units", "unit_price"])
    common["restriction"] = "none"
    common["source"] = "common"
    common["n_restr"] = 0
    common["work_injury"] = False
    # originator (brand) products of the same generics: dispensed nowhere, billed only when
    # substituted (串换) for the cheap generic
    brand = common.copy()
    brand["code"] = [c[:-6] + f"{(int(c[-6:]) + 500000) % 10**6:06d}" for c in common["code"]]
    brand["name"] = brand["name"] + "(原研)"
    brand["unit_price"] = np.round(common["unit_price"] * 6.5 + 1.0, 2)
    brand["source"] = "common_brand"
    common = pd.concat([common, brand], ignore_index=True)
    drugs = drugs.sort_values("code", kind="stable").reset_index(drop=True)
    n = len(drugs)
    injection = drugs["name"].str.contains("注射", na=False).to_numpy()
    drugs["daily_units"] = rng.integers(1, 4, n)
    base = np.round(np.exp(rng.normal(0.8, 1.0, n)), 2)
    drugs["unit_price"] = np.where(injection, np.round(base * 12 + 8, 2), np.maximum(base, 0.05))
    drugs = pd.concat([common, drugs], ignore_index=True)
    drugs["generic_key"] = drugs["code"].map(generic_key)
    drugs["chrgitm"] = np.where(drugs["code"].str.startswith("Z"), "11", "09")
    drugs = drugs[
        [
            "code",
            "name",
            "generic_key",
            "chrgitm",
            "restriction",
            "source",
            "unit_price",
            "daily_units",
            "n_restr",
            "work_injury",
        ]
    ]

    items = pd.DataFrame(COMMON_ITEMS, columns=["code", "name", "chrgitm", "price", "kind"])
    items["restriction"] = "none"
    items["source"] = "common"
    b7 = _read(rules_dir, "b7_item_duplicate_charging.csv")
    b7 = b7[(b7["频度"] == "单日")]
    b7 = b7[
        b7["主项编码"].str.match(r"^(25|31|21|22|23)\d{11}$", na=False)
        & b7["从项编码"].str.match(r"^\d{13}$", na=False)
    ]
    mains = sorted(b7["主项编码"].unique())
    pick = sorted(rng.choice(len(mains), size=min(12, len(mains)), replace=False).tolist())
    mains = [mains[k] for k in pick]
    b7 = b7[b7["主项编码"].isin(mains)].drop_duplicates(["主项编码", "从项编码"])
    pairs = b7.rename(columns={"主项编码": "main_code", "从项编码": "sub_code"})
    pairs = pairs[["main_code", "sub_code", "主项名称", "从项名称"]].reset_index(drop=True)
    extra = []
    known = set(items["code"])
    for code, name in list(zip(pairs["main_code"], pairs["主项名称"], strict=True)) + list(
        zip(pairs["sub_code"], pairs["从项名称"], strict=True)
    ):
        if code in known:
            continue
        known.add(code)
        cat = "04" if code.startswith("25") else "03"
        kind = "b7_main" if code in set(pairs["main_code"]) else "b7_sub"
        extra.append((code, name, cat, float(np.round(rng.uniform(10, 120), 0)), kind))
    items = pd.concat(
        [
            items,
            pd.DataFrame(extra, columns=["code", "name", "chrgitm", "price", "kind"]).assign(
                restriction="none", source="b7_item_duplicate_charging"
            ),
        ],
        ignore_index=True,
    )
    ig = _read(rules_dir, "b1_item_gender.csv")
    ig = ig[ig["国标代码"].str.match(r"^\d{13}$", na=False)].drop_duplicates("国标代码")
    ig = ig[~ig["国标代码"].isin(known)]
    ig = pd.DataFrame(
        {
            "code": ig["国标代码"],
            "name": ig["项目名称"],
            "chrgitm": "03",
            "price": 80.0,
            "kind": "gender_item",
            "restriction": np.where(ig["限定性别"] == "男", "male", "female"),
            "source": "b1_item_gender",
        }
    )
    items = pd.concat([items, ig], ignore_index=True).reset_index(drop=True)
    pairs = pairs[["main_code", "sub_code"]]
    return Catalogue(drugs=drugs.reset_index(drop=True), items=items, b7_pairs=pairs)
