"""Tiny hand-made claim tables for the indicator tests (imported by tests/test_indicators*.py).

Each ``world_<family>()`` returns ``{table: DataFrame}`` with known flagged claims; the expected
numerators, denominators and evidence ids are written next to the data in the tests.
"""

from __future__ import annotations

import pandas as pd

INSTITUTIONS = pd.DataFrame(
    {
        "fixmedins_code": ["H1", "H2", "C1", "P1"],
        "fixmedins_name": ["医院一", "医院二", "诊所一", "药店一"],
        "medins_type": ["hospital", "hospital", "clinic", "pharmacy"],
        "hosp_lv": ["3", "2", "0", "0"],
        "ownership": ["public", "public", "private", "private"],
        "region": ["R1", "R2", "R1", "R2"],
    }
)


class World:
    """Collects encounters, fee lines and persons; ``tables()`` returns contract frames."""

    def __init__(self):
        self.enc: list[dict] = []
        self.fee: list[dict] = []
        self.psn: dict[str, dict] = {}
        self.extra: dict[str, pd.DataFrame] = {}
        self._n = 0

    def person(self, psn, gend="1", brdy="1970-01-01", insutype="310", chronic=0, die=None):
        self.psn[psn] = dict(
            psn_no=psn, gend=gend, brdy=brdy, insutype=insutype, chronic_flag=chronic, die_date=die
        )
        return psn

    def encounter(self, mid, psn, inst, med_type, begn, end=None, dx=None):
        if psn not in self.psn:
            self.person(psn)
        self.enc.append(
            dict(
                mdtrt_id=mid,
                psn_no=psn,
                fixmedins_code=inst,
                med_type=med_type,
                begntime=begn,
                endtime=end or begn,
                dscg_maindiag_code=dx,
            )
        )
        return mid

    def line(
        self,
        mid,
        code,
        chrg,
        time=None,
        cnt=1.0,
        pric=10.0,
        prd_days=None,
        rx=None,
        mlc=None,
        sn=None,
    ):
        e = next(x for x in self.enc if x["mdtrt_id"] == mid)
        self._n += 1
        sn = sn or f"L{self._n:04d}"
        self.fee.append(
            dict(
                bkkp_sn=sn,
                mdtrt_id=mid,
                psn_no=e["psn_no"],
                fixmedins_code=e["fixmedins_code"],
                fee_ocur_time=time or e["begntime"],
                med_chrgitm_type=chrg,
                hilist_code=code,
                medins_list_codg=mlc or ("M" + code),
                cnt=cnt,
                pric=pric,
                det_item_fee_sumamt=cnt * pric,
                prd_days=prd_days,
                rx_drord_no=rx,
                med_type=e["med_type"],
            )
        )
        return sn

    def tables(self, fee=True) -> dict[str, pd.DataFrame]:
        t = {
            "institutions": INSTITUTIONS.copy(),
            "mdtrt_d": pd.DataFrame(self.enc),
            "psn_info_b": pd.DataFrame(list(self.psn.values())),
        }
        if fee:
            cols = [
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
                "med_type",
            ]
            t["fee_list_d"] = pd.DataFrame(self.fee, columns=cols)
        t.update({k: v.copy() for k, v in self.extra.items()})
        return t


DRUG_A = "XA01AAA001A001010101"  # generic key XA01AAA001
DRUG_A2 = "XA01AAA001B002020202"  # same generic, other product
DRUG_B = "XA01AAB001A001010101"


