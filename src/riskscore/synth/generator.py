"""The synthetic province generator (合成省份): registries, claims, procurement, truth."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.errors import RiskscoreError
from riskscore.paths import NHSA_RULES_DIR
from riskscore.synth import registry as reg
from riskscore.synth import utilization as ut
from riskscore.synth.catalogue import Catalogue, load_catalogue
from riskscore.synth.claims import (
    BIT,
    DIAG_CODES,
    DIAG_NAMES,
    ENC_FAMS,
    FAMS,
    LINE_FAMS,
    Enc,
    choose,
    diag_pick,
)
from riskscore.synth.writers import TableSink, write_csv

MODE_HANG, MODE_TESTDOM, MODE_OVERTEST, MODE_DUPCHG, MODE_CHEMO = 1, 2, 4, 8, 16
DAY_S = 86400
BLOCK_ENCOUNTERS = 120_000

# expected fee lines per encounter, used to turn a fee-line target into encounter counts
LINES_PER_ENC = {11: 3.6, 13: 4.2, 14: 3.0, 21: 55.0, 41: 1.5}
LINES_CALIBRATION = 0.885  # measured fee lines / expected at 0.45M, 1M and 10M targets
LINES_PER_STAY = {"rehabilitation": 220.0, "psychiatric": 170.0, "oncology": 26.0, "dialysis": 30.0}
FAMILY_TYPES = {
    "over_prescription": {"hospital", "clinic", "pharmacy"},
    "duplicate_prescribing": {"hospital", "clinic", "pharmacy"},
    "split_prescription": {"hospital", "clinic", "pharmacy"},
    "split_hospitalization": {"hospital"},
    "bed_hanging": {"hospital"},
    "over_testing": {"hospital", "clinic"},
    "duplicate_charging": {"hospital", "clinic"},
    "restricted_items": {"hospital", "clinic", "pharmacy"},
    "substitution": {"hospital", "clinic", "pharmacy"},
    "identity_fraud": {"hospital", "clinic", "pharmacy"},
    "procurement": {"hospital"},
    "zero_markup": {"hospital"},
}
CROSS_SHARE = {"identity_fraud": 0.5, "bed_hanging": 0.25, "duplicate_prescribing": 0.3}
MIN_AFFECTED = 8
MIN_ELIGIBLE = 40
MIN_VIOLATORS = 5
LONG_STAY_EVERY = 10  # every 10th person is reserved for long stays and chemotherapy cycles


@dataclass
class SynthConfig:
    """Parameters of a synthetic province.

    Parameters
    ----------
    institutions : int
        Number of designated institutions (定点医药机构数).
    seed : int
        Master seed; every random stream is derived from it.
    fee_lines : int, optional
        Approximate number of fee lines (费用明细条数); default 1,500 per institution.
    persons : int, optional
        Insured persons (参保人数); default fee_lines / 8 (at least 3,000).
    year : int
        Claims year (结算年度).
    prevalence : float
        Share of eligible institutions planted with each family (各类违规机构占比).
    intensity : tuple of float
        Range of a violator's share of eligible claims affected (log-uniform).
    background : float
        Mean background rate of the same patterns at every institution (数据噪声).
    fmt : str
        ``parquet`` or ``csv`` for the claims and other large tables.
    progress : bool
        Show a tqdm progress bar on stderr.
    tables : str
        ``all`` (every table) or ``first-extract``: only ``mdtrt_d``, ``setl_d``,
        ``setl_list_diag_d``, ``institutions`` and ``credit_ratings`` (a bureau's first
        extract); only the utilisation abuses are planted then (the other families would
        leave no trace in those tables).
    utilization : bool, optional
        Plant the utilisation abuses (:mod:`riskscore.synth.utilization`); default: only
        with ``tables="first-extract"``.
    strength : str
        ``default`` or ``subtle`` intensity of the utilisation abuses (subtle: violators
        within 1.5–2 × their peers).
    """

    institutions: int = 300
    seed: int = 7
    fee_lines: int | None = None
    persons: int | None = None
    year: int = 2025
    prevalence: float = 0.08
    intensity: tuple[float, float] = (0.03, 0.30)
    background: float = 0.004
    fmt: str = "parquet"
    progress: bool = True
    tables: str = "all"
    utilization: bool | None = None
    strength: str = "default"

    def resolved(self) -> SynthConfig:
        if self.institutions < 20:
            raise RiskscoreError(f"--institutions {self.institutions}: expected at least 20")
        if not 0 < self.prevalence < 0.5:
            raise RiskscoreError(f"--prevalence {self.prevalence}: expected a share in (0, 0.5)")
        if self.fmt not in ("parquet", "csv"):
            raise RiskscoreError(f"--format {self.fmt}: expected parquet or csv")
        if self.tables not in ("all", "first-extract"):
            raise RiskscoreError(f"--tables {self.tables}: expected all or first-extract")
        if self.strength not in ("default", "subtle"):
            raise RiskscoreError(f"--intensity {self.strength}: expected default or subtle")
        fl = self.fee_lines or 1500 * self.institutions
        if fl < 200 * self.institutions:
            raise RiskscoreError(
                f"--fee-lines {fl}: expected at least 200 per institution ({200 * self.institutions})"
            )
        ps = self.persons or max(3000, fl // 8)
        return SynthConfig(
            self.institutions,
            self.seed,
            fl,
            ps,
            self.year,
            self.prevalence,
            self.intensity,
            self.background,
            self.fmt,
            self.progress,
            self.tables,
            self.tables == "first-extract" if self.utilization is None else self.utilization,
            self.strength,
        )


@dataclass
class InstCtx:
    i: int
    code: str
    mtype: str
    lv: int
    public: bool
    region: int
    decoy: str
    specialty: str
    markup: float
    counts: dict
    nblocks: int
    test_mult: float
    pools: list
    violator: dict = field(default_factory=dict)  # family -> intensity
    k_local: dict = field(default_factory=dict)  # family -> affected units to plant locally
    bg: dict = field(default_factory=dict)  # family -> background rate
    specials: list = field(default_factory=list)  # Enc parts appended to block 0


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


# --------------------------------------------------------------------------- global state
class Province:
    """Everything shared by the blocks (catalogue, persons, institutions, pools)."""

    def __init__(self, cfg: SynthConfig, rules_dir: Path):
        self.cfg = cfg
        self.cat: Catalogue = load_catalogue(rules_dir, rng_for(cfg.seed, 1))
        d = self.cat.drugs
        self.d_code = d["code"].to_numpy()
        self.d_name = d["name"].to_numpy()
        self.d_gkey = d["generic_key"].to_numpy()
        self.d_cat = d["chrgitm"].astype(int).to_numpy()
        self.d_price = d["unit_price"].to_numpy(float)
        self.d_du = d["daily_units"].to_numpy(np.int64)
        restr = d["restriction"].to_numpy()
        src = d["source"].to_numpy()
        single = d["n_restr"].to_numpy() == 1
        # honest pools hold codes with exactly one restriction, so honest use never breaks
        # another rule; the planted restricted lines draw from the same pools
        self.pool = {
            "common": np.flatnonzero(src == "common"),
            "brand": np.flatnonzero(src == "common_brand"),
            "male": np.flatnonzero((restr == "male") & single),
            "female": np.flatnonzero((restr == "female") & single),
            "child": np.flatnonzero((restr == "child") & single),
            "work": np.flatnonzero(d["work_injury"].to_numpy()),
            "inpt": np.flatnonzero((restr == "inpatient") & single),
            "lv2": np.flatnonzero((restr == "level2") & single),
            "lv3": np.flatnonzero((restr == "level3") & single),
            "course": np.flatnonzero((restr == "course") & single),
        }
        # brand (originator) product of each common drug, for substitution
        self.brand_of = np.full(len(d), -1, np.int64)
        for b in self.pool["brand"]:
            gk = self.d_gkey[b]
            for c in self.pool["common"]:
                if self.d_gkey[c] == gk:
                    self.brand_of[c] = b
        it = self.cat.items
        self.i_code = it["code"].to_numpy()
        self.i_name = it["name"].to_numpy()
        self.i_cat = it["chrgitm"].astype(int).to_numpy()
        self.i_price = it["price"].to_numpy(float)
        kinds = it["kind"].to_numpy()
        self.IT = {
            k: int(np.flatnonzero(kinds == k)[0])
            for k in (
                "consult_out",
                "consult_er",
                "consult_ipt",
                "bed",
                "nursing",
                "monitor",
                "dialysis",
                "psych",
                "period",
                "period_rehab",
            )
        }
        self.it_rehab = np.flatnonzero(kinds == "rehab")
        self.it_treat = np.flatnonzero(kinds == "treat")
        self.it_surgery = np.flatnonzero(kinds == "surgery")
        self.it_test = np.concatenate(
            [np.flatnonzero(kinds == "test"), np.flatnonzero(kinds == "b7_main")]
        )
        self.it_exp_test = np.flatnonzero(
            np.isin(
                it["code"].to_numpy(),
                ["2103000010000", "2201000010000", "2102010010000", "3107010010000"],
            )
        )
        code_to_item = {c: k for k, c in enumerate(self.i_code)}
        pairs = self.cat.b7_pairs
        self.b7_main = np.array([code_to_item[c] for c in pairs["main_code"]], np.int64)
        self.b7_sub = np.array([code_to_item[c] for c in pairs["sub_code"]], np.int64)
        self.hba1c = int(np.flatnonzero(it["code"].to_numpy() == "2503020030000")[0])

        prng = rng_for(cfg.seed, 2)
        self.persons = reg.make_persons(prng, cfg.persons, cfg.year)
        p = self.persons
        self.never_dies = p["die_day"] < 0
        self.region_start = np.searchsorted(p["region"], np.arange(len(reg.REGIONS)))
        self.region_end = np.searchsorted(p["region"], np.arange(len(reg.REGIONS)), "right")
        alive = [
            (np.flatnonzero(self.never_dies[s:e]) + s).astype(np.int32)
            for s, e in zip(self.region_start, self.region_end, strict=True)
        ]
        self.alive_by_region = [a[a % LONG_STAY_EVERY != 0] for a in alive]
        self.long_stay_by_region = [
            a[(a % LONG_STAY_EVERY == 0) & (p["chronic"][a] == 0)] for a in alive
        ]
        self.chronic_by_region = [a[p["chronic"][a] == 1] for a in self.alive_by_region]
        self.series_used = np.zeros(cfg.persons, np.int16)
        self.alive_all = np.flatnonzero(
            self.never_dies & (np.arange(cfg.persons) % LONG_STAY_EVERY != 0)
        ).astype(np.int32)
        self.dead = np.flatnonzero((p["die_day"] >= 0) & (p["die_day"] <= 320))

        irng = rng_for(cfg.seed, 3)
        self.inst = reg.make_institutions(irng, cfg.institutions)
        self.pa_code = pa.array(np.concatenate([self.d_code, self.i_code]).tolist(), pa.string())
        self.pa_name = pa.array(np.concatenate([self.d_name, self.i_name]).tolist(), pa.string())
        # 集采: the first (cheapest-listed) common product of each generic is the selected one
        com = self.pool["common"]
        sel, nonsel, nonsel_of = [], [], {}
        for gk in sorted(set(self.d_gkey[com])):
            members = com[self.d_gkey[com] == gk]
            sel.append(int(members[0]))
            for m in members[1:]:
                nonsel.append(int(m))
                nonsel_of.setdefault(int(members[0]), int(m))
        self.selected = np.array(sel, np.int64)
        self.nonselected = np.array(nonsel, np.int64)
        self.nonsel_of = nonsel_of
        self.sel_x = np.array([k for k in sel if self.d_code[k].startswith("X")], np.int64)
        # b7 pairs whose included item is never billed honestly
        honest = (
            set(self.it_test.tolist())
            | set(self.it_treat.tolist())
            | set(self.it_rehab.tolist())
            | set(self.it_surgery.tolist())
            | set(self.IT.values())
        )
        keep = np.array([s not in honest for s in self.b7_sub], bool)
        self.b7_main, self.b7_sub = self.b7_main[keep], self.b7_sub[keep]

    PERSON_CHUNK = 500_000

    def build_persons(self, sink: TableSink | None) -> None:
        """Generate ``psn_info_b`` chunk by chunk (streamed to ``sink``), keeping only the
        birth dates and the personal data that the claims tables repeat."""
        cfg = self.cfg
        certno, names, brdy = [], [], []
        schema = _schema("psn_info_b")
        for k, start in enumerate(range(0, cfg.persons, self.PERSON_CHUNK)):
            stop = min(cfg.persons, start + self.PERSON_CHUNK)
            t = reg.persons_table(rng_for(cfg.seed, 8, k), self.persons, start, stop, cfg.year)
            if sink is not None:
                sink.write(_fit(t, schema))
            certno.append(t["certno"].combine_chunks())
            names.append(t["psn_name"].combine_chunks())
            brdy.append(t["brdy"].combine_chunks().to_numpy(zero_copy_only=False))
            del t
        self.certno = pa.concat_arrays(certno)
        self.psn_name = pa.concat_arrays(names)
        self.brdy = np.concatenate(brdy)

    # ------------------------------------------------------------------ helpers
    def purchase_price(self, i: int, prod: np.ndarray) -> np.ndarray:
        """Purchase price (采购单价) of products at institution ``i`` (deterministic)."""
        prod = np.asarray(prod, np.int64)
        h = ((prod * 2654435761 + (i + 1) * 97531 + 12345) % 4294967296) / 4294967296.0
        return np.maximum(np.round(self.d_price[prod] * (0.9 + 0.2 * h), 2), 0.01)

    def sample_persons(
        self, rng, region: int, n: int, chronic: bool = False, unique: bool = False
    ) -> np.ndarray:
        if chronic:
            local = self.chronic_by_region[region]
            if len(local) == 0:
                local = self.alive_all
            if unique and n <= len(local):
                return np.sort(rng.choice(local, size=n, replace=False))
            return local[rng.integers(0, len(local), n)]
        s, e = self.region_start[region], self.region_end[region]
        local = rng.integers(s, max(e, s + 1), n) if e > s else rng.integers(0, self.cfg.persons, n)
        glob = rng.integers(0, self.cfg.persons, n)
        out = np.where(rng.random(n) < 0.86, local, glob)
        # persons reserved for long stays (every LONG_STAY_EVERY-th) get no other encounters
        res = out % LONG_STAY_EVERY == 0
        out[res] = np.minimum(out[res] + 1, self.cfg.persons - 1)
        return out

    def alive_persons(
        self, rng, region: int, n: int, nonchronic: bool = False, inst: int = 0
    ) -> np.ndarray:
        """Persons alive all year; ``nonchronic`` draws from the persons reserved for long
        stays and chemotherapy (no chronic refills, no other encounters), a share of them
        per institution so that two hospitals rarely treat the same long-stay patient."""
        a = (self.long_stay_by_region if nonchronic else self.alive_by_region)[region]
        if nonchronic:
            sub = a[(a // LONG_STAY_EVERY) % 7 == inst % 7]
            a = sub if len(sub) >= 20 else a
        if len(a) == 0:
            a = self.alive_all
        return a[rng.integers(0, len(a), n)]


# --------------------------------------------------------------------------- planning
def _expected_units(ctx: InstCtx) -> dict:
    c = ctx.counts
    n11, n13, n14, n21, n41 = (c.get(k, 0) for k in (11, 13, 14, 21, 41))
    lmean = {"rehabilitation": 35, "psychiatric": 30, "oncology": 3}.get(ctx.specialty, 7)
    out_drug = n11 * 1.25 + n13 * 0.8 + n14 + n41 * 1.3
    drug = out_drug + n21 * lmean * 1.7
    return {
        "over_prescription": out_drug,
        "duplicate_prescribing": n11 * 0.75 + n14 + n41,
        "split_prescription": n11 * 0.75 + n41 * 0.8,
        "split_hospitalization": n21,
        "bed_hanging": n21,
        "over_testing": n11 + n13 + n14 + n21,
        "duplicate_charging": n11 + n13 + n14 + n21,
        "restricted_items": drug,
        "substitution": out_drug * 0.6 + n21 * lmean * 0.6,
        "identity_fraud": n11 + n13 + n14 + n21 + n41,
        "procurement": 200.0,
        "zero_markup": drug,
    }


def plan_province(pv: Province) -> list[InstCtx]:
    """Volumes, formularies, violators and intensities, cross-institution specials."""
    cfg = pv.cfg
    inst = pv.inst
    rng = rng_for(cfg.seed, 4)
    w = inst["weight"].to_numpy(float)
    lines_i = cfg.fee_lines * w / w.sum()
    region_idx = {r[0]: k for k, r in enumerate(reg.REGIONS)}
    ctxs = []
    for i, row in enumerate(inst.itertuples(index=False)):
        mix = reg.PROFILES[row.profile][7]
        lpe = dict(LINES_PER_ENC)
        if row.specialty in LINES_PER_STAY:
            lpe[21] = LINES_PER_STAY[row.specialty]
        per_enc = sum(s * lpe[m] for m, s in mix.items())
        n_enc = max(30, int(round(lines_i[i] / (per_enc * LINES_CALIBRATION))))
        meds = sorted(mix)
        alloc = reg.allocate(n_enc, np.array([mix[m] for m in meds]))
        counts = {m: int(a) for m, a in zip(meds, alloc, strict=True)}
        lv = int(row.hosp_lv)
        public = row.ownership == "public"
        markup = 1.0 if public else float(np.round(rng.uniform(1.12, 1.3), 3))
        pools = _formulary(pv, rng, row.medins_type, lv, row.specialty, public)
        tm = float(np.exp(rng.normal(0, 0.15)))
        if row.decoy == "high_testing_tertiary":
            tm *= 2.2
        ctxs.append(
            InstCtx(
                i=i,
                code=row.fixmedins_code,
                mtype=row.medins_type,
                lv=lv,
                public=public,
                region=region_idx[row.region],
                decoy=row.decoy,
                specialty=row.specialty,
                markup=markup,
                counts=counts,
                nblocks=max(1, math.ceil(n_enc / BLOCK_ENCOUNTERS)),
                test_mult=tm,
                pools=pools,
            )
        )
    # violators
    lo, hi = cfg.intensity
    for f in FAMS:
        if f not in FAMILY_TYPES:  # planted by a module of its own (synth/utilization.py)
            continue
        elig = []
        for c in ctxs:
            if c.decoy or c.mtype not in FAMILY_TYPES[f]:
                continue
            if f in ("procurement", "zero_markup") and not c.public:
                continue
            if _expected_units(c)[f] < MIN_ELIGIBLE:
                continue
            elig.append(c.i)
        k = min(len(elig), max(MIN_VIOLATORS, int(round(cfg.prevalence * len(elig)))))
        if cfg.tables == "first-extract":  # these families leave no trace in a first extract
            k = 0
        frng = rng_for(cfg.seed, 5, FAMS.index(f))
        chosen = sorted(frng.choice(elig, size=k, replace=False).tolist()) if k else []
        for i in chosen:
            ctxs[i].violator[f] = float(np.exp(frng.uniform(np.log(lo), np.log(hi))))
        for c in ctxs:
            c.bg[f] = float(frng.uniform(0, 2 * cfg.background))
    # planned counts and cross-institution specials
    srng = rng_for(cfg.seed, 6)
    for c in ctxs:
        exp = _expected_units(c)
        for f, inten in c.violator.items():
            total = max(MIN_AFFECTED, int(round(inten * exp[f])))
            cross = int(round(CROSS_SHARE.get(f, 0.0) * total))
            if f == "bed_hanging" or f == "identity_fraud" or f == "duplicate_prescribing":
                cross = _plan_cross(pv, srng, ctxs, c, f, cross)
            c.k_local[f] = total - cross
    return ctxs


def _formulary(pv: Province, rng, mtype: str, lv: int, specialty: str, public: bool) -> list:
    """Drug pools of an institution: 0 common, 1 male, 2 female, 3 child, 4 level, 5 inpatient,
    6 course."""
    P = pv.pool

    def pick(name, k):
        a = P[name]
        return np.sort(rng.choice(a, size=min(k, len(a)), replace=False)) if len(a) else a

    empty = np.zeros(0, np.int64)
    hosp = mtype == "hospital"
    lvpool = empty
    if lv >= 2 and hosp:
        lvpool = np.concatenate([pick("lv2", 10), pick("lv3", 4) if lv >= 3 else empty])
    common = P["common"]
    if hosp and public:
        common = common[~np.isin(common, pv.nonselected)]
    return [
        common,
        pick("male", 4),
        pick("female", 10),
        pick("child", 8),
        lvpool,
        pick("inpt", 8) if hosp else empty,
        pick("course", 6) if hosp else empty,
    ]


def _main_out_med(c: InstCtx) -> int:
    return 41 if c.mtype == "pharmacy" else 11


def _plan_cross(pv: Province, rng, ctxs: list[InstCtx], a: InstCtx, fam: str, k: int) -> int:
    """Pre-plan ``k`` planted encounters of ``a`` that need a claim at another institution.

    Returns the number planned."""
    if k <= 0:
        return 0
    cands_any = [c for c in ctxs if c.i != a.i and c.decoy == ""]
    hosp = [c for c in cands_any if c.mtype == "hospital" and c.counts.get(21, 0) > 0]
    other_region = [c for c in cands_any if c.region != a.region]
    outlets = [c for c in cands_any if c.mtype in ("pharmacy", "clinic")]
    planned = 0
    bit = BIT[fam]
    for j in range(k):
        if fam == "duplicate_prescribing":
            b = outlets[rng.integers(len(outlets))] if outlets else None
            if b is None:
                break
            p = int(pv.alive_persons(rng, b.region, 1)[0])
            prod = int(pv.sel_x[rng.integers(len(pv.sel_x))])
            d = int(rng.integers(0, 355))
            gap = int(rng.integers(2, 4))
            b.specials.append(
                Enc.make(
                    [_main_out_med(b)],
                    [p],
                    [d],
                    [0],
                    [diag_pick(rng, "out", 1)[0]],
                    [1],
                    [prod],
                    [7],
                )
            )
            a.specials.append(
                Enc.make(
                    [_main_out_med(a)],
                    [p],
                    [d + gap],
                    [0],
                    [diag_pick(rng, "out", 1)[0]],
                    [1],
                    [prod],
                    [int(rng.integers(3, 8))],
                    truth=[bit],
                )
            )
        elif fam == "bed_hanging":
            b = outlets[rng.integers(len(outlets))] if outlets else None
            if b is None or a.counts.get(21, 0) == 0:
                break
            p = int(pv.alive_persons(rng, a.region, 1)[0])
            L = int(rng.integers(5, 13))
            d = int(rng.integers(0, 365 - L))
            a.specials.append(
                Enc.make([21], [p], [d], [L], [diag_pick(rng, "ipt", 1)[0]], [0], truth=[bit])
            )
            dd = d + int(rng.integers(1, L - 1))
            b.specials.append(
                Enc.make(
                    [_main_out_med(b)],
                    [p],
                    [dd],
                    [0],
                    [diag_pick(rng, "out", 1)[0]],
                    [int(rng.integers(1, 3))],
                )
            )
        else:  # identity_fraud
            overlap = a.mtype == "hospital" and a.counts.get(21, 0) > 0 and hosp and j % 2 == 0
            if overlap:
                b = hosp[rng.integers(len(hosp))]
                p = int(pv.alive_persons(rng, a.region, 1)[0])
                L = int(rng.integers(3, 10))
                d = int(rng.integers(0, 350 - L))
                Lb = int(rng.integers(3, 10))
                db = d + int(rng.integers(-(Lb - 1), L))
                db = max(0, db)
                a.specials.append(
                    Enc.make([21], [p], [d], [L], [diag_pick(rng, "ipt", 1)[0]], [0], truth=[bit])
                )
                b.specials.append(
                    Enc.make([21], [p], [db], [Lb], [diag_pick(rng, "ipt", 1)[0]], [0])
                )
            else:
                if not other_region:
                    break
                b = other_region[rng.integers(len(other_region))]
                p = int(pv.alive_persons(rng, b.region, 1)[0])
                d = int(rng.integers(0, 365))
                med_b = _main_out_med(b) if b.mtype != "hospital" else 11
                b.specials.append(
                    Enc.make(
                        [med_b],
                        [p],
                        [d],
                        [0],
                        [diag_pick(rng, "out", 1)[0]],
                        [int(rng.integers(0, 3))],
                    )
                )
                a.specials.append(
                    Enc.make(
                        [_main_out_med(a)],
                        [p],
                        [d],
                        [0],
                        [diag_pick(rng, "out", 1)[0]],
                        [int(rng.integers(1, 3))],
                        truth=[bit],
                    )
                )
        planned += 1
    return planned


# --------------------------------------------------------------------------- encounters
def _series(
    pv: Province,
    rng,
    c: InstCtx,
    n_target: int,
    med: int,
    periods,
    weights,
    jitter: int,
    prod_pool: np.ndarray,
    chronic: bool = True,
) -> Enc:
    """Refill / session series: a person returns every ``period - U{0..jitter}`` days."""
    if n_target <= 0:
        return Enc.empty()
    periods = np.asarray(periods)
    mean_k = np.mean([365 / max(1, p - jitter / 2) for p in periods])
    ns = max(1, int(round(n_target / mean_k)))
    P = rng.choice(periods, size=ns, p=weights)
    step = np.maximum(1, P - rng.integers(0, jitter + 1, ns))
    start = rng.integers(0, np.maximum(1, step))
    k = np.maximum(1, (364 - start) // step + 1)
    s = np.repeat(np.arange(ns), k)
    j = np.arange(len(s)) - np.repeat(np.cumsum(k) - k, k)
    day = start[s] + j * step[s]
    persons = pv.sample_persons(rng, c.region, ns, chronic=chronic, unique=True)
    if chronic and prod_pool is pv.sel_x:
        # each chronic person refills each of their drugs at one place only: the k-th series
        # of a person uses the k-th drug of that person's list
        used = pv.series_used[persons]
        prod = prod_pool[(persons * 3 + used) % len(prod_pool)]
        pv.series_used[persons] += 1
    else:
        prod = prod_pool[rng.integers(0, len(prod_pool), ns)]
    psn = persons[s]
    prod = prod[s]
    return Enc.make(
        np.full(len(s), med),
        psn,
        day,
        np.zeros(len(s)),
        np.zeros(len(s)),
        np.ones(len(s)),
        prod,
        P[s],
    )


def base_encounters(pv: Province, rng, c: InstCtx, share: float) -> Enc:
    parts = []
    cnt = {m: int(round(n * share)) for m, n in c.counts.items()}
    chronic_drugs = pv.sel_x  # selected western common drugs (in every formulary)
    for med in (11, 13):
        n = cnt.get(med, 0)
        if n:
            nd = (
                rng.choice([0, 1, 2, 3], size=n, p=[0.25, 0.38, 0.24, 0.13])
                if med == 11
                else rng.choice([0, 1, 2], size=n, p=[0.4, 0.4, 0.2])
            )
            parts.append(
                Enc.make(
                    np.full(n, med),
                    pv.sample_persons(rng, c.region, n),
                    rng.integers(0, 365, n),
                    np.zeros(n),
                    diag_pick(rng, "out" if med == 11 else "er", n),
                    nd,
                )
            )
    n14 = cnt.get(14, 0)
    if n14:
        if c.specialty == "dialysis":
            e = _series(pv, rng, c, n14, 14, [2, 3], [0.5, 0.5], 0, c.pools[0])
            e.fprd[:] = 1
            e.diag = diag_pick(rng, "dial", len(e))
        else:
            e = _series(
                pv, rng, c, n14, 14, [14, 28, 30, 56], [0.15, 0.45, 0.3, 0.1], 3, chronic_drugs
            )
            e.diag = diag_pick(rng, "psych" if c.specialty == "psychiatric" else "chronic", len(e))
        parts.append(e)
    n41 = cnt.get(41, 0)
    if n41:
        ser_share = 0.6 if c.specialty == "chronic_pharmacy" else 0.15
        ns = int(round(n41 * ser_share))
        per = [28, 30, 56, 84] if c.specialty == "chronic_pharmacy" else [28, 30]
        wts = [0.35, 0.3, 0.2, 0.15] if c.specialty == "chronic_pharmacy" else [0.5, 0.5]
        e = _series(pv, rng, c, ns, 41, per, wts, 3, chronic_drugs)
        e.diag = diag_pick(rng, "chronic", len(e))
        parts.append(e)
        n = n41 - len(e) if len(e) < n41 else 0
        if n:
            parts.append(
                Enc.make(
                    np.full(n, 41),
                    pv.sample_persons(rng, c.region, n),
                    rng.integers(0, 365, n),
                    np.zeros(n),
                    diag_pick(rng, "out", n),
                    rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1]),
                )
            )
    n21 = cnt.get(21, 0)
    if n21:
        if c.specialty in ("rehabilitation", "psychiatric"):
            L = rng.integers(15, 61, n21)
            dg = diag_pick(rng, "rehab" if c.specialty == "rehabilitation" else "psych", n21)
            mode = np.zeros(n21)
        elif c.specialty == "oncology":
            # chemotherapy cycles: a patient returns every 14–28 days for 2–4 days (Z51)
            nchemo = int(n21 * 0.65)
            ns = max(1, nchemo // 8)
            step = rng.integers(14, 29, ns)
            start = rng.integers(0, 120, ns)
            k = np.minimum(8, (360 - start) // step)
            k = np.maximum(k, 1)
            s = np.repeat(np.arange(ns), k)
            j = np.arange(len(s)) - np.repeat(np.cumsum(k) - k, k)
            ch = Enc.make(
                np.full(len(s), 21),
                pv.alive_persons(rng, c.region, ns, True, c.i)[s],
                start[s] + j * step[s],
                rng.integers(2, 5, len(s)),
                diag_pick(rng, "chemo", ns)[s],
                np.zeros(len(s)),
                mode=np.full(len(s), MODE_CHEMO),
            )
            ch.elig_ok[:] = False
            parts.append(ch)
            n = max(0, n21 - len(s))
            L = np.minimum(30, 2 + rng.poisson(6, n))
            dg = diag_pick(rng, "onc", n)
            mode = np.zeros(n)
            n21 = n
        else:
            L = np.minimum(30, 1 + rng.negative_binomial(3, 0.33, n21))
            dg = diag_pick(rng, "dial" if c.specialty == "dialysis" else "ipt", n21)
            mode = np.zeros(n21)
        if n21:
            day = (rng.random(n21) * (365 - L)).astype(np.int64)
            if c.specialty in ("rehabilitation", "psychiatric", "oncology"):
                who = pv.alive_persons(rng, c.region, n21, True, c.i)
            else:
                who = pv.sample_persons(rng, c.region, n21)
            parts.append(Enc.make(np.full(n21, 21), who, day, L, dg, np.zeros(n21), mode=mode))
    enc = Enc.concat(parts)
    # nobody is treated on or after their death (honest data)
    die = pv.persons["die_day"][enc.psn]
    bad = (die >= 0) & (enc.day + enc.L >= die)
    if bad.any():
        enc.psn[bad] = pv.alive_persons(rng, c.region, int(bad.sum()))
    return enc


def _count(rng, c: InstCtx, f: str, n_elig: int, block: int) -> tuple[int, bool]:
    """Units to plant for family ``f`` in this block, and whether they are recorded."""
    if f in c.violator:
        k = c.k_local.get(f, 0)
        per = reg.allocate(k, np.ones(c.nblocks))[block] if k else 0
        return int(min(per, n_elig)), True
    return int(rng.binomial(n_elig, c.bg.get(f, 0.0))) if n_elig else 0, False


def plant_encounters(pv: Province, rng, c: InstCtx, enc: Enc, block: int) -> Enc:
    """Encounter-level planting (identity, split/duplicate prescriptions, stays, tests)."""
    extra = []
    chronic = pv.persons["chronic"][enc.psn] == 1
    # identity fraud: claims on persons after their death
    if "identity_fraud" in FAMS:
        m = enc.elig_ok & (enc.fprod < 0) & (enc.mode == 0)
        k, rec = _count(rng, c, "identity_fraud", int(m.sum()), block)
        sel = choose(rng, m, k)
        if len(sel) and len(pv.dead):
            q = pv.dead[rng.integers(0, len(pv.dead), len(sel))]
            die = pv.persons["die_day"][q]
            room = np.maximum(1, 364 - die - enc.L[sel])
            enc.psn[sel] = q
            enc.day[sel] = die + 1 + (rng.random(len(sel)) * np.minimum(room, 60)).astype(np.int64)
            enc.elig_ok[sel] = False
            if rec:
                enc.truth[sel] |= BIT["identity_fraud"]
    # split prescriptions: 2–3 prescriptions of one generic on the same or next day
    m = enc.elig_ok & np.isin(enc.med, (11, 41)) & (enc.fprod < 0) & ~chronic & (enc.day <= 363)
    k, rec = _count(rng, c, "split_prescription", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        prod = pv.sel_x[rng.integers(0, len(pv.sel_x), len(sel))]
        enc.fprod[sel] = prod
        enc.fprd[sel] = rng.integers(4, 8, len(sel))
        enc.ndrug[sel] = np.maximum(enc.ndrug[sel], 1)
        enc.elig_ok[sel] = False
        nsib = rng.integers(1, 3, len(sel))
        src = np.repeat(sel, nsib)
        sib = enc.take(src)
        j = np.arange(len(src)) - np.repeat(np.cumsum(nsib) - nsib, nsib)
        sib.day = sib.day + np.where(j == 0, rng.integers(0, 2, len(src)), 1)
        sib.fprd = rng.integers(4, 8, len(src))
        sib.ndrug = np.ones(len(src), np.int64)
        sib.elig_ok[:] = False
        sib.mode[:] = 0
        if rec:
            enc.truth[sel] |= BIT["split_prescription"]
            sib.truth = np.full(len(src), BIT["split_prescription"], np.int64)
        else:
            sib.truth = np.zeros(len(src), np.int64)
        extra.append(sib)
    # duplicate prescribing: a new supply 2+ days later while > 3 days remain on hand
    m = enc.elig_ok & np.isin(enc.med, (11, 14, 41))
    series = enc.fprod >= 0
    m &= np.where(series, enc.fprd >= 14, True)
    m &= enc.day <= 364 - np.where(series, enc.fprd, 7)
    k, rec = _count(rng, c, "duplicate_prescribing", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        new_series = enc.fprod[sel] < 0
        prod = pv.sel_x[rng.integers(0, len(pv.sel_x), len(sel))]
        enc.fprod[sel] = np.where(new_series, prod, enc.fprod[sel])
        enc.fprd[sel] = np.where(new_series, 7, enc.fprd[sel])
        enc.ndrug[sel] = np.maximum(enc.ndrug[sel], 1)
        enc.elig_ok[sel] = False
        P = enc.fprd[sel]
        gap = 2 + (rng.random(len(sel)) * (P - 5)).astype(np.int64)  # 2 .. P-4
        nw = enc.take(sel)
        nw.day = nw.day + gap
        nw.fprd = np.where(nw.med == 14, P, rng.integers(3, 8, len(sel)))
        nw.ndrug = np.ones(len(sel), np.int64)
        nw.elig_ok[:] = False
        nw.truth = np.full(len(sel), BIT["duplicate_prescribing"] if rec else 0, np.int64)
        extra.append(nw)
    # split hospitalization: discharge and readmission within 15 days, same diagnosis
    stay = (enc.med == 21) & ((enc.mode & MODE_CHEMO) == 0)
    m = enc.elig_ok & stay & (enc.L >= 2) & (enc.day + enc.L <= 340)
    k, rec = _count(rng, c, "split_hospitalization", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        rd = enc.take(sel)
        rd.day = enc.day[sel] + enc.L[sel] + rng.integers(1, 15, len(sel))
        rd.L = rng.integers(2, 9, len(sel))
        rd.elig_ok[:] = False
        rd.truth = np.full(len(sel), BIT["split_hospitalization"] if rec else 0, np.int64)
        enc.elig_ok[sel] = False
        extra.append(rd)
    # bed-hanging: days with only bed/nursing; test-dominated stays
    m = enc.elig_ok & stay & (enc.day <= 350)
    if "bed_hanging" not in c.violator:
        m &= enc.L <= 8  # background: a short stay with a few idle days, never a long one
    k, rec = _count(rng, c, "bed_hanging", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        td = rng.random(len(sel)) < 0.3
        enc.mode[sel] |= np.where(td, MODE_TESTDOM, MODE_HANG)
        enc.L[sel] = np.where(td, rng.integers(2, 6, len(sel)), np.maximum(enc.L[sel], 6))
        enc.L[sel] = np.minimum(enc.L[sel], 364 - enc.day[sel])
        enc.elig_ok[sel] = False
        if rec:
            enc.truth[sel] |= BIT["bed_hanging"]
    # over-testing and duplicate charging (not at pharmacies)
    for fam, flag in (("over_testing", MODE_OVERTEST), ("duplicate_charging", MODE_DUPCHG)):
        if c.mtype == "pharmacy":
            continue
        m = enc.elig_ok & (enc.med != 41) & ((enc.mode & MODE_TESTDOM) == 0)
        k, rec = _count(rng, c, fam, int(m.sum()), block)
        sel = choose(rng, m, k)
        if len(sel):
            enc.mode[sel] |= flag
            enc.elig_ok[sel] = False
            if rec:
                enc.truth[sel] |= BIT[fam]
    return Enc.concat([enc, *extra])


# --------------------------------------------------------------------------- fee lines
class Lines:
    """Fee-line arrays (structure of arrays) built piecewise."""

    FIELDS = ("e", "doff", "prod", "item", "cnt", "prd", "forced", "pos")

    def __init__(self):
        self.parts = {f: [] for f in self.FIELDS}

    def add(self, e, doff, prod=None, item=None, cnt=1.0, prd=np.nan, forced=False, pos=0):
        n = len(e)
        if n == 0:
            return
        vals = {
            "e": e,
            "doff": doff,
            "prod": -1 if prod is None else prod,
            "item": -1 if item is None else item,
            "cnt": cnt,
            "prd": prd,
            "forced": forced,
            "pos": pos,
        }
        for f in self.FIELDS:
            v = vals[f]
            arr = np.broadcast_to(np.asarray(v), (n,)) if np.ndim(v) == 0 else np.asarray(v)
            self.parts[f].append(arr)

    def done(self) -> dict:
        out = {}
        dt = {
            "e": np.int64,
            "doff": np.int64,
            "prod": np.int64,
            "item": np.int64,
            "cnt": float,
            "prd": float,
            "forced": bool,
            "pos": np.int64,
        }
        for f in self.FIELDS:
            out[f] = (
                np.concatenate([np.asarray(p, dt[f]) for p in self.parts[f]])
                if self.parts[f]
                else np.zeros(0, dt[f])
            )
        order = np.lexsort((out["pos"], out["doff"], out["e"]))
        return {f: v[order] for f, v in out.items()}


def _rep(idx: np.ndarray, k: np.ndarray):
    """Repeat ``idx`` by ``k`` and return (repeated, position within group)."""
    k = np.asarray(k, np.int64)
    r = np.repeat(idx, k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    return r, j


def _pick_drugs(pv: Province, rng, c: InstCtx, enc: Enc, e: np.ndarray, inpatient: bool):
    n = len(e)
    psn = enc.psn[e]
    age = pv.persons["age"][psn]
    gend = pv.persons["gend"][psn]
    u = rng.random(n)
    pool = np.zeros(n, np.int64)
    child = age <= 12
    pool[child & (u < 0.35)] = 3
    g = (u >= 0.35) & (u < 0.47)
    pool[g] = np.where(gend[g] == 1, 1, 2)
    pool[(u >= 0.47) & (u < 0.55)] = 4
    if inpatient:
        pool[(u >= 0.55) & (u < 0.75)] = 5
        pool[(u >= 0.75) & (u < 0.83)] = 6
    sizes = np.array([len(p) for p in c.pools])
    pool[sizes[pool] == 0] = 0
    flat = np.concatenate(c.pools)
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return flat[offs[pool] + (rng.random(n) * sizes[pool]).astype(np.int64)]


def build_lines(pv: Province, rng, c: InstCtx, enc: Enc) -> dict:
    L = Lines()
    IT = pv.IT
    tm = c.test_mult
    out = np.flatnonzero(enc.med != 21)
    # ---------------------------------------------------------------- outpatient, pharmacy
    oc = out[enc.med[out] != 41]
    L.add(oc, 0, item=np.where(enc.med[oc] == 13, IT["consult_er"], IT["consult_out"]), pos=0)
    e, j = _rep(out, enc.ndrug[out])
    prod = _pick_drugs(pv, rng, c, enc, e, False)
    forced = (j == 0) & (enc.fprod[e] >= 0)
    prod[forced] = enc.fprod[e][forced]
    med = enc.med[e]
    prd = np.select(
        [med == 11, med == 13, med == 14],
        [
            rng.choice([1, 2, 3, 5, 7], size=len(e), p=[0.1, 0.15, 0.35, 0.2, 0.2]),
            rng.integers(1, 4, len(e)),
            rng.choice([14, 28, 30], size=len(e)),
        ],
        rng.choice([3, 5, 7], size=len(e)),
    )
    prd[forced] = enc.fprd[e][forced]
    L.add(e, 0, prod=prod, cnt=prd * pv.d_du[prod], prd=prd, forced=forced, pos=1 + j)
    if c.mtype != "pharmacy":
        lam = np.select([enc.med[oc] == 11, enc.med[oc] == 13], [0.9, 1.5], 0.5)
        lam = lam * tm * (1.0 if c.mtype == "hospital" else 0.35)
        nt = rng.poisson(lam)
        ot = (enc.mode[oc] & MODE_OVERTEST) > 0
        nt = nt + np.where(ot, rng.integers(3, 6, len(oc)), 0)
        e, j = _rep(oc, nt)
        L.add(e, 0, item=pv.it_test[rng.integers(0, len(pv.it_test), len(e))], pos=10 + j)
        # period-limited test (HbA1c): at most once per visit; over-testing repeats it
        h = oc[((rng.random(len(oc)) < 0.03 * tm) & (enc.fprod[oc] < 0)) | ot]
        L.add(h, 0, item=pv.hba1c, pos=20)
        h2 = oc[ot & (rng.random(len(oc)) < 0.6)]
        L.add(h2, 0, item=pv.hba1c, pos=21)
        tr = oc[rng.random(len(oc)) < (0.15 if c.mtype == "hospital" else 0.08)]
        L.add(tr, 0, item=pv.it_treat[rng.integers(0, len(pv.it_treat), len(tr))], pos=30)
        d14 = oc[(enc.med[oc] == 14) & (c.specialty == "dialysis")]
        L.add(d14, 0, item=IT["dialysis"], pos=31)
    # ---------------------------------------------------------------- inpatient stays
    st = np.flatnonzero(enc.med == 21)
    if len(st):
        e, d = _rep(st, enc.L[st])
        n = len(e)
        mode = enc.mode[e]
        hang = ((mode & MODE_HANG) > 0) & (d >= 1) & (rng.random(n) < 0.75)
        tdom = (mode & MODE_TESTDOM) > 0
        normal = ~hang & ~tdom
        chemo = (mode & MODE_CHEMO) > 0
        first = d == 0
        L.add(e, d, item=IT["bed"], pos=0)
        L.add(e, d, item=IT["nursing"], pos=1)
        cs = normal & (rng.random(n) < 0.75)
        L.add(e[cs], d[cs], item=IT["consult_ipt"], pos=2)
        nd = np.where(normal, rng.choice([0, 1, 2, 3], size=n, p=[0.05, 0.35, 0.38, 0.22]), 0)
        nd = np.where(normal & first, np.maximum(nd, 1), nd)  # treatment starts on admission
        nd = nd + chemo
        ed, jd = _rep(np.arange(n), nd)
        prod = _pick_drugs(pv, rng, c, enc, e[ed], True)
        L.add(e[ed], d[ed], prod=prod, cnt=pv.d_du[prod].astype(float), prd=1.0, pos=3 + jd)
        spec = c.specialty
        first = d == 0
        ntest = np.where(
            normal & first,
            2 + rng.poisson(1.0 * tm, n),
            np.where(normal, (rng.random(n) < 0.25 * min(tm, 3)).astype(int), 0),
        )
        ot = (mode & MODE_OVERTEST) > 0
        ntest = ntest + np.where(ot & first, rng.integers(3, 6, n), 0)
        et, jt = _rep(np.arange(n), ntest)
        L.add(e[et], d[et], item=pv.it_test[rng.integers(0, len(pv.it_test), len(et))], pos=10 + jt)
        ntd = np.where(tdom, rng.integers(4, 7, n), 0)
        et, jt = _rep(np.arange(n), ntd)
        L.add(
            e[et],
            d[et],
            item=pv.it_exp_test[rng.integers(0, len(pv.it_exp_test), len(et))],
            pos=10 + jt,
        )
        # period test once per stay; over-testing repeats it within the period
        stay_h = (rng.random(n) < 0.08 * tm) & first & normal
        L.add(e[stay_h | (ot & first)], d[stay_h | (ot & first)], item=pv.hba1c, pos=20)
        rep = ot & (d == 1)
        L.add(e[rep], d[rep], item=pv.hba1c, pos=21)
        # monitoring billed in hours (b8: at most 24 per day); over-testing bills more
        mon_stay = rng.random(len(st)) < 0.12
        mon = np.repeat(mon_stay, enc.L[st]) & (d < 3) & normal
        L.add(e[mon], d[mon], item=IT["monitor"], cnt=24.0, pos=25)
        om = ot & first & (rng.random(n) < 0.5)
        L.add(
            e[om],
            d[om],
            item=IT["monitor"],
            cnt=rng.integers(30, 49, int(om.sum())).astype(float),
            pos=26,
        )
        tr = normal & (rng.random(n) < 0.55)
        L.add(
            e[tr], d[tr], item=pv.it_treat[rng.integers(0, len(pv.it_treat), int(tr.sum()))], pos=30
        )
        if spec == "rehabilitation":
            L.add(
                e[normal],
                d[normal],
                item=pv.it_rehab[rng.integers(0, len(pv.it_rehab), int(normal.sum()))],
                pos=31,
            )
            ra = normal & (d % 15 == 0)
            L.add(e[ra], d[ra], item=IT["period_rehab"], pos=32)
        elif spec == "psychiatric":
            L.add(e[normal], d[normal], item=IT["psych"], pos=31)
        elif spec == "dialysis":
            dl = normal & (d % 2 == 0)
            L.add(e[dl], d[dl], item=IT["dialysis"], pos=31)
        surg_stay = (rng.random(len(st)) < 0.2) & (enc.L[st] >= 2) & (spec == "general")
        sg = np.repeat(surg_stay, enc.L[st]) & (d == 1) & normal
        L.add(
            e[sg],
            d[sg],
            item=pv.it_surgery[rng.integers(0, len(pv.it_surgery), int(sg.sum()))],
            pos=40,
        )
    # ---------------------------------------------------------------- duplicate charging (b7)
    dc = np.flatnonzero((enc.mode & MODE_DUPCHG) > 0)
    if len(dc):
        pair = rng.integers(0, len(pv.b7_main), len(dc))
        dd = np.where(enc.med[dc] == 21, (rng.random(len(dc)) * enc.L[dc]).astype(np.int64), 0)
        L.add(dc, dd, item=pv.b7_main[pair], pos=50)
        L.add(dc, dd, item=pv.b7_sub[pair], pos=51)
    return L.done()


def plant_lines(pv: Province, rng, c: InstCtx, enc: Enc, ln: dict, block: int) -> dict:
    """Line-level planting: over-prescription, restricted items, substitution, zero markup.

    Adds ``own`` (product behind the institution's own code), ``pric``, ``truth`` and
    ``markup_excess`` to the line arrays."""
    n = len(ln["e"])
    is_drug = ln["prod"] >= 0
    med = enc.med[ln["e"]]
    psn = enc.psn[ln["e"]]
    chronic = pv.persons["chronic"][psn] == 1
    truth = np.zeros(n, np.int64)
    free = is_drug & ~ln["forced"]
    prod = ln["prod"].copy()
    prd = ln["prd"].copy()
    cnt = ln["cnt"].copy()
    # over-prescription: days supply above the setting's limit
    m = free & np.isin(med, (11, 13, 14, 41))
    k, rec = _count(rng, c, "over_prescription", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        md = med[sel]
        long_ok = (md == 14) | ((md == 41) & chronic[sel])
        newd = np.where(
            long_ok,
            rng.integers(90, 181, len(sel)),
            np.where(md == 13, rng.integers(5, 11, len(sel)), rng.integers(10, 31, len(sel))),
        )
        prd[sel] = newd
        cnt[sel] = newd * pv.d_du[prod[sel]]
        free[sel] = False
        if rec:
            truth[sel] |= BIT["over_prescription"]
    # restricted items: a 两库-restricted drug outside its restriction
    m = free.copy()
    k, rec = _count(rng, c, "restricted_items", int(m.sum()), block)
    sel = choose(rng, m, k)
    if len(sel):
        P = pv.pool
        age = pv.persons["age"][psn[sel]]
        gend = pv.persons["gend"][psn[sel]]
        allowed = np.stack(
            [
                np.ones(len(sel), bool),  # gender
                age >= 30,  # child-only drug to an adult
                np.ones(len(sel), bool),  # work-injury-only drug
                med[sel] != 21,  # inpatient-only drug outside a stay
                np.full(len(sel), c.lv < 2 or c.mtype != "hospital"),  # level-restricted drug
            ],
            axis=1,
        )
        score = rng.random(allowed.shape) * allowed
        mech = np.argmax(score, axis=1)
        r = rng.random(len(sel))

        def pk(pool):
            return pool[(r * len(pool)).astype(np.int64)]

        newp = np.select(
            [mech == 0, mech == 1, mech == 2, mech == 3],
            [
                np.where(gend == 1, pk(P["female"]), pk(P["male"])),
                pk(P["child"]),
                pk(P["work"]),
                pk(P["inpt"]),
            ],
            pk(P["lv2"]),
        )
        prod[sel] = newp
        cnt[sel] = np.where(np.isnan(prd[sel]), 1.0, prd[sel]) * pv.d_du[newp]
        free[sel] = False
        if rec:
            truth[sel] |= BIT["restricted_items"]
    own = prod.copy()
    # substitution: the cheap generic dispensed, billed as the expensive originator
    m = free & (pv.brand_of[np.maximum(prod, 0)] >= 0) & is_drug
    k, rec = _count(rng, c, "substitution", int(m.sum()), block)
    sel = choose(rng, m, k)
    phys = prod.copy()
    if len(sel):
        prod[sel] = pv.brand_of[prod[sel]]
        free[sel] = False
        if rec:
            truth[sel] |= BIT["substitution"]
        else:
            phys[sel] = prod[sel]  # background: a coding slip, stock follows the billed code
    # prices: purchase price x markup (public institutions sell at purchase price)
    pric = np.zeros(n)
    pp = pv.purchase_price(c.i, np.maximum(prod, 0))
    pric[is_drug] = np.round(pp[is_drug] * c.markup, 2)
    it = ln["item"]
    pric[~is_drug] = pv.i_price[it[~is_drug]]
    excess = np.zeros(n)
    if c.public and c.mtype == "hospital":
        m = free & is_drug
        k, rec = _count(rng, c, "zero_markup", int(m.sum()), block)
        sel = choose(rng, m, k)
        if len(sel):
            newp = np.round(pric[sel] * rng.uniform(1.05, 1.3, len(sel)), 2)
            excess[sel] = (newp - pric[sel]) * cnt[sel]
            pric[sel] = newp
            if rec:
                truth[sel] |= BIT["zero_markup"]
    sub = (prod != own) & is_drug
    excess[sub] = (pric[sub] - np.round(pv.purchase_price(c.i, own[sub]) * c.markup, 2)) * cnt[sub]
    ln.update(
        prod=prod, own=own, phys=phys, prd=prd, cnt=cnt, pric=pric, truth=truth, excess=excess
    )
    return ln


# --------------------------------------------------------------------------- tables
def _s(ints: np.ndarray, width: int = 0, prefix: str = "") -> pa.Array:
    a = pc.cast(pa.array(np.asarray(ints, np.int64)), pa.string())
    if width:
        a = pc.utf8_lpad(a, width=width, padding="0")
    if prefix:
        a = pc.binary_join_element_wise(prefix, a, "")
    return a


def _ts(sec: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(sec, np.int64), pa.timestamp("s"))


class BlockOutput:
    def __init__(self):
        self.truth_rows: list[tuple] = []
        self.improper = {}
        self.n_records: dict[tuple[str, str], int] = {}


def block_tables(
    pv: Province, rng, c: InstCtx, enc: Enc, ln: dict, enc0: int, line0: int, out: BlockOutput
) -> dict:
    cfg = pv.cfg
    year0 = int(np.datetime64(f"{cfg.year}-01-01", "s").astype(np.int64))
    ne, nl = len(enc), len(ln["e"])
    P = pv.persons
    inpatient = enc.med == 21
    pharm = enc.med == 41
    off = np.where(
        inpatient,
        rng.integers(8 * 3600, 20 * 3600, ne),
        np.where(
            pharm, rng.integers(8 * 3600, 21 * 3600, ne), rng.integers(8 * 3600, 17 * 3600, ne)
        ),
    )
    begin = year0 + enc.day * DAY_S + off
    end = np.where(
        inpatient,
        year0 + (enc.day + enc.L) * DAY_S + rng.integers(8 * 3600, 12 * 3600, ne),
        np.where(pharm, begin, begin + rng.integers(600, 5400, ne)),
    )
    mdtrt_id = _s(100000000000 + enc0 + np.arange(ne))
    setl_id = _s(200000000000 + enc0 + np.arange(ne))
    psn = pa.array(enc.psn)
    psn_no = reg.psn_no(enc.psn)
    code = pa.array(np.full(ne, c.code))
    med_s = _s(enc.med)
    ins_s = _s(P["insutype"][enc.psn])
    region_s = pa.array(np.array([r[0] for r in reg.REGIONS])[P["region"][enc.psn]])
    gend_s = _s(P["gend"][enc.psn])
    brdy = pa.array(pv.brdy[enc.psn].astype("datetime64[D]"), pa.date32())
    age = P["age"][enc.psn] + enc.day / 365.0
    # fee lines
    e = ln["e"]
    is_drug = ln["prod"] >= 0
    ncat = len(pv.d_code)
    gidx = np.where(is_drug, ln["prod"], ncat + ln["item"])
    oidx = np.where(is_drug, ln["own"], ncat + ln["item"])
    chrg = np.where(
        is_drug, pv.d_cat[np.maximum(ln["prod"], 0)], pv.i_cat[np.maximum(ln["item"], 0)]
    )
    cnt = np.round(ln["cnt"], 2)
    pric = np.round(ln["pric"], 2)
    det = np.round(cnt * pric, 2)
    fday = enc.day[e] + ln["doff"]
    ftime = np.where(
        (enc.med[e] == 21) & (ln["doff"] > 0),
        year0 + fday * DAY_S + 9 * 3600 + np.minimum(ln["pos"], 50) * 30,
        begin[e] + 300 + np.minimum(ln["pos"], 50) * 30,
    )
    a_mult = 7919 + 2 * c.i
    own_num = np.where(
        is_drug, (ln["own"] * a_mult + 17 * c.i) % 10**7, (ln["item"] * 101 + 13 * c.i) % 10**5
    )
    own_code = pc.if_else(pa.array(is_drug), _s(own_num, 7, "YP"), _s(own_num, 5, "ZL"))
    ndoc = max(2, min(400, ne // 400))
    doc = rng.integers(0, ndoc, ne)
    doc_s = _s(doc, 3, f"D{c.i + 1:05d}")
    mid_line = mdtrt_id.take(pa.array(e))
    rx_in = pc.binary_join_element_wise(mid_line, _s(ln["doff"], 3), "")
    rx = pc.if_else(pa.array(enc.med[e] == 21), rx_in, mid_line)
    rx = pc.binary_join_element_wise("RX", rx, "")
    rx = pc.if_else(pa.array(is_drug), rx, pa.scalar(None, pa.string()))
    freq = pa.array(["", "每日1次", "每日2次", "每日3次"]).take(
        pa.array(np.where(is_drug, pv.d_du[np.maximum(ln["prod"], 0)], 0))
    )
    freq = pc.if_else(pa.array(is_drug), freq, pa.scalar(None, pa.string()))
    doc_line = doc_s.take(pa.array(e))
    doc_line = pc.if_else(pa.array(enc.med[e] == 41), pa.scalar(None, pa.string()), doc_line)
    fee = pa.table(
        {
            "bkkp_sn": _s(3000000000000 + line0 + np.arange(nl)),
            "mdtrt_id": mid_line,
            "setl_id": setl_id.take(pa.array(e)),
            "psn_no": psn_no.take(pa.array(e)),
            "fixmedins_code": pa.array(np.full(nl, c.code)),
            "fee_ocur_time": _ts(ftime),
            "med_chrgitm_type": _s(chrg, 2),
            "hilist_code": pv.pa_code.take(pa.array(gidx)),
            "hilist_name": pv.pa_name.take(pa.array(gidx)),
            "medins_list_codg": own_code,
            "medins_list_name": pv.pa_name.take(pa.array(oidx)),
            "list_type": pc.if_else(pa.array(is_drug), "101", "201"),
            "cnt": pa.array(cnt),
            "pric": pa.array(pric),
            "det_item_fee_sumamt": pa.array(det),
            "prd_days": pa.array(ln["prd"], mask=~is_drug),
            "rx_drord_no": rx,
            "bilg_dr_code": doc_line,
            "med_type": med_s.take(pa.array(e)),
            "used_frqu_dscr": freq,
            "dscg_tkdrug_flag": pa.array(np.full(nl, "0")),
        }
    )
    # settlements
    medfee = np.round(np.bincount(e, weights=det, minlength=ne), 2)
    inscp = np.round(medfee * rng.uniform(0.85, 1.0, ne), 2)
    emp = P["insutype"][enc.psn] == 310
    ratio = np.select(
        [inpatient, enc.med == 14, pharm],
        [np.where(emp, 0.85, 0.65), np.where(emp, 0.75, 0.6), np.where(emp, 0.0, 0.0)],
        np.where(emp, 0.5, 0.4),
    )
    hifp = np.round(inscp * ratio, 2)
    psn_pay = np.round(medfee - hifp, 2)
    acct = np.round(np.where(emp, psn_pay * np.where(pharm, 1.0, 0.5), 0.0), 2)
    setl = pa.table(
        {
            "setl_id": setl_id,
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "fixmedins_code": code,
            "setl_time": _ts(end),
            "medfee_sumamt": pa.array(medfee),
            "hifp_pay": pa.array(hifp),
            "fund_pay_sumamt": pa.array(hifp),
            "psn_pay": pa.array(psn_pay),
            "acct_pay": pa.array(acct),
            "cash_payamt": pa.array(np.round(psn_pay - acct, 2)),
            "inscp_amt": pa.array(inscp),
            "fulamt_ownpay_amt": pa.array(np.round(medfee - inscp, 2)),
            "med_type": med_s,
            "insutype": ins_s,
            "begndate": pa.array((begin // DAY_S).astype("datetime64[D]"), pa.date32()),
            "enddate": pa.array((end // DAY_S).astype("datetime64[D]"), pa.date32()),
            "refd_setl_flag": pa.array(np.full(ne, "0")),
            "certno": pv.certno.take(psn),
            "psn_name": pv.psn_name.take(psn),
        }
    )
    mdtrt = pa.table(
        {
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "fixmedins_code": code,
            "med_type": med_s,
            "begntime": _ts(begin),
            "endtime": _ts(end),
            "insutype": ins_s,
            "insu_admdvs": region_s,
            "hosp_lv": pa.array(np.full(ne, str(c.lv))),
            "gend": gend_s,
            "brdy": brdy,
            "age": pa.array(np.round(age, 1)),
            "dscg_maindiag_code": pa.array(DIAG_CODES[enc.diag]),
            "dscg_maindiag_name": pa.array(DIAG_NAMES[enc.diag]),
            "ipt_days": pa.array(enc.L.astype(float), mask=~inpatient),
            "dscg_way": pc.if_else(pa.array(inpatient), "1", pa.scalar(None, pa.string())),
            "certno": pv.certno.take(psn),
            "psn_name": pv.psn_name.take(psn),
        }
    )
    # diagnoses: main + up to two secondary (chronic comorbidities) for stays
    nsec = np.where(inpatient, rng.integers(0, 3, ne), 0)
    se, sj = _rep(np.arange(ne), nsec)
    from riskscore.synth.claims import DIAG_OFF

    cs, csz = DIAG_OFF["chronic"]
    first = rng.integers(0, csz, ne)
    sec = cs + (first[se] + sj) % csz
    keep = DIAG_CODES[sec] != DIAG_CODES[enc.diag[se]]
    se, sec = se[keep], sec[keep]
    allx = np.concatenate([np.arange(ne), se])
    dcode = np.concatenate([enc.diag, sec])
    flag = np.concatenate([np.ones(ne, np.int64), np.zeros(len(se), np.int64)])
    order = np.lexsort((1 - flag, allx))
    allx, dcode, flag = allx[order], dcode[order], flag[order]
    diag = pa.table(
        {
            "setl_id": setl_id.take(pa.array(allx)),
            "mdtrt_id": mdtrt_id.take(pa.array(allx)),
            "psn_no": psn_no.take(pa.array(allx)),
            "diag_type": pa.array(np.full(len(allx), "1")),
            "diag_code": pa.array(DIAG_CODES[dcode]),
            "diag_name": pa.array(DIAG_NAMES[dcode]),
            "maindiag_flag": _s(flag),
        }
    )
    # truth records and improper amounts
    for f in ENC_FAMS:
        hit = np.flatnonzero(enc.truth & BIT[f])
        if len(hit):
            ids = mdtrt_id.take(pa.array(hit)).to_pylist()
            out.truth_rows += [(c.code, f, "mdtrt_d", x) for x in ids]
            out.improper[(c.code, f)] = out.improper.get((c.code, f), 0.0) + float(
                medfee[hit].sum()
            )
    bsn = None
    for f in LINE_FAMS:
        hit = np.flatnonzero(ln["truth"] & BIT[f])
        if len(hit):
            if bsn is None:
                bsn = fee["bkkp_sn"]
            ids = bsn.take(pa.array(hit)).to_pylist()
            out.truth_rows += [(c.code, f, "fee_list_d", x) for x in ids]
            amt = ln["excess"][hit] if f in ("substitution", "zero_markup") else det[hit]
            out.improper[(c.code, f)] = out.improper.get((c.code, f), 0.0) + float(amt.sum())
    # stock summary: billed and physically dispensed quantities by product and quarter
    q = np.minimum(3, fday // 92)
    dr = np.flatnonzero(is_drug)
    stock = (ln["prod"][dr], ln["phys"][dr], q[dr], cnt[dr])
    return {
        "mdtrt_d": mdtrt,
        "setl_d": setl,
        "fee_list_d": fee,
        "setl_list_diag_d": diag,
        "stock": stock,
    }


# --------------------------------------------------------------------------- procurement
def _agg(prod: np.ndarray, q: np.ndarray, qty: np.ndarray):
    key = prod * 4 + q
    u, inv = np.unique(key, return_inverse=True)
    s = np.bincount(inv, weights=qty)
    return u // 4, u % 4, s


def procurement_tables(
    pv: Province, c: InstCtx, stock: list, counters: dict, out: BlockOutput, rng
) -> dict:
    """Purchases, agreements (public hospitals), stock moves and sale prices of one
    institution, consistent with its billed and dispensed drug quantities."""
    year = pv.cfg.year
    if not stock:
        return {}
    billed_p = np.concatenate([s[0] for s in stock])
    phys_p = np.concatenate([s[1] for s in stock])
    q = np.concatenate([s[2] for s in stock])
    qty = np.concatenate([s[3] for s in stock])
    bp, bq, bs = _agg(billed_p, q, qty)
    pp_, pq, ps = _agg(phys_p, q, qty)
    Y0 = np.datetime64(f"{year}-01-01")
    # purchases: one order per product and quarter with dispensing
    n = len(pp_)
    pin = np.ceil(ps * rng.uniform(0.95, 1.05, n))
    order = Y0 + pq * 91 + rng.integers(0, 20, n)
    accept = order + rng.integers(1, 6, n)
    deadline = (accept.astype("datetime64[M]") + 2).astype("datetime64[D]") - 1
    room = (deadline - accept).astype(np.int64)
    pay = accept + 3 + (rng.random(n) * np.maximum(1, room - 3)).astype(np.int64)
    onp = np.ones(n, np.int64)
    prod = pp_
    price = pv.purchase_price(c.i, prod)
    sel_flag = np.full(n, -1)
    sel_flag[np.isin(prod, pv.selected)] = 1
    sel_flag[np.isin(prod, pv.nonselected)] = 0
    units_trace = []  # (table, index-in-table, mechanism)
    agreements = None
    extra_p = []
    if c.public and c.mtype == "hospital":
        tot = {}
        for p_, s_ in zip(pp_, pin, strict=True):
            tot[int(p_)] = tot.get(int(p_), 0.0) + float(s_)
        sel_prods = sorted(p_ for p_ in tot if p_ in set(pv.selected.tolist()))
        na = len(sel_prods)
        if na:
            purchased = np.array([tot[p_] for p_ in sel_prods])
            last = np.round(purchased * rng.uniform(0.9, 1.1, na))
            demand = np.ceil(last * rng.uniform(1.0, 1.12, na))
            agreed = np.round(demand * rng.uniform(0.6, 0.75, na))
            agreements = {
                "prod": np.array(sel_prods),
                "last": last,
                "demand": demand,
                "agreed": agreed,
            }
        # planting
        nunits = n + na
        k, rec = _count(rng, c, "procurement", nunits, 0)
        # about 40 % of the planted units are agreements (shortfall, under-reported demand)
        ka = min(na, int(round(0.4 * k)))
        # agreements whose generic has a non-selected product are picked first (shortfall)
        has_var = np.array([pv.nonsel_of.get(int(p_), -1) >= 0 for p_ in sel_prods], bool)
        ka_var = min(int(has_var.sum()), ka)
        pick_a = np.concatenate(
            [choose(rng, has_var, ka_var), choose(rng, ~has_var, ka - ka_var)]
        ).astype(np.int64)
        sel = np.concatenate([choose(rng, np.ones(n, bool), k - ka), n + np.sort(pick_a)])
        sel = sel.astype(np.int64)
        late = np.zeros(n, bool)
        offp = np.zeros(n, bool)
        for u in sel:
            if u < n:
                if rng.random() < 0.5:
                    late[u] = True
                else:
                    offp[u] = True
            else:
                a = u - n
                p_ = agreements["prod"][a]
                ns_var = pv.nonsel_of.get(int(p_), -1)
                if ns_var >= 0:
                    # completion shortfall: non-selected product bought instead
                    f = rng.uniform(0.3, 0.6)
                    true_tot = purchased[a] / f
                    agreements["last"][a] = np.round(true_tot)
                    agreements["demand"][a] = np.ceil(true_tot * rng.uniform(1.0, 1.1))
                    agreements["agreed"][a] = np.round(agreements["demand"][a] * 0.75)
                    extra_p.append((ns_var, float(np.ceil(true_tot - purchased[a])), a))
                else:
                    agreements["demand"][a] = np.floor(
                        agreements["last"][a] * rng.uniform(0.5, 0.85)
                    )
                    agreements["agreed"][a] = np.round(agreements["demand"][a] * 0.7)
                if rec:
                    units_trace.append(("procurement_agreements", int(a)))
        pay = np.where(late, deadline + rng.integers(10, 90, n), pay)
        if not rec:
            offp &= False
        onp = np.where(offp, 0, onp)
        if rec:
            units_trace += [("purchases", int(u)) for u in np.flatnonzero(late | offp)]
    # extra non-selected purchases (shortfall)
    if extra_p:
        ep = np.array([x[0] for x in extra_p], np.int64)
        eq = np.array([max(1.0, x[1]) for x in extra_p])
        m = len(ep)
        e_order = Y0 + rng.integers(0, 330, m)
        e_accept = e_order + rng.integers(1, 6, m)
        e_dead = (e_accept.astype("datetime64[M]") + 2).astype("datetime64[D]") - 1
        prod = np.concatenate([prod, ep])
        pin = np.concatenate([pin, eq])
        order = np.concatenate([order, e_order])
        accept = np.concatenate([accept, e_accept])
        pay = np.concatenate(
            [pay, e_accept + np.maximum(1, (e_dead - e_accept).astype(np.int64) // 2)]
        )
        onp = np.concatenate([onp, np.ones(m, np.int64)])
        price = np.concatenate([price, pv.purchase_price(c.i, ep)])
        sel_flag = np.concatenate([sel_flag, np.zeros(m, np.int64)])
    n = len(prod)
    pid0 = counters["purchase"]
    counters["purchase"] += n
    purchase_ids = [f"PO{pid0 + k + 1:010d}" for k in range(n)]
    amount = np.round(pin * price, 2)
    sflag = np.where(sel_flag < 0, None, sel_flag.astype(str)).tolist()
    purchases = pd.DataFrame(
        {
            "purchase_id": purchase_ids,
            "fixmedins_code": c.code,
            "product_code": pv.d_code[prod],
            "generic_group": pv.d_gkey[prod],
            "selected_flag": sflag,
            "qty": pin,
            "amount": amount,
            "purchase_price": price,
            "order_date": order,
            "accept_date": accept,
            "pay_date": pay,
            "on_platform": onp.astype(str),
        }
    )
    ag_df = None
    if agreements is not None:
        na = len(agreements["prod"])
        aid0 = counters["agreement"]
        counters["agreement"] += na
        ap = agreements["prod"]
        ag_df = pd.DataFrame(
            {
                "agreement_id": [f"AG{aid0 + k + 1:08d}" for k in range(na)],
                "fixmedins_code": c.code,
                "product_code": pv.d_code[ap],
                "generic_name": pv.d_name[ap],
                "generic_group": pv.d_gkey[ap],
                "selected_flag": "1",
                "agreed_volume": agreements["agreed"],
                "last_year_volume": agreements["last"],
                "reported_demand": agreements["demand"],
                "cycle_start": f"{year}-01-01",
                "cycle_end": f"{year}-12-31",
            }
        )
    amt = 0.0
    for table, idx in units_trace:
        if table == "purchases":
            out.truth_rows.append((c.code, "procurement", "purchases", purchase_ids[idx]))
            amt += float(amount[idx]) * 0.2
        else:
            out.truth_rows.append(
                (c.code, "procurement", "procurement_agreements", ag_df["agreement_id"].iat[idx])
            )
            ex = [x for x in extra_p if x[2] == idx]
            if ex:
                amt += ex[0][1] * float(pv.purchase_price(c.i, np.array([ex[0][0]]))[0]) * 0.2
    if units_trace:
        out.improper[(c.code, "procurement")] = amt
    # stock moves: opening, purchases in, quarterly sales of billed codes
    tot_in = pd.Series(pin).groupby(prod).sum()
    op_prod = tot_in.index.to_numpy()
    op_qty = np.ceil(tot_in.to_numpy() * rng.uniform(0.08, 0.2, len(op_prod)))
    qend = np.array(
        [f"{year}-03-31", f"{year}-06-30", f"{year}-09-30", f"{year}-12-31"], dtype="datetime64[D]"
    )
    moves = pd.DataFrame(
        {
            "product_code": np.concatenate([pv.d_code[op_prod], pv.d_code[prod], pv.d_code[bp]]),
            "move_date": np.concatenate([np.full(len(op_prod), Y0), accept, qend[bq]]),
            "move_type": ["opening"] * len(op_prod) + ["in"] * len(prod) + ["sale"] * len(bp),
            "qty": np.concatenate([op_qty, pin, np.round(bs, 2)]),
        }
    )
    moves.insert(1, "fixmedins_code", c.code)
    mid0 = counters["move"]
    counters["move"] += len(moves)
    moves.insert(0, "move_id", [f"SM{mid0 + k + 1:010d}" for k in range(len(moves))])
    all_prod = np.unique(np.concatenate([prod, bp]))
    prices = pd.DataFrame(
        {
            "fixmedins_code": c.code,
            "product_code": pv.d_code[all_prod],
            "sale_price": np.round(pv.purchase_price(c.i, all_prod) * c.markup, 2),
            "eff_date": Y0,
        }
    )
    return {
        "purchases": purchases,
        "procurement_agreements": ag_df,
        "stock_moves": moves,
        "drug_prices": prices,
    }


# --------------------------------------------------------------------------- schemas
def _schema(table: str) -> pa.Schema:
    from riskscore.contract import TABLES

    types = {
        "code": pa.string(),
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "date": pa.date32(),
        "datetime": pa.timestamp("s"),
    }
    return pa.schema([(c.name, types[c.dtype]) for c in TABLES[table].columns])


def _fit(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table[f.name].cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.table(cols, schema=schema)


# --------------------------------------------------------------------------- main
@dataclass
class SynthSummary:
    """What was generated: counts per table, violators per family, decoys."""

    out: Path
    rows: dict
    violators: dict
    decoys: dict


def generate(out: Path | str, config: SynthConfig, rules_dir: Path | None = None) -> SynthSummary:
    """Generate a synthetic province into ``out``.

    Parameters
    ----------
    out : path
        Output folder (created). Claims and other large tables are Parquet (or CSV); registries
        are UTF-8 CSV; truth files are ``truth.csv``, ``truth_claims.csv``,
        ``truth_decoys.csv`` and ``truth_outcomes.csv``.
    config : SynthConfig
        Size, seed and planting parameters.
    rules_dir : path, optional
        NHSA 两库 rule tables (default: the copy shipped with the package).

    Returns
    -------
    SynthSummary
    """
    cfg = config.resolved()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pv = Province(cfg, Path(rules_dir) if rules_dir else NHSA_RULES_DIR)
    ctxs = plan_province(pv)
    ut_plan = ut.plan(ctxs, cfg.seed, cfg.prevalence, cfg.strength) if cfg.utilization else {}
    first = cfg.tables == "first-extract"
    ext = "parquet" if cfg.fmt == "parquet" else "csv"
    big = ("mdtrt_d", "setl_d", "fee_list_d", "setl_list_diag_d")
    written = tuple(t for t in big if not (first and t == "fee_list_d"))
    schemas = {
        t: _schema(t)
        for t in (
            *big,
            "psn_info_b",
            "purchases",
            "procurement_agreements",
            "stock_moves",
            "drug_prices",
        )
    }
    sinks = {t: TableSink(out / f"{t}.{ext}", schemas[t], cfg.fmt) for t in written}
    # persons
    ps = None if first else TableSink(out / f"psn_info_b.{ext}", schemas["psn_info_b"], cfg.fmt)
    pv.build_persons(ps)
    if ps is not None:
        ps.close()
    proc_sinks = {
        t: TableSink(out / f"{t}.{ext}", schemas[t], cfg.fmt)
        for t in (() if first else ("purchases", "procurement_agreements", "stock_moves"))
        + (() if first else ("drug_prices",))
    }
    bo = BlockOutput()
    enc0 = 0
    line0 = 0
    counters = {"purchase": 0, "agreement": 0, "move": 0}
    total_blocks = sum(c.nblocks for c in ctxs)
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=total_blocks, desc="synth", unit="block", file=__import__("sys").stderr)
    fh = open(out / "truth_claims.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
    tw = csv.writer(fh, lineterminator="\n")
    tw.writerow(["fixmedins_code", "family", "record_table", "record_id"])
    for c in ctxs:
        stock = []
        for b in range(c.nblocks):
            rng = rng_for(cfg.seed, 100, c.i, b)
            enc = base_encounters(pv, rng, c, 1.0 / c.nblocks)
            if b == 0 and c.specials:
                sp = Enc.concat(c.specials)
                sp.elig_ok[:] = False
                enc = Enc.concat([enc, sp])
            enc = plant_encounters(pv, rng, c, enc, b)
            urng = rng_for(cfg.seed, 300, c.i, b) if c.i in ut_plan else None
            if urng is not None:
                enc = ut.plant_encounters(pv, urng, c, enc, ut_plan[c.i], c.nblocks, cfg.year)
            # order encounters by time so ids follow the calendar
            order = np.lexsort((enc.psn, enc.day))
            enc = enc.take(order)
            ln = build_lines(pv, rng, c, enc)
            ln = plant_lines(pv, rng, c, enc, ln, b)
            if urng is not None:
                ln = ut.plant_lines(urng, c, enc, ln, ut_plan[c.i])
            t = block_tables(pv, rng, c, enc, ln, enc0, line0, bo)
            enc0 += len(enc)
            line0 += t["fee_list_d"].num_rows
            for name in written:
                sinks[name].write(_fit(t[name], schemas[name]))
            stock.append(t["stock"])
            if bar is not None:
                bar.update(1)
        proc = (
            {}
            if first
            else procurement_tables(pv, c, stock, counters, bo, rng_for(cfg.seed, 200, c.i))
        )
        for name, df in proc.items():
            if df is not None and len(df):
                proc_sinks[name].write(
                    _fit(pa.Table.from_pandas(df, preserve_index=False), schemas[name])
                )
        tw.writerows(sorted(bo.truth_rows))  # this institution's planted records
        for row in bo.truth_rows:
            bo.n_records[row[:2]] = bo.n_records.get(row[:2], 0) + 1
        bo.truth_rows = []
    fh.close()
    if bar is not None:
        bar.close()
    rows = {}
    for name, s in {**sinks, **proc_sinks}.items():
        s.close()
        rows[name] = s.rows
    if not first:
        rows["psn_info_b"] = cfg.persons
    # registries
    inst = pv.inst
    write_csv(inst[reg.INSTITUTION_COLUMNS], out / "institutions.csv")
    rrng = rng_for(cfg.seed, 9)
    insp = reg.make_inspectors(rrng, len(inst), cfg.year)
    if first:
        risk = np.array([len(c.violator) for c in ctxs], float)
        write_csv(reg.make_credit(rrng, inst, risk, cfg.year), out / "credit_ratings.csv")
        rows.update(institutions=len(inst))
    _write_truth(out, ctxs, bo, ut_plan, pv, first, insp, rrng, rows)
    viol = {f: sum(1 for c in ctxs if f in c.violator) for f in FAMS}
    if not first:  # 进销存 uploads with planted 回流药 (synth.inventory)
        from riskscore.synth.inventory import FAMILY, add_inventory

        inv = add_inventory(out, cfg.seed, cfg.prevalence, cfg.fmt)
        rows.update(inv["rows"])
        viol[FAMILY] = inv["violators"]
    decoys = sorted((c.code, c.decoy) for c in ctxs if c.decoy)
    dk = {}
    for _code, kind in decoys:
        dk[kind] = dk.get(kind, 0) + 1
    return SynthSummary(out=out, rows=rows, violators=viol, decoys=dk)


def _write_truth(out, ctxs, bo, ut_plan, pv, first, insp, rrng, rows) -> None:
    """Registries of the full layout (unless a first extract) and the truth files."""
    cfg = pv.cfg
    inst = pv.inst
    if ut_plan:
        ut_rows = [
            (ctxs[i].code, a, round(r, 4), round(p, 4)) for i, (a, r, p) in sorted(ut_plan.items())
        ]
        pd.DataFrame(
            ut_rows, columns=["fixmedins_code", "abuse", "ratio", "churn_share"]
        ).sort_values("fixmedins_code").to_csv(
            out / "truth_utilization.csv", index=False, lineterminator="\n"
        )
    if first:
        _write_truth_files(out, ctxs, bo, cfg)
        return
    write_csv(
        insp[
            [
                c.name
                for c in __import__("riskscore.contract", fromlist=["TABLES"])
                .TABLES["inspectors"]
                .columns
            ]
        ],
        out / "inspectors.csv",
    )
    write_csv(reg.make_conflicts(rrng, insp, inst), out / "conflicts.csv")
    write_csv(reg.make_inspection_items(), out / "inspection_items.csv")
    risk = np.array([len(c.violator) for c in ctxs], float)
    write_csv(reg.make_credit(rrng, inst, risk, cfg.year), out / "credit_ratings.csv")
    rows.update(institutions=len(inst), inspectors=len(insp))
    _write_truth_files(out, ctxs, bo, cfg)


def _write_truth_files(out, ctxs, bo, cfg) -> None:
    # truth
    truth = sorted((c.code, f) for c in ctxs for f in c.violator)
    pd.DataFrame(truth, columns=["fixmedins_code", "family"]).to_csv(
        out / "truth.csv", index=False, lineterminator="\n"
    )
    # intensity and planted records per violator and family (for recall-by-intensity studies)
    pd.DataFrame(
        [
            (
                c.code,
                f,
                round(c.violator[f], 4),
                bo.n_records.get((c.code, f), 0),
                round(bo.improper.get((c.code, f), 0.0), 2),
            )
            for c in sorted(ctxs, key=lambda c: c.code)
            for f in FAMS
            if f in c.violator
        ],
        columns=["fixmedins_code", "family", "intensity", "planted_records", "planted_amount"],
    ).to_csv(out / "truth_intensity.csv", index=False, lineterminator="\n")
    decoys = sorted((c.code, c.decoy) for c in ctxs if c.decoy)
    pd.DataFrame(decoys, columns=["fixmedins_code", "kind"]).to_csv(
        out / "truth_decoys.csv", index=False, lineterminator="\n"
    )
    orng = rng_for(cfg.seed, 10)
    found, amount = [], []
    by_inst: dict[str, float] = {}
    for (code, _f), v in sorted(bo.improper.items()):
        by_inst[code] = by_inst.get(code, 0.0) + v
    for c in ctxs:
        planted = by_inst.get(c.code, 0.0)
        if c.violator:
            f = orng.random() < 0.85
            amt = planted * orng.uniform(0.6, 1.0) if f else 0.0
        else:
            f = orng.random() < 0.03
            amt = orng.uniform(500, 5000) if f else 0.0
        found.append(int(f))
        amount.append(round(float(amt), 2))
    pd.DataFrame(
        {
            "fixmedins_code": [c.code for c in ctxs],
            "violation_found": found,
            "improper_amount": amount,
        }
    ).to_csv(out / "truth_outcomes.csv", index=False, lineterminator="\n", float_format="%.2f")
