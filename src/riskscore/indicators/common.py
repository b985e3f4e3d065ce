"""Shared Ibis building blocks: enriched encounters, fee lines and drug prescriptions."""

from __future__ import annotations

import ibis
from ibis import _

from .engine import Context, day_num
from .registry import Skip

FEE_COLS = (
    "bkkp_sn",
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "fee_ocur_time",
    "med_chrgitm_type",
    "hilist_code",
    "medins_list_codg",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "prd_days",
    "rx_drord_no",
    "dscg_tkdrug_flag",
    "med_type",
)
"""fee_list_d columns the indicators read (the others are not carried along)."""


def in_list(col, values):
    values = [str(v) for v in values]
    return col.isin(values) if values else ibis.literal(False)


def setting_of(ctx: Context, med_type):
    """Care setting (outpatient/emergency/chronic/inpatient/pharmacy/other) of a med_type code."""
    cases = [(in_list(med_type, codes), name) for name, codes in ctx.p("settings").items()]
    return ibis.cases(*cases, else_="other")


def _person(ctx: Context):
    if "psn_info_b" not in ctx.t:
        return None
    p = ctx.t["psn_info_b"]
    keep = {"p_psn_no": p.psn_no}
    for c in ("gend", "brdy", "insutype", "chronic_flag", "die_date", "insu_admdvs"):
        if c in p.columns:
            keep["p_" + c] = p[c]
    return p.select(**keep)


def _institution(ctx: Context):
    if "institutions" not in ctx.t:
        return None
    i = ctx.t["institutions"]
    keep = {"i_code": i.fixmedins_code}
    for c in ("hosp_lv", "ownership", "medins_type", "region", "specialty"):
        if c in i.columns:
            keep["i_" + c] = i[c]
    return i.select(**keep)


def _first(*cols):
    cols = [c for c in cols if c is not None]
    if not cols:
        return None
    return ibis.coalesce(*cols) if len(cols) > 1 else cols[0]


def encounters(ctx: Context):
    """mdtrt_d with day numbers, setting and person/institution attributes.

    Columns: mdtrt_id, psn_no, fixmedins_code, med_type, setting, begn_day, end_day,
    begntime, endtime, insutype, gend, age, chronic, die_day, hosp_lv_num, region,
    ownership, medins_type, dx.
    """

    def build():
        m = ctx.t["mdtrt_d"]
        p = _person(ctx)
        inst = _institution(ctx)
        t = m
        if p is not None:
            t = t.left_join(p, t.psn_no == p.p_psn_no)
        if inst is not None:
            t = t.left_join(inst, t.fixmedins_code == inst.i_code)
        cols = t.columns

        def col(name):
            return t[name] if name in cols else None

        begn_day = day_num(t.begntime)
        end_day = day_num(ibis.coalesce(t.endtime, t.begntime))
        brdy = _first(col("brdy"), col("p_brdy"))
        age_calc = (begn_day - day_num(brdy)).cast("float64") / 365.25 if brdy is not None else None
        age = _first(col("age"), age_calc)
        chronic = col("p_chronic_flag")
        lv = _first(col("i_hosp_lv"), col("hosp_lv"))
        region = col("i_region")  # the institution's region (not the insured's 参保地)
        dx = col("dscg_maindiag_code")
        die = col("p_die_date")
        null_s = ibis.null().cast("string")
        null_f = ibis.null().cast("float64")
        return t.select(
            mdtrt_id=t.mdtrt_id,
            psn_no=t.psn_no,
            fixmedins_code=t.fixmedins_code,
            med_type=t.med_type,
            setting=setting_of(ctx, t.med_type),
            begntime=t.begntime,
            endtime=ibis.coalesce(t.endtime, t.begntime),
            begn_day=begn_day,
            end_day=end_day,
            insutype=_first(col("insutype"), col("p_insutype"))
            if ("insutype" in cols or "p_insutype" in cols)
            else null_s,
            gend=_first(col("gend"), col("p_gend"))
            if ("gend" in cols or "p_gend" in cols)
            else null_s,
            age=age.cast("float64") if age is not None else null_f,
            chronic=(chronic.cast("float64").fill_null(0) >= 1)
            if chronic is not None
            else ibis.literal(False),
            die_day=day_num(die) if die is not None else ibis.null().cast("int64"),
            hosp_lv_num=lv.cast("float64") if lv is not None else null_f,
            region=region.cast("string") if region is not None else null_s,
            ownership=col("i_ownership") if col("i_ownership") is not None else null_s,
            medins_type=col("i_medins_type") if col("i_medins_type") is not None else null_s,
            dx=dx if dx is not None else null_s,
        )

    return ctx.cached("encounters", build, materialize=True)