def world_over_prescription() -> World:
    w = World()
    w.person("pc", chronic=1)
    w.encounter("E1", "p1", "C1", "11", "2024-03-01 09:00")
    w.line("E1", DRUG_A, "09", prd_days=10, sn="F01")  # > 7: flagged
    w.line("E1", DRUG_B, "09", prd_days=7, sn="F02")
    w.line("E1", "3101000050000", "05", prd_days=30, sn="F10")  # not a drug line
    w.encounter("E2", "p2", "H1", "13", "2024-03-01 09:00")
    w.line("E2", DRUG_A, "09", prd_days=5, sn="F03")  # > 3 emergency: flagged
    w.line("E2", DRUG_B, "09", prd_days=3, sn="F04")
    w.encounter("E3", "pc", "P1", "41", "2024-03-02 09:00")
    w.line("E3", DRUG_A, "09", prd_days=30, sn="F05")  # chronic person at pharmacy: ≤ 84
    w.encounter("E4", "p3", "H1", "21", "2024-03-02 09:00", "2024-03-09 09:00", dx="I10")
    w.line("E4", DRUG_A, "09", prd_days=30, sn="F06")  # inpatient: no limit
    w.encounter("E5", "p4", "P1", "41", "2024-03-03 09:00")
    w.line("E5", DRUG_A, "11", prd_days=30, sn="F07")  # non-chronic at pharmacy: > 7 flagged
    w.encounter("E6", "p2", "H1", "14", "2024-03-04 09:00")
    w.line("E6", DRUG_A, "09", prd_days=90, sn="F08")  # chronic outpatient > 84: flagged
    w.line("E6", DRUG_B, "09", prd_days=60, sn="F09")
    return w


def world_prescriptions() -> World:
    """Duplicate and split prescriptions (one world for both families)."""
    w = World()
    # q1: C1 supply 03-01 (7 d), H1 new supply 03-03 with 5 days on hand → duplicate at H1
    w.encounter("D1", "q1", "C1", "11", "2024-03-01 09:00")
    w.line("D1", DRUG_A, "09", prd_days=7, rx="R1")
    w.encounter("D2", "q1", "H1", "13", "2024-03-03 09:00")
    w.line("D2", DRUG_A2, "09", prd_days=3, rx="R2")
    w.encounter("D3", "q1", "C1", "11", "2024-03-07 09:00")  # 1 day on hand: tolerated
    w.line("D3", DRUG_A, "09", prd_days=7, rx="R3")
    w.encounter("D4", "q1", "C1", "11", "2024-03-20 09:00")
    w.line("D4", DRUG_A, "09", prd_days=7, rx="R4")
    # q2 at C1: 04-01 and 04-02 (7 + 7 > 7, each ≤ 7) → split; 04-05 with 4 days on hand → duplicate
    w.encounter("D5", "q2", "C1", "11", "2024-04-01 09:00")
    w.line("D5", DRUG_A, "09", prd_days=7, rx="R5")
    w.encounter("D6", "q2", "C1", "11", "2024-04-02 09:00")
    w.line("D6", DRUG_A, "09", prd_days=7, rx="R6")
    w.encounter("D7", "q2", "C1", "11", "2024-04-05 09:00")
    w.line("D7", DRUG_A, "09", prd_days=7, rx="R7")
    # q4 at C1: two prescriptions the same day, 3 + 3 ≤ 7 → neither split nor duplicate? (3 on hand)
    w.encounter("D8", "q4", "C1", "11", "2024-05-01 09:00")
    w.line("D8", DRUG_B, "09", prd_days=3, rx="T1")
    w.line("D8", DRUG_B, "09", prd_days=3, rx="T2")
    # q3 at H1 emergency: 05-01 (2 d) + 05-02 (2 d) > 3 → split; 05-10 5 days alone: not split
    w.encounter("D9", "q3", "H1", "13", "2024-05-01 09:00")
    w.line("D9", DRUG_B, "09", prd_days=2, rx="S1")
    w.encounter("D10", "q3", "H1", "13", "2024-05-02 09:00")
    w.line("D10", DRUG_B, "09", prd_days=2, rx="S2")
    w.encounter("D11", "q3", "H1", "13", "2024-05-10 09:00")
    w.line("D11", DRUG_B, "09", prd_days=5, rx="S3")
    return w


