"""Encounters, fee lines and planted violations for one institution block (vectorised).

One call of :func:`generate_block` produces the encounters (``mdtrt_d``), settlements
(``setl_d``), fee lines (``fee_list_d``) and diagnoses (``setl_list_diag_d``) of one block of
one institution, with the planted violations and the truth records. Loops run per block,
never per claim row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from riskscore.contract import FAMILIES

FAMS = [f for f in FAMILIES if f != "drug_resale"]  # drug_resale: planted by synth.inventory
BIT = {f: 1 << i for i, f in enumerate(FAMS)}
ENC_FAMS = (
    "duplicate_prescribing",
    "split_prescription",
    "split_hospitalization",
    "bed_hanging",
    "over_testing",
    "duplicate_charging",
    "identity_fraud",
    "abnormal_utilization",
)
LINE_FAMS = ("over_prescription", "restricted_items", "substitution", "zero_markup")

# ICD-10 (医保版 layout) diagnosis groups: code, name
DIAG = {
    "out": [
        ("J06.900", "急性上呼吸道感染"),
        ("J02.900", "急性咽炎"),
        ("K29.700", "胃炎"),
        ("M54.500", "腰痛"),
        ("J20.900", "急性支气管炎"),
        ("L30.900", "皮炎"),
        ("H10.900", "结膜炎"),
        ("R51.x00", "头痛"),
        ("K59.000", "便秘"),
        ("N39.000", "泌尿道感染"),
    ],
    "er": [
        ("S09.900", "头部损伤"),
        ("R10.400", "腹痛"),
        ("J18.900", "肺炎"),
        ("T14.000", "浅表损伤"),
        ("R50.900", "发热"),
    ],
    "chronic": [
        ("I10.x00", "原发性高血压"),
        ("E11.900", "2型糖尿病"),
        ("I25.100", "冠状动脉粥样硬化性心脏病"),
        ("J44.900", "慢性阻塞性肺病"),
        ("E78.500", "高脂血症"),
    ],
    "ipt": [
        ("J18.900", "肺炎"),
        ("I63.900", "脑梗死"),
        ("I25.100", "冠状动脉粥样硬化性心脏病"),
        ("K80.200", "胆囊结石"),
        ("K35.800", "急性阑尾炎"),
        ("S72.000", "股骨颈骨折"),
        ("J44.100", "慢性阻塞性肺病伴急性加重"),
        ("N20.000", "肾结石"),
        ("E11.900", "2型糖尿病"),
        ("I50.900", "心力衰竭"),
        ("K56.700", "肠梗阻"),
    ],
    "onc": [
        ("C34.900", "肺恶性肿瘤"),
        ("C50.900", "乳房恶性肿瘤"),
        ("C16.900", "胃恶性肿瘤"),
        ("C18.900", "结肠恶性肿瘤"),
    ],
    "chemo": [("Z51.100", "肿瘤化学治疗疗程"), ("Z51.000", "放射治疗疗程")],
    "dial": [("N18.500", "慢性肾脏病5期"), ("Z49.100", "体外透析")],
    "rehab": [("I69.300", "脑梗死后遗症"), ("Z50.900", "康复治疗"), ("G82.200", "截瘫")],
    "psych": [("F20.900", "精神分裂症"), ("F32.900", "抑郁发作"), ("F31.900", "双相情感障碍")],
}
DIAG_LIST = [d for g in DIAG.values() for d in g]
DIAG_CODES = np.array([d[0] for d in DIAG_LIST])
DIAG_NAMES = np.array([d[1] for d in DIAG_LIST])
_off = {}
_pos = 0
for _g, _v in DIAG.items():
    _off[_g] = (_pos, len(_v))
    _pos += len(_v)
DIAG_OFF = _off


def diag_pick(rng: np.random.Generator, group: str, n: int) -> np.ndarray:
    start, size = DIAG_OFF[group]
    return start + rng.integers(0, size, n)


@dataclass
class Enc:
    """Encounter arrays of one block (structure of arrays)."""

    med: np.ndarray
    psn: np.ndarray
    day: np.ndarray
    L: np.ndarray
    diag: np.ndarray
    ndrug: np.ndarray
    fprod: np.ndarray
    fprd: np.ndarray
    mode: np.ndarray  # bit flags for line generation: 1 hang days, 2 test-dominated, 4 over-test, 8 dup-charge, 16 chemo
    truth: np.ndarray  # family bits (planted, recorded)
    elig_ok: np.ndarray = field(default=None)  # eligible for further encounter planting

    @classmethod
    def empty(cls) -> Enc:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, z, z, z, z, z, z, np.zeros(0, bool))

    @classmethod
    def make(
        cls, med, psn, day, L, diag, ndrug, fprod=None, fprd=None, mode=None, truth=None
    ) -> Enc:
        n = len(med)
        return cls(
            med=np.asarray(med, np.int64),
            psn=np.asarray(psn, np.int64),
            day=np.asarray(day, np.int64),
            L=np.asarray(L, np.int64),
            diag=np.asarray(diag, np.int64),
            ndrug=np.asarray(ndrug, np.int64),
            fprod=np.full(n, -1, np.int64) if fprod is None else np.asarray(fprod, np.int64),
            fprd=np.zeros(n, np.int64) if fprd is None else np.asarray(fprd, np.int64),
            mode=np.zeros(n, np.int64) if mode is None else np.asarray(mode, np.int64),
            truth=np.zeros(n, np.int64) if truth is None else np.asarray(truth, np.int64),
            elig_ok=np.ones(n, bool),
        )

    def __len__(self) -> int:
        return len(self.med)

    def take(self, idx) -> Enc:
        return Enc(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Enc]) -> Enc:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Enc.empty()
        return Enc(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Enc.__dataclass_fields__)
        )


def choose(rng: np.random.Generator, mask: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` random True positions of ``mask`` (fewer if not enough)."""
    cand = np.flatnonzero(mask)
    k = int(min(k, len(cand)))
    if k <= 0:
        return np.zeros(0, np.int64)
    return np.sort(rng.choice(cand, size=k, replace=False))