def fee_lines(ctx: Context, include_refunds: bool = False):
    """fee_list_d (positive lines) joined with the :func:`encounters` attributes they need.

    Columns: the :data:`FEE_COLS` present except ``med_type``, plus ``eff_med_type`` (the
    encounter's med_type, else the line's own), ``setting``, ``fee_day`` and the encounter's
    ``insutype, gend, age, chronic, hosp_lv_num, ownership``. Lines whose mdtrt_id is not in
    mdtrt_d keep their own med_type and null attributes. Only the columns the indicators read
    are carried. Not materialised: storing the joined lines costs more time and memory (10M
    lines: +2.4 GB peak) than the per-indicator join; per-encounter sums are shared instead
    (:func:`encounter_fees`).
    """
    if "fee_list_d" not in ctx.t:
        raise Skip("needs table fee_list_d (absent)")

    def build():
        f = ctx.t["fee_list_d"]
        f = f.select(*[c for c in FEE_COLS if c in f.columns])
        if not include_refunds:
            f = f.filter((f.cnt > 0) & (f.det_item_fee_sumamt >= 0))
        e = encounters(ctx)
        e = e.select(
            e_mdtrt_id=e.mdtrt_id,
            enc_med_type=e.med_type,
            insutype=e.insutype,
            gend=e.gend,
            age=e.age,
            chronic=e.chronic,
            hosp_lv_num=e.hosp_lv_num,
            ownership=e.ownership,
        )
        t = f.left_join(e, f.mdtrt_id == e.e_mdtrt_id)
        own_mt = t.med_type if "med_type" in f.columns else ibis.null().cast("string")
        mt = ibis.coalesce(t.enc_med_type, own_mt)
        t = t.mutate(
            eff_med_type=mt,
            setting=setting_of(ctx, mt),
            fee_day=day_num(t.fee_ocur_time),
        )
        return t.drop(*[c for c in ("e_mdtrt_id", "enc_med_type", "med_type") if c in t.columns])

    return ctx.cached(("fee", include_refunds), build, materialize=False)


def own_fee_lines(ctx: Context):
    """The positive fee lines with their own columns only: :func:`fee_lines` without the
    encounter attributes (no ``setting``, ``eff_med_type``, ``insutype`` …; ``fee_day`` kept).

    For the indicators that read none of those: the join with the encounters is most of the
    cost of a query over the lines, and it neither adds nor drops lines (``mdtrt_id`` is the
    key of ``mdtrt_d``; the loaders quarantine duplicate keys), so their units are the same.
    """
    if "fee_list_d" not in ctx.t:
        raise Skip("needs table fee_list_d (absent)")

    def build():
        f = ctx.t["fee_list_d"]
        f = f.select(*[c for c in FEE_COLS if c in f.columns and c != "med_type"])
        f = f.filter((f.cnt > 0) & (f.det_item_fee_sumamt >= 0))
        return f.mutate(fee_day=day_num(f.fee_ocur_time))

    return ctx.cached("fee_own", build, materialize=False)


def join_groups(t, g, keys: list):
    """Join the one-row-per-group table ``g`` (grouped by ``keys`` of ``t``) back onto ``t``
    on the keys, null-safe (a null key matches the null group, as in a window partition)."""
    g = g.rename({f"_gk_{i}": k for i, k in enumerate(keys)})
    cond = [t[k].identical_to(g[f"_gk_{i}"]) for i, k in enumerate(keys)]
    return t.join(g, cond).drop(*[f"_gk_{i}" for i in range(len(keys))])


def group_stats(t, keys: list, **aggs):
    """Add per-group aggregates to every row of ``t``.

    The result of ``agg.over(ibis.window(group_by=keys))``, computed as a ``GROUP BY``
    joined back on the keys (:func:`join_groups`), which DuckDB runs about twice as fast as a
    partitioned window (no sort of the whole table per window).

    Parameters
    ----------
    t : ibis.Table
    keys : list of str
        Grouping columns of ``t`` (nulls form their own group, as in a window partition).
    **aggs
        Deferred aggregates (``_.x.sum()``) named by the new columns.

    Returns
    -------
    ibis.Table
        ``t`` with the aggregate columns added.
    """
    return join_groups(t, t.group_by(keys).aggregate(**aggs), keys)


