"""重复收费 duplicate charging: a 两库 b7 main item and an item it includes, billed together."""

from __future__ import annotations

import ibis
from ibis import _

from .common import own_fee_lines
from .engine import Context, units
from .registry import indicator

_T0 = ibis.timestamp("2000-01-01 00:00:00")


@indicator(
    id="dc_b7_pairs",
    family="duplicate_charging",
    zh="两库重复收费项目对的就诊日占比",
    en="Share of encounter-days with a 两库 duplicate-charging pair",
    basis="国家医保局 两库 第七批 重复收费 (b7_item_duplicate_charging); 条例 第十五条 (重复收费)",
    needs={"fee_list_d": ["hilist_code", "fee_ocur_time"]},
    params=[],
    description_zh="分子: 同一就诊在 b7 频度内 (单日/单次就诊/同一小时/6小时) 同时收取主项及其已包含从项的就诊日数; 分母: 收取 b7 主项的就诊日数",
    description_en="numerator: encounter-days where a b7 main item and an item it includes are billed within the pair's scope (same day / same encounter / same hour / 6 hours); denominator: encounter-days billing a b7 main item",
    unit="encounter-day (mdtrt_id; detail = day, main→sub)",
)
def dc_b7_pairs(ctx: Context):
    f = own_fee_lines(ctx)
    pairs = ctx.lk["lk_pairs"]
    mains = pairs.select(m_code=pairs.main_code).distinct()
    base = f.select(
        fixmedins_code=f.fixmedins_code,
        mdtrt_id=f.mdtrt_id,
        code=f.hilist_code,
        day=f.fee_day,
        minute=f.fee_ocur_time.delta(_T0, unit="minute"),
        bkkp_sn=f.bkkp_sn,
    )
    m = base.join(mains, base.code == mains.m_code).drop("m_code")
    mp = m.join(pairs, m.code == pairs.main_code)
    s = base.select(s_mdtrt=base.mdtrt_id, s_code=base.code, s_day=base.day, s_minute=base.minute)
    j = mp.join(s, [mp.mdtrt_id == s.s_mdtrt, mp.sub_code == s.s_code])
    ok = ibis.cases(
        (j.scope == "day", j.day == j.s_day),
        (j.scope == "encounter", ibis.literal(True)),
        (j.scope == "hour", (j.minute // 60) == (j.s_minute // 60)),
        (j.scope == "hours6", (j.minute - j.s_minute).abs() < 360),
        else_=ibis.literal(False),
    )
    hits = (
        j.filter(ok)
        .group_by(["mdtrt_id", "day"])
        .aggregate(pair=(_.code.concat("→", _.sub_code)).min())
    )
    hits = hits.select(h_id=hits.mdtrt_id, h_day=hits.day, pair=hits.pair)
    d = m.group_by(["fixmedins_code", "mdtrt_id", "day"]).aggregate(n=_.count())
    d = d.left_join(hits, [d.mdtrt_id == hits.h_id, d.day == hits.h_day])
    flag = d.pair.notnull()
    return units(
        d,
        d.fixmedins_code,
        "mdtrt_d",
        d.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("day=").concat(d.day.cast("string"), " ", d.pair.fill_null("")),
    )
