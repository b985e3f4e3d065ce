"""串换 substitution: code-mapping mismatches and sales above purchases (进销存)."""

from __future__ import annotations

import ibis
from ibis import _

from .common import own_fee_lines
from .engine import Context, units
from .registry import indicator


@indicator(
    id="sub_code_mapping_mismatch",
    family="substitution",
    zh="机构目录编码与医保目录编码对照异常明细占比",
    en="Share of lines whose hospital code maps to a national code other than its usual one",
    basis="条例 第十五条 (串换药品、医用耗材、诊疗项目); 医保目录对照管理",
    needs={"fee_list_d": ["medins_list_codg", "hilist_code"]},
    params=["mapping_min_lines"],
    description_zh="分子: 机构目录编码 (medins_list_codg) 所对应的医保目录编码不同于该机构该编码最常见对照的明细数; 分母: 有机构目录编码的明细数",
    description_en="numerator: lines whose (medins_list_codg → hilist_code) differs from the institution's dominant mapping of that hospital code; denominator: lines with a hospital code",
    unit="fee line (bkkp_sn)",
)
def sub_code_mapping_mismatch(ctx: Context):
    f = own_fee_lines(ctx)
    f = f.filter(f.medins_list_codg.notnull())
    c = f.group_by(["fixmedins_code", "medins_list_codg", "hilist_code"]).aggregate(n=_.count())
    w = ibis.window(group_by=[c.fixmedins_code, c.medins_list_codg])
    c = c.mutate(nmax=c.n.max().over(w), ntot=c.n.sum().over(w))
    c = c.select(
        c_inst=c.fixmedins_code,
        c_mlc=c.medins_list_codg,
        c_code=c.hilist_code,
        dominant=(c.n == c.nmax),
        n=c.n,
        ntot=c.ntot,
    )
    c = c.filter(c.ntot >= int(ctx.p("mapping_min_lines")))
    # lines of a dominant mapping are not flagged: one unit row per such mapping (den = its line
    # count, no id) instead of joining every line back; only non-dominant mappings are joined
    # back to their lines (the flagged units, with their bkkp_sn)
    dom = c.filter(c.dominant & c.c_inst.notnull() & c.c_code.notnull())
    dom_units = units(
        dom,
        dom.c_inst,
        "fee_list_d",
        ibis.null().cast("string"),
        num=ibis.literal(0.0),
        den=dom.n,
        flag=ibis.literal(False),
    )
    odd = c.filter(~c.dominant)
    j = f.join(
        odd,
        [
            f.fixmedins_code == odd.c_inst,
            f.medins_list_codg == odd.c_mlc,
            f.hilist_code == odd.c_code,
        ],
    )
    odd_units = units(
        j,
        j.fixmedins_code,
        "fee_list_d",
        j.bkkp_sn,
        num=ibis.literal(1.0),
        flag=ibis.literal(True),
        detail=j.medins_list_codg.concat("→", j.hilist_code),
    )
    return dom_units.union(odd_units, distinct=False)


@indicator(
    id="sub_sales_over_stock",
    family="substitution",
    zh="销售数量超过期初库存与入库数量的品种占比 (进销存)",
    en="Share of products whose sales exceed opening stock plus purchases",
    basis="条例 第十五条 (串换); 进销存核查 (seed 003 §六)",
    needs={"stock_moves": ["product_code", "move_type", "qty"]},
    params=["stock_sales_tolerance"],
    description_zh="分子: 销售出库数量 > (期初库存 + 入库) × (1+容差) 的品种数; 分母: 有进销存记录的品种数",
    description_en="numerator: products whose sales exceed (opening + in) × (1 + tolerance); denominator: products with stock movements",
    unit="product (stock_moves.product_code)",
)
def sub_sales_over_stock(ctx: Context):
    s = ctx.t["stock_moves"]
    s = s.mutate(
        avail=ibis.ifelse(s.move_type.isin(["opening", "in"]), s.qty, 0.0),
        sold=ibis.ifelse(s.move_type == "sale", s.qty, 0.0),
    )
    g = s.group_by(["fixmedins_code", "product_code"]).aggregate(
        avail=_.avail.sum(), sold=_.sold.sum()
    )
    flag = g.sold > g.avail * (1.0 + float(ctx.p("stock_sales_tolerance")))
    return units(
        g,
        g.fixmedins_code,
        "stock_moves",
        g.product_code,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("sold=").concat(
            g.sold.round(1).cast("string"), " available=", g.avail.round(1).cast("string")
        ),
    )
