"""Registries of the synthetic province: institutions, insured persons, inspectors,
conflicts of interest, the 抽查事项清单 and credit ratings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

REGIONS = [
    ("340102", "瑶海区"),
    ("340103", "庐阳区"),
    ("340104", "蜀山区"),
    ("340111", "包河区"),
    ("340121", "长丰县"),
    ("340122", "肥东县"),
    ("340123", "肥西县"),
    ("340124", "庐江县"),
    ("340181", "巢湖市"),
]
REGION_WEIGHT = np.array([1.1, 1.0, 1.3, 1.2, 0.8, 0.9, 0.9, 0.8, 0.7])

# institution profiles: key -> (share, medins_type, hosp_lv, ownership, specialty, decoy,
#                                 volume weight, encounter mix {med_type: share})
PROFILES = {
    "tertiary": (
        0.035,
        "hospital",
        "3",
        "public",
        "general",
        "",
        60.0,
        {11: 0.70, 13: 0.08, 14: 0.10, 21: 0.12},
    ),
    "secondary": (
        0.09,
        "hospital",
        "2",
        "public",
        "general",
        "",
        16.0,
        {11: 0.70, 13: 0.07, 14: 0.11, 21: 0.12},
    ),
    "primary_hosp": (
        0.04,
        "hospital",
        "1",
        "public",
        "general",
        "",
        4.0,
        {11: 0.78, 13: 0.04, 14: 0.10, 21: 0.08},
    ),
    "private_hosp2": (
        0.04,
        "hospital",
        "2",
        "private",
        "general",
        "",
        7.0,
        {11: 0.72, 13: 0.03, 14: 0.10, 21: 0.15},
    ),
    "private_hosp1": (
        0.05,
        "hospital",
        "1",
        "private",
        "general",
        "",
        3.0,
        {11: 0.75, 13: 0.02, 14: 0.08, 21: 0.15},
    ),
    "oncology": (
        0.012,
        "hospital",
        "3",
        "public",
        "oncology",
        "oncology",
        20.0,
        {11: 0.55, 14: 0.15, 21: 0.30},
    ),
    "dialysis": (
        0.012,
        "hospital",
        "1",
        "private",
        "dialysis",
        "dialysis",
        5.0,
        {11: 0.10, 14: 0.85, 21: 0.05},
    ),
    "rehabilitation": (
        0.012,
        "hospital",
        "2",
        "public",
        "rehabilitation",
        "rehabilitation",
        6.0,
        {11: 0.55, 21: 0.45},
    ),
    "psychiatric": (
        0.01,
        "hospital",
        "2",
        "public",
        "psychiatric",
        "",
        5.0,
        {11: 0.60, 14: 0.20, 21: 0.20},
    ),
    "community": (0.13, "clinic", "1", "public", "general", "", 2.5, {11: 0.82, 14: 0.18}),
    "private_clinic": (0.20, "clinic", "0", "private", "general", "", 0.8, {11: 0.95, 13: 0.05}),
    "pharmacy": (0.33, "pharmacy", "0", "private", "general", "", 0.6, {41: 1.0}),
    "chronic_pharmacy": (
        0.029,
        "pharmacy",
        "0",
        "private",
        "chronic_pharmacy",
        "chronic_pharmacy",
        1.4,
        {41: 1.0},
    ),
}

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鑫斌宇浩凯健俊帆帅旭宁龙林欣然子涵梓轩一诺雨泽佳怡晨阳思远文博建国志强春燕海燕晓东"
)
ROADS = list("长江淮河黄山合作望江金寨徽州芜湖宿松繁华马鞍翡翠紫云天鹅湖滨")
INSPECTION_UNITS = [
    "市医疗保障局基金监管科",
    "市医疗保障基金监管支队",
    "市医疗保险经办中心稽核科",
    "县医疗保障局",
    "区医疗保障分局",
]
EXPERTISE = ["临床医学", "药学", "财务会计", "医保政策", "信息技术", "护理", "法律"]


def _names(rng: np.random.Generator, n: int) -> pa.Array:
    s = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    two = rng.random(n) < 0.65
    out = np.char.add(np.char.add(s, g1), np.where(two, g2, ""))
    return pa.array(out)


def _check_digit(body: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character of 17-digit ID bodies (GB 11643)."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = body.view("U1").reshape(len(body), 17).astype(np.int64)
    rem = (digits * weights).sum(axis=1) % 11
    return np.array(list("10X98765432"))[rem]


def allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Largest-remainder allocation of ``n`` items to ``shares`` (deterministic)."""
    raw = shares / shares.sum() * n
    base = np.floor(raw).astype(int)
    rest = n - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base