def encounter_fees(ctx: Context):
    """Fee-line sums per ``mdtrt_id`` (positive lines, :func:`own_fee_lines`), shared by the
    fee-share and tests-per-encounter indicators (one pass over the lines instead of one each).

    Columns: f_mid (the mdtrt_id), f_total (sum of det_item_fee_sumamt), f_drug,
    f_consumable, f_test (the amount of the lines of those ``chrgitm_types``), f_n_test (the
    number of test lines).
    """

    def build():
        f = own_fee_lines(ctx)  # the lines' own columns suffice
        ty = ctx.p("chrgitm_types")
        amt = f.det_item_fee_sumamt
        aggs = {"f_total": amt.sum()}
        for kind in ("drug", "consumable", "test"):
            aggs[f"f_{kind}"] = ibis.ifelse(in_list(f.med_chrgitm_type, ty[kind]), amt, 0.0).sum()
        # as count() of the test lines: a null category is not a test line
        aggs["f_n_test"] = in_list(f.med_chrgitm_type, ty["test"]).cast("int64").sum()
        return f.group_by(f.mdtrt_id).aggregate(**aggs).rename(f_mid="mdtrt_id")

    return ctx.cached("enc_fees", build, materialize=True)


def generic_key(ctx: Context, code):
    """Generic (ingredient) key of a national drug code: X… first 10 chars, Z… first 11."""
    lens = ctx.p("generic_key_length")
    cases = [(code.startswith(prefix), code.substr(0, int(n))) for prefix, n in lens.items()]
    return ibis.cases(*cases, else_=code)


def days_limit(ctx: Context, setting, chronic):
    """Days-supply limit of a line's setting (None for settings without a limit)."""
    lim = ctx.p("days_supply_limit")
    pharm_chronic = bool(ctx.p("pharmacy_chronic_uses_chronic_limit"))
    pharmacy_lim = ibis.literal(float(lim["outpatient"]))
    if pharm_chronic:
        pharmacy_lim = ibis.ifelse(chronic, float(lim["chronic"]), float(lim["outpatient"]))
    return ibis.cases(
        (setting == "outpatient", float(lim["outpatient"])),
        (setting == "emergency", float(lim["emergency"])),
        (setting == "chronic", float(lim["chronic"])),
        (setting == "pharmacy", pharmacy_lim),
        else_=ibis.null().cast("float64"),
    )


def prescriptions(ctx: Context):
    """Drug prescriptions: one row per institution × person × generic × prescription number.

    A prescription is the drug lines (09/10/11, ``prd_days`` > 0) of one ``rx_drord_no``
    (else one encounter) for one generic key, outside inpatient care (discharge drugs
    ``dscg_tkdrug_flag=1`` included). Columns: fixmedins_code, psn_no, generic, rx, mdtrt_id,
    start_day, days, end_day, setting, limit_days, chronic.
    """
    ctx.require("fee_list_d", "prd_days", "hilist_code", "psn_no")

    def build():
        f = fee_lines(ctx)
        drug = in_list(f.med_chrgitm_type, ctx.p("chrgitm_types")["drug"])
        out_of_ipt = f.setting != "inpatient"
        if "dscg_tkdrug_flag" in f.columns:
            out_of_ipt = out_of_ipt | (f.dscg_tkdrug_flag == "1")
        f = f.filter(drug & out_of_ipt & f.prd_days.notnull() & (f.prd_days > 0))
        rx = f.rx_drord_no if "rx_drord_no" in f.columns else f.mdtrt_id
        f = f.mutate(generic=generic_key(ctx, f.hilist_code), rx=ibis.coalesce(rx, f.mdtrt_id))
        g = f.group_by(["fixmedins_code", "psn_no", "generic", "rx"]).aggregate(
            mdtrt_id=_.mdtrt_id.min(),
            start_day=_.fee_day.min(),
            days=_.prd_days.max(),
            setting=_.setting.min(),
            chronic=_.chronic.any(),
        )
        g = g.mutate(
            end_day=g.start_day + g.days.cast("int64"),
            limit_days=days_limit(ctx, g.setting, g.chronic.fill_null(False)),
        )
        return g

    return ctx.cached("rx", build, materialize=True)
