"""进销存 uploads (interfaces 3501–3506) with drug traceability codes, and planted 回流药.

Built after the claims: every drug line (西药/中成药) of a pharmacy or clinic, up to
:data:`MAX_TRACED_PER_INSTITUTION` per institution, is one traced package sold (3505, with the
line's ``setl_id``) and purchased before (3503, one batch per product, plus a few packages
still in stock). A stocktake (3501) opens each product at zero at the start of the year and
counts what is left at the end; 3502 records a few breakages.

Planted family ``drug_resale`` (truth in ``truth.csv`` / ``truth_claims.csv`` /
``truth_intensity.csv``): at some pharmacies and clinics a share of the sales carry a code that
was already sold earlier (at any institution) and never purchased by the reseller (回流药).
Decoys (``truth_inventory_decoys.csv``, institutions not in ``truth.csv``): legitimate refunds
(3506) followed by a re-sale of the same code at the same institution, and purchase returns
(3504) of unsold packages — neither is resale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.synth.writers import write_csv

MAX_TRACED_PER_INSTITUTION = 150
"""Traced sales kept per institution (bounded size at any scale)."""
MIN_TRACED = 30
"""Institutions with fewer traced sales are neither violators nor decoys."""
FAMILY = "drug_resale"
DRUG_TYPES = ("09", "11")


def _read(out: Path, name: str, columns: list[str]) -> pd.DataFrame:
    pq = out / f"{name}.parquet"
    if pq.exists():
        return pd.read_parquet(pq, columns=columns)
    return pd.read_csv(out / f"{name}.csv", usecols=columns, dtype=str)


def _write(df: pd.DataFrame, out: Path, name: str, fmt: str) -> None:
    from riskscore.contract import TABLES

    cols = [c.name for c in TABLES[name].columns if c.name in df.columns]
    df = df[cols]
    if fmt == "parquet":
        df.to_parquet(out / f"{name}.parquet", index=False)
    else:
        write_csv(df, out / f"{name}.csv", float_format="%.4f")


def _trace_code(i: np.ndarray) -> np.ndarray:
    # 20-digit 药品追溯码: 7-digit product prefix + 13-digit serial
    return np.char.add("8130000", np.char.zfill(i.astype(str), 13))


def add_inventory(out: Path, seed: int, prevalence: float, fmt: str = "parquet") -> dict:
    """Write the six ``inv_*`` tables into ``out`` and add the ``drug_resale`` truth.

    Returns row counts per table and the number of violators and decoys.
    """
    out = Path(out)
    rng = np.random.default_rng([seed, 311])
    inst = pd.read_csv(out / "institutions.csv", dtype=str)
    retail = inst.loc[inst["medins_type"].isin(["pharmacy", "clinic"]), "fixmedins_code"]
    fee = _read(
        out,
        "fee_list_d",
        [
            "fixmedins_code",
            "setl_id",
            "psn_no",
            "hilist_code",
            "med_chrgitm_type",
            "cnt",
            "pric",
            "fee_ocur_time",
        ],
    )
    fee = fee[
        fee["fixmedins_code"].isin(set(retail))
        & fee["med_chrgitm_type"].astype(str).isin(DRUG_TYPES)
        & (pd.to_numeric(fee["cnt"]) > 0)
    ].copy()
    fee["fee_ocur_time"] = pd.to_datetime(fee["fee_ocur_time"])
    fee["pric"] = pd.to_numeric(fee["pric"]).astype(float)
    fee = fee.sort_values(["fixmedins_code", "fee_ocur_time", "setl_id", "hilist_code"])
    fee = fee.groupby("fixmedins_code", sort=True).head(MAX_TRACED_PER_INSTITUTION)
    fee = fee.sort_values(["fee_ocur_time", "fixmedins_code", "setl_id"]).reset_index(drop=True)
    n = len(fee)
    sale = pd.DataFrame(
        {
            "fixmedins_code": fee["fixmedins_code"].astype(str),
            "med_list_codg": fee["hilist_code"].astype(str),
            "fixmedins_hilist_id": fee["hilist_code"].astype(str),
            "fixmedins_bchno": fee["fixmedins_code"].astype(str) + "-" + fee["hilist_code"],
            "rx_flag": "1",
            "setl_id": fee["setl_id"].astype(str),
            "psn_no": fee["psn_no"].astype(str),
            "trdn_flag": "0",
            "pric": fee["pric"],
            "finl_trns_pric": fee["pric"],
            "sel_retn_cnt": 1.0,
            "sel_retn_time": fee["fee_ocur_time"],
            "drug_trac_codg": _trace_code(np.arange(n)),
        }
    )
    sold_by = sale.groupby("fixmedins_code").size()
    eligible = sorted(sold_by[sold_by >= MIN_TRACED].index)
    truth = pd.read_csv(out / "truth.csv", dtype=str)
    k = min(len(eligible), max(3, int(round(prevalence * len(eligible)))))
    violators = sorted(rng.choice(eligible, size=k, replace=False).tolist()) if k else []
    # resales: the reseller sells codes already sold earlier elsewhere (or by itself)
    truth_claims, intensity = [], []
    resold_rows: set[int] = set()
    used_src: set[int] = set()
    times = sale["sel_retn_time"].to_numpy()
    for code in violators:
        rows = np.flatnonzero((sale["fixmedins_code"] == code).to_numpy())
        share = float(rng.uniform(0.08, 0.25))
        cand = [r for r in rows if times[r] > times[0]]
        m = max(8, int(round(share * len(rows))))
        picks = sorted(rng.choice(cand, size=min(m, len(cand)), replace=False).tolist())
        for r in picks:
            earlier = np.flatnonzero(times < times[r])
            earlier = [e for e in earlier if e not in resold_rows and e not in picks]
            if not earlier:
                continue
            src = int(rng.choice(earlier))
            used_src.add(src)
            sale.loc[r, "drug_trac_codg"] = sale.loc[src, "drug_trac_codg"]
            resold_rows.add(r)
            rid = f"{sale.loc[r, 'setl_id']}/{sale.loc[r, 'drug_trac_codg']}"
            truth_claims.append((code, FAMILY, "inv_sale", rid))
        planted = sum(1 for t in truth_claims if t[0] == code)
        amount = float(sale.loc[sorted(resold_rows & set(rows)), "pric"].sum())
        intensity.append((code, FAMILY, round(planted / len(rows), 4), planted, round(amount, 2)))
    # purchases: every code the institution sold honestly, plus 1–5 packages per product in stock
    honest = sale.drop(index=sorted(resold_rows))
    buy_rows = []
    serial = n
    for (code, prod), g in honest.groupby(["fixmedins_code", "med_list_codg"], sort=True):
        extra = int(rng.integers(1, 6))
        codes = list(g["drug_trac_codg"]) + list(_trace_code(np.arange(serial, serial + extra)))
        serial += extra
        when = g["sel_retn_time"].min().normalize() - pd.Timedelta(days=int(rng.integers(5, 30)))
        price = round(float(g["pric"].iloc[0]) * 0.85, 4)
        for c in codes:
            buy_rows.append((code, prod, f"{code}-{prod}", c, price, when))
    buy = pd.DataFrame(
        buy_rows,
        columns=[
            "fixmedins_code",
            "med_list_codg",
            "fixmedins_bchno",
            "drug_trac_codg",
            "finl_trns_pric",
            "purc_retn_stoin_time",
        ],
    )
    buy["fixmedins_hilist_id"] = buy["med_list_codg"]
    buy["spler_name"] = "医药有限公司"
    buy["purc_retn_cnt"] = 1.0
    buy["rx_flag"] = "1"
    # decoys: refunds then re-sales at the same institution; purchase returns of unsold stock
    in_truth = set(truth["fixmedins_code"]) | set(violators)
    old_decoys = pd.read_csv(out / "truth_decoys.csv", dtype=str)["fixmedins_code"]
    pool = [c for c in eligible if c not in in_truth and c not in set(old_decoys)]
    nd = min(len(pool), max(3, len(violators)))
    decoys = sorted(rng.choice(pool, size=nd, replace=False).tolist()) if nd else []
    ret_rows, resale_rows = [], []
    for code in decoys:
        rows = honest.index[honest["fixmedins_code"] == code].difference(sorted(used_src))
        m = max(3, int(round(float(rng.uniform(0.08, 0.25)) * len(rows))))
        for r in sorted(rng.choice(rows, size=min(m, len(rows)), replace=False).tolist()):
            s = sale.loc[r].copy()
            t_ret = s["sel_retn_time"] + pd.Timedelta(days=int(rng.integers(1, 4)))
            ret = s.copy()
            ret["sel_retn_cnt"] = -1.0
            ret["sel_retn_time"] = t_ret
            ret_rows.append(ret)
            again = s.copy()
            again["setl_id"] = f"{s['setl_id']}R"
            again["sel_retn_time"] = t_ret + pd.Timedelta(days=int(rng.integers(1, 20)))
            resale_rows.append(again)
    sale_ret = pd.DataFrame(ret_rows, columns=sale.columns)
    if resale_rows:
        sale = pd.concat([sale, pd.DataFrame(resale_rows)], ignore_index=True)
    sale = sale.sort_values(["sel_retn_time", "fixmedins_code", "setl_id"]).reset_index(drop=True)
    sold_codes = set(sale["drug_trac_codg"])
    unsold = buy[buy["fixmedins_code"].isin(decoys) & ~buy["drug_trac_codg"].isin(sold_codes)]
    pret = unsold.groupby(["fixmedins_code", "med_list_codg"]).head(1).copy()
    pret["purc_retn_stoin_time"] = pret["purc_retn_stoin_time"] + pd.Timedelta(days=60)
    # stocktake: zero at the start of the year, what is left at the end
    year = int(sale["sel_retn_time"].dt.year.min()) if n else 2025
    net_sold = (
        pd.concat([sale.assign(q=1.0), sale_ret.assign(q=-1.0)], ignore_index=True)
        .groupby(["fixmedins_code", "med_list_codg"])["q"]
        .sum()
    )
    bought = buy.groupby(["fixmedins_code", "med_list_codg"])["purc_retn_cnt"].sum()
    returned = pret.groupby(["fixmedins_code", "med_list_codg"])["purc_retn_cnt"].sum()
    keys = bought.index
    left = bought - returned.reindex(keys, fill_value=0) - net_sold.reindex(keys, fill_value=0)
    st = pd.DataFrame(
        {
            "fixmedins_code": [a for a, _ in keys] * 2,
            "med_list_codg": [b for _, b in keys] * 2,
            "invdate": [pd.Timestamp(f"{year}-01-01")] * len(keys)
            + [pd.Timestamp(f"{year}-12-31")] * len(keys),
            "inv_cnt": [0.0] * len(keys) + [float(max(v, 0.0)) for v in left],
        }
    )
    st["fixmedins_hilist_id"] = st["med_list_codg"]
    chg = buy.groupby("fixmedins_code").head(1)[["fixmedins_code", "med_list_codg"]].copy()
    chg = chg.iloc[: max(1, len(chg) // 10)]
    chg["inv_chg_type"] = "104"  # 报损
    chg["cnt"] = 0.0
    chg["pric"] = 0.0
    chg["inv_chg_time"] = pd.Timestamp(f"{year}-06-30 17:00:00")
    tables = {
        "inv_stocktake": st,
        "inv_change": chg,
        "inv_purchase": buy,
        "inv_purchase_return": pret,
        "inv_sale": sale,
        "inv_sale_return": sale_ret,
    }
    for name, df in tables.items():
        _write(df.reset_index(drop=True), out, name, fmt)
    # truth
    t = pd.concat(
        [truth, pd.DataFrame([(c, FAMILY) for c in violators], columns=truth.columns)],
        ignore_index=True,
    )
    t.sort_values(list(t.columns)).to_csv(out / "truth.csv", index=False, lineterminator="\n")
    with open(out / "truth_claims.csv", "a", encoding="utf-8", newline="") as fh:
        for row in sorted(truth_claims):
            fh.write(",".join(row) + "\n")
    ti = pd.read_csv(out / "truth_intensity.csv", dtype=str)
    ti = pd.concat([ti, pd.DataFrame(intensity, columns=ti.columns).astype(str)])
    ti.sort_values(["fixmedins_code", "family"]).to_csv(
        out / "truth_intensity.csv", index=False, lineterminator="\n"
    )
    kinds = [(c, "refund_resale_purchase_return") for c in decoys]
    pd.DataFrame(kinds, columns=["fixmedins_code", "kind"]).to_csv(
        out / "truth_inventory_decoys.csv", index=False, lineterminator="\n"
    )
    return {
        "rows": {k: len(v) for k, v in tables.items()},
        "violators": len(violators),
        "decoys": len(decoys),
    }