def make_institutions(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """The target registry (检查对象名录库) with profile, size weight and decoy kind."""
    keys = list(PROFILES)
    shares = np.array([PROFILES[k][0] for k in keys])
    counts = allocate(n, shares)
    if n >= 40:  # at least one of every profile
        for i in range(len(keys)):
            if counts[i] == 0:
                j = int(np.argmax(counts))
                counts[j] -= 1
                counts[i] += 1
    prof = np.repeat(np.array(keys), counts)
    prof = prof[rng.permutation(n)]
    rows = []
    region_idx = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHT / REGION_WEIGHT.sum())
    size = np.exp(rng.normal(0, 0.55, n))
    for i in range(n):
        share, mtype, lv, own, spec, decoy, vol, mix = PROFILES[prof[i]]
        if prof[i] == "private_hosp2" and rng.random() < 0.3:
            lv = "1"
        rows.append((prof[i], mtype, lv, own, spec, decoy, vol * size[i]))
    df = pd.DataFrame(
        rows,
        columns=["profile", "medins_type", "hosp_lv", "ownership", "specialty", "decoy", "weight"],
    )
    # high-testing tertiary decoys: a third of the general tertiary hospitals (at least one)
    tert = np.flatnonzero(df["profile"].to_numpy() == "tertiary")
    if len(tert):
        k = max(1, len(tert) // 3)
        df.loc[tert[rng.permutation(len(tert))[:k]], "decoy"] = "high_testing_tertiary"
    df["region"] = [REGIONS[r][0] for r in region_idx]
    df["region_name"] = [REGIONS[r][1] for r in region_idx]
    prefix = np.where(df["medins_type"] == "pharmacy", "P", "H")
    df["fixmedins_code"] = [
        f"{p}{r}{i + 1:05d}" for i, (p, r) in enumerate(zip(prefix, df["region"], strict=True))
    ]
    kind_name = {
        "tertiary": "第一人民医院",
        "secondary": "人民医院",
        "primary_hosp": "中心医院",
        "private_hosp2": "仁爱医院",
        "private_hosp1": "康华医院",
        "oncology": "肿瘤医院",
        "dialysis": "血液透析中心",
        "rehabilitation": "康复医院",
        "psychiatric": "精神卫生中心",
        "community": "社区卫生服务中心",
        "private_clinic": "诊所",
        "pharmacy": "大药房",
        "chronic_pharmacy": "慢病药房",
    }
    names = []
    for i, (p, rn) in enumerate(zip(df["profile"], df["region_name"], strict=True)):
        names.append(f"{rn}{ROADS[i % len(ROADS)]}{kind_name[p]}{'' if i < 60 else f'{i}号'}")
    df["fixmedins_name"] = names
    scope = {
        "hospital": "内科;外科;妇产科;儿科;检验科;医学影像科",
        "clinic": "全科医疗;中医科",
        "pharmacy": "处方药;非处方药;中成药;医疗器械",
    }
    df["business_scope"] = df["medins_type"].map(scope)
    df.loc[df["specialty"] == "oncology", "business_scope"] = "肿瘤科;放疗科;内科;外科"
    df.loc[df["specialty"] == "dialysis", "business_scope"] = "血液透析室;肾内科"
    df.loc[df["specialty"] == "rehabilitation", "business_scope"] = "康复医学科;内科"
    df.loc[df["specialty"] == "psychiatric", "business_scope"] = "精神科"
    uscc_body = [
        f"{'12' if o == 'public' else '91'}{r}{rng.integers(0, 10**9):09d}"
        for o, r in zip(df["ownership"], df["region"], strict=True)
    ]
    df["uscc"] = [b + "0123456789ABCDEFGHJKLMNPQRTUWXY"[rng.integers(0, 31)] for b in uscc_body]
    df["address"] = [
        f"安徽省合肥市{rn}{ROADS[rng.integers(0, len(ROADS))]}路{rng.integers(1, 999)}号"
        for rn in df["region_name"]
    ]
    df["legal_rep"] = _names(rng, n).to_pylist()
    status = np.where(rng.random(n) < 0.015, "suspended", "active")
    df["status"] = status
    return df


INSTITUTION_COLUMNS = [
    "fixmedins_code",
    "fixmedins_name",
    "uscc",
    "medins_type",
    "hosp_lv",
    "ownership",
    "region",
    "specialty",
    "address",
    "legal_rep",
    "business_scope",
    "status",
]


def make_persons(rng: np.random.Generator, n: int, year: int) -> dict[str, np.ndarray]:
    """The insured population (参保人员) as arrays; PII is generated separately."""
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHT / REGION_WEIGHT.sum())
    region = np.sort(region).astype(np.int8)  # persons are numbered region by region
    pick = rng.choice(3, size=n, p=[0.17, 0.55, 0.28])
    lo = np.array([0, 18, 60])[pick]
    hi = np.array([18, 60, 95])[pick]
    age = rng.integers(lo, hi).astype(np.int16)
    del lo, hi, pick
    gend = np.where(rng.random(n) < 0.5, 1, 2).astype(np.int8)
    bday = rng.integers(0, 365, n).astype(np.int16)  # birth day of year
    chronic_p = np.where(age < 40, 0.02, np.where(age < 60, 0.15, 0.38))
    chronic = (rng.random(n) < chronic_p).astype(np.int8)
    del chronic_p
    emp = (age >= 18) & (rng.random(n) < np.where(age < 60, 0.55, 0.35))
    insutype = np.where(emp, 310, 390).astype(np.int16)
    die_p = np.where(age >= 75, 0.05, np.where(age >= 60, 0.012, 0.002))
    dead = rng.random(n) < die_p
    die_day = np.where(dead, rng.integers(20, 330, n), -1).astype(np.int16)
    return {
        "region": region,
        "age": age,
        "gend": gend,
        "bday": bday,
        "chronic": chronic,
        "insutype": insutype,
        "die_day": die_day,
    }