def world_split_hospitalization() -> World:
    w = World()
    w.encounter("S1a", "s1", "H1", "21", "2024-01-01 08:00", "2024-01-10 08:00", dx="I10.x00")
    w.encounter("S1b", "s1", "H1", "21", "2024-01-20 08:00", "2024-01-25 08:00", dx="I10.x01")
    w.encounter("S1c", "s1", "H2", "21", "2024-02-20 08:00", "2024-02-25 08:00", dx="J18.000")
    w.encounter("S1d", "s1", "H2", "21", "2024-03-01 08:00", "2024-03-05 08:00", dx="J18.900")
    w.encounter("S1o", "s1", "C1", "11", "2024-01-15 08:00", dx="I10.x00")  # outpatient: ignored
    w.encounter("S2a", "s2", "H1", "21", "2024-01-01 08:00", "2024-01-03 08:00", dx="Z51.100")
    w.encounter("S2b", "s2", "H1", "21", "2024-01-10 08:00", "2024-01-12 08:00", dx="Z51.100")
    w.encounter("S3a", "s3", "H1", "21", "2024-01-01 08:00", "2024-01-05 08:00", dx="I21.000")
    w.encounter("S3b", "s3", "H2", "21", "2024-01-30 08:00", "2024-02-02 08:00", dx="I21.000")
    w.encounter("S4a", "s4", "H1", "21", "2024-01-01 08:00", "2024-01-05 08:00", dx="K35.000")
    w.encounter("S4b", "s4", "H2", "22", "2024-01-08 08:00", "2024-01-12 08:00", dx="J18.000")
    return w


def world_bed_hanging() -> World:
    w = World()
    w.encounter("B1", "m1", "H1", "21", "2024-03-01 08:00", "2024-03-04 10:00", dx="I10")
    w.line("B1", "1109000010000", "01", time="2024-03-01 09:00")
    w.line("B1", DRUG_A, "09", time="2024-03-01 10:00")
    w.line("B1", "1109000010000", "01", time="2024-03-02 09:00")
    w.line("B1", "1201000040000", "07", time="2024-03-02 09:00")  # bed + nursing only
    w.line("B1", "1109000010000", "01", time="2024-03-03 09:00")  # bed only
    w.line("B1", "1109000010000", "01", time="2024-03-04 09:00")
    w.line("B1", "3101000050000", "05", time="2024-03-04 09:30")
    w.encounter("B1o", "m1", "C1", "11", "2024-03-02 15:00")  # elsewhere during B1
    w.encounter("B2", "m2", "H2", "21", "2024-03-01 08:00", "2024-03-01 18:00", dx="J18")
    w.line("B2", "1109000010000", "01", time="2024-03-01 09:00", pric=10)
    w.line("B2", "2503020030000", "04", time="2024-03-01 10:00", pric=10)
    w.encounter("B2o", "m2", "C1", "11", "2024-03-01 19:00")  # same day: not strictly inside
    w.encounter("B3", "m3", "H2", "21", "2024-04-01 08:00", "2024-04-05 08:00", dx="R51")
    w.line("B3", "2503020030000", "04", time="2024-04-01 09:00", pric=900)  # 90 % tests
    w.line("B3", "1109000010000", "01", time="2024-04-02 09:00", pric=100)  # bed-only day
    w.encounter("B3o", "m3", "P1", "41", "2024-04-05 12:00")  # discharge day: not inside
    w.encounter("B3h", "m3", "H2", "11", "2024-04-02 12:00")  # same institution: not elsewhere
    return w


def world_over_testing() -> World:
    w = World()
    w.encounter("O1", "t0", "H1", "21", "2024-02-01 08:00", "2024-02-03 08:00", dx="I10")
    w.line("O1", "1109000010000", "01", time="2024-02-01 09:00", cnt=1)
    w.line("O1", "1109000010000", "01", time="2024-02-02 09:00", cnt=2)  # 2 > 1 per day
    w.line("O1", "3107010220000", "03", time="2024-02-01 09:00", cnt=30)  # 30 h > 24 h
    w.line("O1", "3107010220000", "03", time="2024-02-02 09:00", cnt=24)
    hba1c = "2503020030000"  # 1 per 15 days
    for mid, inst, day in (
        ("T1", "C1", "01-01"),
        ("T2", "C1", "01-10"),
        ("T3", "C1", "01-30"),
        ("T4", "H2", "01-12"),
    ):
        w.encounter(mid, "t1", inst, "11", f"2024-{day} 09:00", dx="E11")
        w.line(mid, hba1c, "04", sn="HB" + mid)
    return w


