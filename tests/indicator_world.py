"""Tiny hand-made claim tables for the indicator tests (imported by tests/test_indicators*.py)."""

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
        med_type=None,
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
                med_type=med_type or e["med_type"],
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
            t["fee_list_d"] = pd.DataFrame(self.fee)
        return t