def persons_table(
    rng: np.random.Generator, persons: dict, start: int, stop: int, year: int
) -> pa.Table:
    """``psn_info_b`` rows ``start:stop`` with synthetic personal data."""
    n = stop - start
    idx = np.arange(start, stop)
    region = persons["region"][start:stop]
    age = persons["age"][start:stop]
    by = (year - 1 - age.astype(np.int64)) - 1970
    bdate = by.astype("datetime64[Y]").astype("datetime64[D]") + persons["bday"][start:stop]
    reg_codes = np.array([r[0] for r in REGIONS])[region]
    ymd = np.datetime_as_string(bdate, unit="D")
    ymd = np.char.replace(ymd, "-", "")
    seq = rng.integers(0, 1000, n)
    seq = seq - (seq % 2) + np.where(persons["gend"][start:stop] == 1, 1, 0)  # odd = male
    seq = np.minimum(seq, 999)
    body = np.char.add(np.char.add(reg_codes, ymd), np.char.zfill(seq.astype(str), 3))
    certno = np.char.add(body, _check_digit(body))
    tel = np.char.add(
        np.array(["13", "15", "17", "18", "19"])[rng.integers(0, 5, n)],
        np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9),
    )
    addr = np.char.add(
        np.char.add(
            np.array([r[1] for r in REGIONS])[region],
            np.array(ROADS)[rng.integers(0, len(ROADS), n)],
        ),
        np.char.add(np.char.add("路", rng.integers(1, 500, n).astype(str)), "号"),
    )
    die = persons["die_day"][start:stop]
    die_date = np.datetime64(f"{year}-01-01") + np.where(die >= 0, die, 0)
    die_arr = pa.array(die_date.astype("datetime64[D]"), pa.date32(), mask=die < 0)
    return pa.table(
        {
            "psn_no": psn_no(idx),
            "gend": pa.array(persons["gend"][start:stop].astype(str)),
            "brdy": pa.array(bdate.astype("datetime64[D]"), pa.date32()),
            "die_date": die_arr,
            "insutype": pa.array(persons["insutype"][start:stop].astype(str)),
            "insu_admdvs": pa.array(reg_codes),
            "chronic_flag": pa.array(persons["chronic"][start:stop].astype(np.int64)),
            "certno": pa.array(certno),
            "psn_name": _names(rng, n),
            "tel": pa.array(tel),
            "addr": pa.array(addr),
        }
    )