def world_tests_per_encounter() -> World:
    w = World()
    for i in range(3):
        w.encounter(f"U{i}", f"u{i}", "C1", "11", "2024-02-01 09:00", dx="J06.900")
        w.line(f"U{i}", "2502000010000", "04")
    w.encounter("U9", "u9", "H2", "11", "2024-02-01 09:00", dx="J06.900")
    for _ in range(9):
        w.line("U9", "2502000010000", "04")
    w.encounter("U8", "u8", "H2", "11", "2024-02-02 09:00", dx="J06.000")  # no lines at all
    w.encounter("U7", "u7", "H1", "21", "2024-02-01 09:00", "2024-02-03 09:00", dx="I10")
    w.line("U7", "2502000010000", "04")
    w.line("U7", "2502000010000", "03")
    return w


def world_duplicate_charging() -> World:
    w = World()
    w.encounter("DC1", "c1", "H1", "13", "2024-06-01 08:00", "2024-06-02 20:00")
    w.line("DC1", "1103000010000", "05", time="2024-06-01 08:00")  # main
    w.line("DC1", "1102000030000", "02", time="2024-06-01 09:00")  # included sub, same day
    w.line("DC1", "1103000010000", "05", time="2024-06-02 08:00")  # main alone
    w.encounter("DC2", "c2", "H2", "21", "2024-06-01 08:00", "2024-06-03 08:00")
    w.line("DC2", "3302010140000", "06", time="2024-06-01 10:00")  # per-encounter pair
    w.line("DC2", "3302010040000", "06", time="2024-06-03 07:00")
    w.encounter("DC3", "c3", "H2", "11", "2024-06-05 10:00")
    w.line("DC3", "3102070040000", "03", time="2024-06-05 10:10")  # same-hour pair, other hour
    w.line("DC3", "3107010210000", "03", time="2024-06-05 11:20")
    w.encounter("DC4", "c4", "H2", "11", "2024-06-06 10:00")
    w.line("DC4", "3102070040000", "03", time="2024-06-06 10:10")
    w.line("DC4", "3107010210000", "03", time="2024-06-06 10:40")  # same hour: flagged
    w.encounter("DC5", "c5", "H2", "52", "2024-06-07 08:00", "2024-06-08 08:00")
    w.line("DC5", "3314000020000", "06", time="2024-06-07 10:00")  # 6-hour pair, 7 h apart
    w.line("DC5", "3109040040000", "03", time="2024-06-07 17:00")
    return w


def world_restricted() -> World:
    w = World()
    w.person("g1", gend="1")
    w.person("g2", gend="2")
    w.person("g3", gend="9")
    w.person("kid", brdy="2020-05-01")
    w.person("ins", gend="2", insutype="310")  # female: 地诺前列酮栓 is also 女 only
    for mid, psn in (("G1", "g1"), ("G2", "g2"), ("G3", "g3")):
        w.encounter(mid, psn, "H1", "11", "2024-06-01 09:00")
        w.line(mid, "2101030300000", "03", sn="L" + mid)  # 子宫造影: 女 only
    w.encounter("A1", "g1", "C1", "11", "2024-06-01 09:00")
    w.line("A1", "ZA04CAE0023010100166", "11", sn="LA1")  # 儿童清肺口服液 to an adult
    w.line("A1", "ZC01AAA0042010105549", "11", sn="LL1")  # 艾迪注射液 (二级+) at a clinic
    w.encounter("A2", "kid", "C1", "11", "2024-06-01 09:00")
    w.line("A2", "ZA04CAE0023010100166", "11", sn="LA2")
    w.encounter("I1", "ins", "H2", "11", "2024-06-01 09:00")
    w.line("I1", "ZH01AAB0066010100716", "11", sn="LI1")  # 工伤 only
    w.line("I1", "XG02ADD082D003010179504", "09", sn="LI2")  # 生育 only, 310 outpatient
    w.line("I1", "XB05BAU012B002010102180", "09", sn="LS1")  # 住院 only, outpatient
    w.line("I1", "ZC01AAA0042010105549", "11", sn="LL2")  # level 2 hospital: fine
    w.line("I1", DRUG_A, "09", sn="LX1")  # no restriction
    w.encounter("I3", "ins", "H2", "52", "2024-06-02 09:00", "2024-06-04 09:00")
    w.line("I3", "XG02ADD082D003010179504", "09", sn="LI3")  # 生育 medical type: fine
    w.line("I3", "XB05BAU012B002010102180", "09", sn="LS2")  # inpatient: fine
    return w