def psn_no(idx: np.ndarray) -> pa.Array:
    """Person numbers (人员编号) for person indices."""
    import pyarrow.compute as pc

    return pc.cast(pa.array(np.asarray(idx, np.int64) + 3401000000000000), pa.string())


def make_inspectors(rng: np.random.Generator, n_inst: int, year: int) -> pd.DataFrame:
    """The inspector pool (执法检查人员名录库): several units, some expired or inactive."""
    n = int(max(12, min(400, n_inst // 6)))
    unit = rng.choice(len(INSPECTION_UNITS), size=n)
    valid = np.datetime64(f"{year}-01-01") + rng.integers(30, 1500, n)
    expired = rng.random(n) < 0.1
    expired[int(rng.integers(n))] = True  # at least one expired certificate
    valid = np.where(expired, np.datetime64(f"{year}-01-01") - rng.integers(1, 400, n), valid)
    status = rng.choice(["active", "leave", "retired"], size=n, p=[0.86, 0.09, 0.05])
    status[int(rng.integers(n))] = "leave"  # at least one inspector not available
    return pd.DataFrame(
        {
            "inspector_id": [f"JC{i + 1:04d}" for i in range(n)],
            "inspector_name": _names(rng, n).to_pylist(),
            "unit": [f"U{u + 1:02d}" for u in unit],
            "unit_name": [INSPECTION_UNITS[u] for u in unit],
            "cert_no": [
                f"皖医保执{year - int(rng.integers(1, 6))}{rng.integers(0, 10**6):06d}"
                for _ in range(n)
            ],
            "cert_valid_until": np.datetime_as_string(valid, unit="D"),
            "expertise": [EXPERTISE[e] for e in rng.integers(0, len(EXPERTISE), n)],
            "status": status,
        }
    )


def make_conflicts(
    rng: np.random.Generator, inspectors: pd.DataFrame, inst: pd.DataFrame
) -> pd.DataFrame:
    """Conflicts of interest (利害关系回避): a few per inspector."""
    reasons = [
        "近亲属在该机构任职",
        "曾在该机构任职（离职未满3年）",
        "与法定代表人存在利害关系",
        "曾参与该机构违规案件办理",
    ]
    rows = set()
    for i, iid in enumerate(inspectors["inspector_id"]):
        k = int(rng.poisson(0.8))
        for j in rng.choice(len(inst), size=min(k, len(inst)), replace=False):
            rows.add(
                (iid, inst["fixmedins_code"].iat[int(j)], reasons[(i + int(j)) % len(reasons)])
            )
    df = pd.DataFrame(sorted(rows), columns=["inspector_id", "fixmedins_code", "reason"])
    return df


LEGAL = {
    "fund": "《医疗保障基金使用监督管理条例》第十五条、第十六条、第三十八条",
    "agreement": "《医疗机构医疗保障定点管理暂行办法》《零售药店医疗保障定点管理暂行办法》",
    "price": "《中华人民共和国价格法》；《医疗保障基金使用监督管理条例》第二十条",
    "procure": "《国务院办公厅关于推动药品集中带量采购工作常态化制度化开展的意见》（国办发〔2021〕2号）",
    "aid": "《社会救助暂行办法》；《医疗保障基金使用监督管理条例》第二条",
    "ltc": "长期护理保险制度试点有关规定；《医疗保障基金使用监督管理条例》",
}


def make_inspection_items() -> pd.DataFrame:
    """The 随机抽查事项清单, from the areas listed in the published plans (seeds 000, 003)."""
    rows = [
        (
            "对纳入基本医疗保险基金支付范围的医疗服务行为和医疗费用的监督检查",
            "定点医疗机构",
            "实名就医；分解住院、挂床住院；过度诊疗、过度检查、分解处方、超量开药、重复开药；"
            "串换药品、医用耗材、诊疗项目；重复收费、超标准收费；超限定范围用药",
            "key",
            "现场检查+非现场检查（智能监控数据筛查）",
            "医疗保障行政部门",
            LEGAL["fund"],
        ),
        (
            "对定点零售药店医疗保障基金使用情况的监督检查",
            "定点零售药店",
            "实名购药；串换药品；超量开药；进销存一致性；处方管理",
            "key",
            "现场检查+进销存核查",
            "医疗保障行政部门",
            LEGAL["fund"],
        ),
        (
            "对公立医疗机构药品集中采购行为合规性的监督检查",
            "公立医疗机构",
            "约定采购量完成情况；非中选药品采购；报送需求量低于上年度实际采购量；"
            "货款结算（次月底前回款）；线下采购",
            "key",
            "非现场检查（招采平台数据）+现场核查",
            "医疗保障行政部门",
            LEGAL["procure"],
        ),
        (
            "对公立医疗机构高值医用耗材集中采购行为合规性的监督检查",
            "公立医疗机构",
            "采购协议量完成情况；非中选产品采购；网签三方协议",
            "general",
            "非现场检查（招采平台数据）",
            "医疗保障行政部门",
            LEGAL["procure"],
        ),
        (
            "对药品、医用耗材价格的监测和成本调查",
            "定点医药机构",
            "药品零差率销售；价格公示；实际购销价格和数量资料报送",
            "general",
            "现场检查",
            "医疗保障行政部门",
            LEGAL["price"],
        ),
        (
            "对纳入医疗保障范围的医药价格违法违规行为的查处",
            "定点医药机构",
            "超标准收费；自立项目收费；分解项目收费",
            "general",
            "现场检查",
            "医疗保障行政部门",
            LEGAL["price"],
        ),
        (
            "医疗保险稽核（协议履行情况）",
            "定点医药机构",
            "协议管理；信息系统管理；财务资产；内部管理制度",
            "general",
            "现场检查+资料审查",
            "医疗保障经办机构（受委托）",
            LEGAL["agreement"],
        ),
        (
            "对医疗救助的监督检查",
            "定点医疗机构",
            "医疗救助对象费用结算；一站式结算",
            "general",
            "资料审查+现场检查",
            "医疗保障行政部门",
            LEGAL["aid"],
        ),
        (
            "对长期护理保险机构使用医疗保障基金行为的监督检查",
            "长期护理保险定点机构",
            "证照齐全；人员分工及岗位职责；服务记录真实性",
            "general",
            "现场检查",
            "医疗保障行政部门",
            LEGAL["ltc"],
        ),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "item_name",
            "target_type",
            "content",
            "item_class",
            "method",
            "inspecting_body",
            "legal_basis",
        ],
    )
    df.insert(0, "item_id", [f"YB{i + 1:03d}" for i in range(len(df))])
    return df


def make_credit(
    rng: np.random.Generator, inst: pd.DataFrame, risk: np.ndarray, year: int
) -> pd.DataFrame:
    """Credit ratings A–D (信用风险分类), weakly related to the planted risk."""
    z = rng.normal(0, 1, len(inst)) + 0.9 * risk
    rating = np.select([z < 0.4, z < 1.3, z < 2.2], ["A", "B", "C"], "D")
    return pd.DataFrame(
        {
            "fixmedins_code": inst["fixmedins_code"],
            "rating": rating,
            "rating_date": f"{year - 1}-12-31",
        }
    )