def world_substitution() -> World:
    w = World()
    w.encounter("M1", "v1", "H1", "11", "2024-06-01 09:00")
    for sn, mlc, code in (
        ("SA1", "MA", "XA"),
        ("SA2", "MA", "XA"),
        ("SA3", "MA", "XA"),
        ("SA4", "MA", "XB"),
        ("SC1", "MC", "XC"),
        ("SC2", "MC", "XC"),
    ):
        w.line("M1", code, "09", mlc=mlc, sn=sn)
    w.encounter("M2", "v2", "C1", "11", "2024-06-01 09:00")
    w.line("M2", "XB", "09", mlc="MA", sn="SB1")
    w.line("M2", "XB", "09", mlc="MA", sn="SB2")
    w.extra["stock_moves"] = pd.DataFrame(
        {
            "move_id": [f"K{i}" for i in range(8)],
            "fixmedins_code": ["H1", "H1", "H1", "H1", "H1", "C1", "C1", "H1"],
            "product_code": ["XA", "XA", "XA", "XB", "XB", "XC", "XC", "XB"],
            "move_date": [
                "2024-01-01",
                "2024-02-01",
                "2024-03-01",
                "2024-02-01",
                "2024-03-01",
                "2024-02-01",
                "2024-03-01",
                "2024-01-01",
            ],
            "move_type": ["opening", "in", "sale", "in", "sale", "in", "sale", "opening"],
            "qty": [10.0, 20.0, 40.0, 50.0, 30.0, 5.0, 5.0, 0.0],
        }
    )
    return w


def world_identity() -> World:
    w = World()
    w.person("d1", die="2024-03-01")
    w.encounter("X1", "d1", "C1", "11", "2024-03-05 09:00")  # after death
    w.encounter("X2", "d1", "C1", "11", "2024-02-01 09:00")
    w.encounter("X3", "d1", "H1", "11", "2024-03-01 09:00")  # day of death: not after
    w.encounter("Y1", "o1", "H1", "21", "2024-05-01 08:00", "2024-05-10 08:00")
    w.encounter("Y2", "o1", "H2", "21", "2024-05-05 08:00", "2024-05-07 08:00")  # overlaps Y1
    w.encounter("Y3", "o1", "H2", "21", "2024-05-10 12:00", "2024-05-12 08:00")  # transfer day
    w.encounter("Y4", "o2", "H1", "21", "2024-05-01 08:00", "2024-05-03 08:00")
    w.encounter("Z1", "r1", "C1", "11", "2024-07-01 09:00")  # R1
    w.encounter("Z2", "r1", "P1", "41", "2024-07-01 15:00")  # R2 same day
    w.encounter("Z3", "r1", "H1", "11", "2024-07-01 17:00")  # R1
    w.encounter("Z4", "r2", "C1", "11", "2024-07-01 09:00")
    w.encounter("Z5", "r2", "H1", "11", "2024-07-01 10:00")  # same region
    return w


def world_procurement() -> World:
    w = World()
    w.extra["procurement_agreements"] = pd.DataFrame(
        {
            "agreement_id": ["AG1", "AG2", "AG3"],
            "fixmedins_code": ["H1", "H1", "H2"],
            "product_code": ["PA", "PB", "PA"],
            "generic_group": ["G1", "G2", "G1"],
            "selected_flag": ["1", "1", "1"],
            "agreed_volume": [100.0, 50.0, 10.0],
            "last_year_volume": [100.0, 40.0, None],
            "reported_demand": [80.0, 50.0, None],
            "cycle_start": ["2024-01-01", "2024-01-01", "2024-01-01"],
            "cycle_end": ["2024-12-31", "2024-06-30", "2024-12-31"],
        }
    )
    w.extra["purchases"] = pd.DataFrame(
        {
            "purchase_id": ["PU1", "PU2", "PU3", "PU4", "PU5", "PU6"],
            "fixmedins_code": ["H1", "H1", "H1", "H1", "H2", "H2"],
            "product_code": ["PA", "PA", "PC", "PB", "PA", "PD"],
            "generic_group": ["G1", "G1", "G1", "G2", "G1", "G9"],
            "selected_flag": ["1", "1", "0", "1", "1", "0"],
            "qty": [60.0, 20.0, 20.0, 50.0, 10.0, 5.0],
            "amount": [120.0, 30.0, 60.0, 100.0, 20.0, 10.0],
            "purchase_price": [2.0, 1.5, 3.0, 2.0, 2.0, 2.0],
            "accept_date": [
                "2024-03-10",
                "2024-12-31",
                "2024-05-05",
                "2024-02-01",
                "2024-06-01",
                "2024-07-01",
            ],
            "pay_date": [
                "2024-04-30",
                "2025-01-15",
                "2024-07-01",
                None,
                "2024-06-20",
                "2024-08-31",
            ],
            "on_platform": ["1", "1", "0", "1", "1", "1"],
        }
    )
    # zero markup: H1 public hospital, product PA bought at 2.0 (03-10) then 1.5 (12-31)
    w.encounter("ZM", "z1", "H1", "11", "2024-03-05 09:00")
    w.line("ZM", "PA", "09", time="2024-03-05 09:00", pric=3.0, sn="Z1")  # before any purchase
    w.line("ZM", "PA", "09", time="2024-03-10 09:00", pric=2.0, sn="Z2")
    w.line("ZM", "PA", "09", time="2024-04-01 09:00", pric=2.5, sn="Z3")  # above 2.0
    w.line("ZM", "PA", "09", time="2024-12-30 09:00", pric=2.0, sn="Z5")
    w.line("ZM", "PA", "09", time="2024-12-31 09:00", pric=2.0, sn="Z4")  # above 1.5
    w.line("ZM", "PA", "10", time="2024-04-01 09:00", pric=9.0, sn="Z6")  # herbal: exempt
    w.encounter("ZC", "z2", "C1", "11", "2024-04-01 09:00")
    w.line("ZC", "PA", "09", pric=9.0, sn="Z7")  # private clinic: not in scope
    return w


def world_utilization() -> World:
    """Encounters and settlements (2025) for the abnormal_utilization indicators.

    Stays (admission → discharge, length): U1 p1 H1 J18 01-05→01-15 (10), U2 p2 H1 J18
    02-01→02-11 (10), U3 p3 H2 J18 03-01→03-03 (2), U4 p4 H2 J18 03-10→03-12 (2), U5 p5 H2
    I63 04-01→04-09 (8), U6 p3 H1 K80 03-13→03-16 (3; 10 days after U3: readmission),
    U7 p1 H1 Z51 01-20→01-22 (2; planned), U8 p2 H2 I63 03-05→03-07 (2; 22 days after U2).
    Outpatient (med_type 11, J06): O1 p6 C1 03-30 (month end), O2 p6 C1 03-27, O3 p7 C1 02-26
    (month end), O4 p8 H1 10-03 (国庆 holiday). Settled cost 1000 per stay except U1 3000;
    O1 100 with a 20 refund, O2 100, O3 100, O4 200. Insurance area (insu_admdvs): the
    institution's region, except U5 (H2, region R2) insured in R1, O1 (C1, R1) in R2 and O2
    without one.
    """
    w = World()
    stays = [
        ("U1", "p1", "H1", "J18.900", "2025-01-05", "2025-01-15"),
        ("U2", "p2", "H1", "J18.900", "2025-02-01", "2025-02-11"),
        ("U3", "p3", "H2", "J18.900", "2025-03-01", "2025-03-03"),
        ("U4", "p4", "H2", "J18.900", "2025-03-10", "2025-03-12"),
        ("U5", "p5", "H2", "I63.900", "2025-04-01", "2025-04-09"),
        ("U6", "p3", "H1", "K80.200", "2025-03-13", "2025-03-16"),
        ("U7", "p1", "H1", "Z51.100", "2025-01-20", "2025-01-22"),
        ("U8", "p2", "H2", "I63.900", "2025-03-05", "2025-03-07"),
    ]
    for mid, psn, inst, dx, b, e in stays:
        w.encounter(mid, psn, inst, "21", b + " 09:00", e + " 10:00", dx=dx)
    for mid, psn, inst, day in [
        ("O1", "p6", "C1", "2025-03-30"),
        ("O2", "p6", "C1", "2025-03-27"),
        ("O3", "p7", "C1", "2025-02-26"),
        ("O4", "p8", "H1", "2025-10-03"),
    ]:
        w.encounter(mid, psn, inst, "11", day + " 09:00", day + " 09:30", dx="J06.900")
    region = dict(zip(INSTITUTIONS.fixmedins_code, INSTITUTIONS.region, strict=True))
    elsewhere = {"U5": "R1", "O1": "R2", "O2": None}
    for e in w.enc:
        e["insu_admdvs"] = elsewhere.get(e["mdtrt_id"], region[e["fixmedins_code"]])
    cost = {m[0]: 1000.0 for m in stays} | {"U1": 3000.0, "O1": 100.0, "O2": 100.0}
    cost |= {"O3": 100.0, "O4": 200.0}
    rows = []
    for e in w.enc:
        mid = e["mdtrt_id"]
        rows.append(
            dict(
                setl_id="S" + mid,
                mdtrt_id=mid,
                psn_no=e["psn_no"],
                fixmedins_code=e["fixmedins_code"],
                setl_time=e["endtime"],
                medfee_sumamt=cost[mid],
                hifp_pay=cost[mid] * 0.6,
                fund_pay_sumamt=cost[mid] * 0.6,
                med_type=e["med_type"],
                refd_setl_flag="0",
            )
        )
    rows.append({**rows[8], "setl_id": "SO1R", "medfee_sumamt": 20.0, "refd_setl_flag": "1"})
    w.extra["setl_d"] = pd.DataFrame(rows)
    # fee lines: drugs / consultation / tests with the billing physician
    lines = [
        ("O1", "09", 50.0, "D1"),
        ("O1", "02", 30.0, "D1"),
        ("O2", "09", 20.0, "D1"),
        ("O2", "02", 80.0, "D1"),
        ("O3", "09", 100.0, "D2"),
        ("O4", "03", 200.0, "D4"),
        ("U1", "08", 600.0, "D3"),
        ("U1", "01", 2400.0, "D3"),
    ]
    fee = []
    for k, (mid, chrg, amt, doc) in enumerate(lines):
        e = next(x for x in w.enc if x["mdtrt_id"] == mid)
        fee.append(
            dict(
                bkkp_sn=f"UF{k:02d}",
                mdtrt_id=mid,
                psn_no=e["psn_no"],
                fixmedins_code=e["fixmedins_code"],
                fee_ocur_time=e["begntime"],
                med_chrgitm_type=chrg,
                hilist_code="C" + chrg,
                medins_list_codg="MC" + chrg,
                cnt=1.0,
                pric=amt,
                det_item_fee_sumamt=amt,
                bilg_dr_code=doc,
                med_type=e["med_type"],
            )
        )
    w.extra["fee_list_d"] = pd.DataFrame(fee)
    return w


def world_traceability() -> World:
    """P1 sells T1 (S1); C1 resells T1 (S2, never purchased): flagged twice over. P1 refunds T2
    (S3) and sells it again (S4): legitimate."""
    w = World()
    w.encounter("TRM1", w.person("TRP1"), "P1", "41", "2025-01-01")

    def sale(inst, code, setl, t, cnt=1.0):
        return {
            "fixmedins_code": inst,
            "med_list_codg": "XL01",
            "fixmedins_bchno": "B1",
            "drug_trac_codg": code,
            "setl_id": setl,
            "sel_retn_cnt": cnt,
            "sel_retn_time": pd.Timestamp(t),
        }

    w.extra["inv_sale"] = pd.DataFrame(
        [
            sale("P1", "T1", "S1", "2025-01-01"),
            sale("C1", "T1", "S2", "2025-02-01"),
            sale("P1", "T2", "S3", "2025-01-02"),
            sale("P1", "T2", "S4", "2025-01-09"),
        ]
    )
    w.extra["inv_sale_return"] = pd.DataFrame([sale("P1", "T2", "S3", "2025-01-05", -1.0)])
    w.extra["inv_purchase"] = pd.DataFrame(
        {
            "fixmedins_code": ["P1", "P1", "C1"],
            "med_list_codg": ["XL01"] * 3,
            "fixmedins_bchno": ["B1", "B1", "B2"],
            "drug_trac_codg": ["T1", "T2", "T7"],
            "purc_retn_cnt": [1.0] * 3,
            "finl_trns_pric": [10.0] * 3,
            "purc_retn_stoin_time": [pd.Timestamp("2024-12-01")] * 3,
        }
    )
    fee = {
        "bkkp_sn": "TRF1",
        "mdtrt_id": "TRM1",
        "psn_no": "TRP1",
        "fixmedins_code": "P1",
        "fee_ocur_time": pd.Timestamp("2025-01-01"),
        "med_chrgitm_type": "09",
        "hilist_code": "XL01",
        "medins_list_codg": "XL01",
        "cnt": 1.0,
        "pric": 10.0,
        "det_item_fee_sumamt": 10.0,
        "drug_trac_codg": "T1",
    }
    w.extra["fee_list_d"] = pd.DataFrame(
        [fee, {**fee, "bkkp_sn": "TRF2", "fee_ocur_time": pd.Timestamp("2025-03-01")}]
    )
    return w


WORLDS = {
    "over_prescription": world_over_prescription,
    "prescriptions": world_prescriptions,
    "split_hospitalization": world_split_hospitalization,
    "bed_hanging": world_bed_hanging,
    "over_testing": world_over_testing,
    "tests_per_encounter": world_tests_per_encounter,
    "duplicate_charging": world_duplicate_charging,
    "restricted": world_restricted,
    "substitution": world_substitution,
    "identity": world_identity,
    "procurement": world_procurement,
    "utilization": world_utilization,
    "traceability": world_traceability,
}

_ID_COLS = (
    "mdtrt_id",
    "setl_id",
    "bkkp_sn",
    "psn_no",
    "rx_drord_no",
    "move_id",
    "purchase_id",
    "agreement_id",
)


def combined_world() -> dict[str, pd.DataFrame]:
    """All worlds in one data set (ids prefixed by world) for engine parity tests."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, fn in WORLDS.items():
        for tname, df in fn().tables().items():
            if tname == "institutions":
                continue
            df = df.copy()
            for c in _ID_COLS:
                if c in df.columns:
                    df[c] = df[c].map(lambda v, n=name: None if v is None or v != v else f"{n}:{v}")
            parts.setdefault(tname, []).append(df)
    out = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    out["institutions"] = INSTITUTIONS.copy()
    return out
