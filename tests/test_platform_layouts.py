"""The bundled sample as the platform really delivers it scores identically to the sample.

A part of ``data_samples`` (every ``EVERY``-th institution with its claims) is written three more
ways and scored with ``riskscore score``; ``scores.csv`` must be byte-identical each time:

- the claims in the real extract layout built from :data:`riskscore.layouts.PLATFORM_FIELDS`:
  every platform field in order, upper-case single-quoted headers, single-quoted fields, CRLF,
  a leading row-number column, the persons' fields only on the encounters (no ``psn_info_b``;
  the 门慢门特 status as a 病种 code in ``dise_no``);
- the registry as the platform's ``fixmedins_b`` in national dictionary codes;
- the registry with Chinese labels (医院 / 三级甲等 / 公立 / 正常 …).

The whole sample (300 institutions) is compared the same way in the slow suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from riskscore.cli import main
from riskscore.layouts import PLATFORM_FIELDS

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples"
CLAIMS = ("mdtrt_d", "setl_d", "fee_list_d", "setl_list_diag_d")
EVERY = 30
"""Every 30th institution of the sample (10 of 300) in the default suite."""


def _subset(dst: Path, every: int) -> Path:
    dst.mkdir(parents=True)
    inst = pd.read_csv(SAMPLE / "institutions.csv", dtype=str, keep_default_na=False)
    inst = inst.iloc[::every]
    codes = set(inst["fixmedins_code"])
    inst.to_csv(dst / "institutions.csv", index=False)
    setl = None
    for f in sorted(SAMPLE.iterdir()):
        if f.name.startswith(("truth", "README", "institutions")) or f.is_dir():
            continue
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
            if "fixmedins_code" in df.columns:
                df = df[df["fixmedins_code"].isin(codes)]
            if f.stem == "setl_d":
                setl = set(df["setl_id"])
            df.to_parquet(dst / f.name, index=False)
        else:
            shutil.copy(f, dst / f.name)
    diag = pd.read_parquet(dst / "setl_list_diag_d.parquet")
    diag[diag["setl_id"].isin(setl)].to_parquet(dst / "setl_list_diag_d.parquet", index=False)
    persons = set(pd.read_parquet(dst / "mdtrt_d.parquet", columns=["psn_no"])["psn_no"])
    p = pd.read_parquet(dst / "psn_info_b.parquet")
    p[p["psn_no"].isin(persons)].to_parquet(dst / "psn_info_b.parquet", index=False)
    return dst


def _text(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    return s.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))


def write_extract(df: pd.DataFrame, table: str, path: Path) -> None:
    """``df`` as a platform export: all fields in order, quoted upper-case header, CRLF, RN."""
    fields = PLATFORM_FIELDS[table]
    unknown = [c for c in df.columns if c not in fields]
    assert not unknown, f"{table}: {unknown} are not platform fields"
    cells = pd.DataFrame({f: (_text(df[f]) if f in df.columns else "") for f in fields})
    lines = ["'RN'," + ",".join(f"'{f.upper()}'" for f in fields)]
    for i, row in enumerate(cells.itertuples(index=False), start=1):
        lines.append(f"'{i}'," + ",".join(f"'{v}'" for v in row))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def platform_layout(src: Path, dst: Path) -> Path:
    """The folder ``src`` with its claims rewritten in the real extract layout (no psn_info_b)."""
    shutil.copytree(src, dst)
    persons = pd.read_parquet(dst / "psn_info_b.parquet")
    (dst / "psn_info_b.parquet").unlink()
    p = persons.set_index("psn_no")
    for table in CLAIMS:
        df = pd.read_parquet(dst / f"{table}.parquet")
        (dst / f"{table}.parquet").unlink()
        if table in ("mdtrt_d", "setl_d"):
            for c in ("gend", "brdy", "die_date"):
                df[c] = df["psn_no"].map(p[c])
        if table == "mdtrt_d":  # the registered 门慢门特 病种 on the person's encounters
            chronic = df["psn_no"].map(p["chronic_flag"]).fillna(0).astype(int) == 1
            df["dise_no"] = df["dise_no"].where(~chronic, "M03900")
        write_extract(df, table, dst / f"{table}.csv")
    return dst


NATIONAL = {
    "medins_type": {"hospital": "A100", "clinic": "B100", "pharmacy": ""},
    "fixmedins_type": {"hospital": "1", "clinic": "1", "pharmacy": "2"},
    "hosp_lv": {"3": "02", "2": "06", "1": "09", "0": "11"},
    "ownership": {"public": "110", "private": "171"},
}
LABELS = {
    "medins_type": {"hospital": "医院", "clinic": "社区卫生服务中心", "pharmacy": "定点零售药店"},
    "hosp_lv": {"3": "三级甲等", "2": "二级", "1": "一级", "0": "未定级"},
    "ownership": {"public": "公立", "private": "民营"},
    "status": {"active": "正常", "suspended": "暂停", "closed": "注销"},
}


def fixmedins_b_registry(src: Path, dst: Path) -> Path:
    """``src`` with its registry as ``fixmedins_b`` in national codes (upper-case header)."""
    shutil.copytree(src, dst)
    inst = pd.read_csv(dst / "institutions.csv", dtype=str, keep_default_na=False)
    (dst / "institutions.csv").unlink()
    closed = inst["status"] != "active"
    pd.DataFrame(
        {
            "FIXMEDINS_CODE": inst["fixmedins_code"],
            "FIXMEDINS_NAME": inst["fixmedins_name"],
            "USCC": inst["uscc"],
            "FIXMEDINS_TYPE": inst["medins_type"].map(NATIONAL["fixmedins_type"]),
            "MEDINS_TYPE": inst["medins_type"].map(NATIONAL["medins_type"]),
            "HOSP_LV": inst["hosp_lv"].map(NATIONAL["hosp_lv"]),
            "ECON_TYPE": inst["ownership"].map(NATIONAL["ownership"]),
            "FIX_BLNG_ADMDVS": inst["region"],
            "SPECIALTY": inst["specialty"],
            "BEGNTIME": "2015-01-01 00:00:00",
            "ENDTIME": "2099-12-31 00:00:00",
            "VALI_FLAG": closed.map({True: "0", False: "1"}),
        }
    ).to_csv(dst / "fixmedins_b.csv", index=False)
    return dst


def chinese_registry(src: Path, dst: Path) -> Path:
    """``src`` with the registry's codes written as Chinese labels."""
    shutil.copytree(src, dst)
    inst = pd.read_csv(dst / "institutions.csv", dtype=str, keep_default_na=False)
    for col, labels in LABELS.items():
        inst[col] = inst[col].map(labels)
    inst.to_csv(dst / "institutions.csv", index=False)
    return dst


def _score(data: Path, out: Path) -> bytes:
    assert main(["score", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    return (out / "scores.csv").read_bytes()


@pytest.fixture(scope="module")
def part(tmp_path_factory):
    base = tmp_path_factory.mktemp("part")
    src = _subset(base / "sample", EVERY)
    return base, src, _score(src, base / "out_sample")


def test_platform_extract_layout_scores_identically(part):
    base, src, expected = part
    d = platform_layout(src, base / "extract")
    head = (d / "mdtrt_d.csv").read_bytes().split(b"\r\n")[0].decode()
    assert head.startswith("'RN','MDTRT_ID','MEDINS_SETL_ID','PSN_NO'")
    assert head.count(",") == len(PLATFORM_FIELDS["mdtrt_d"])
    assert not list(d.glob("psn_info_b*"))
    assert _score(d, base / "out_extract") == expected


@pytest.mark.slow  # two more scores (~20 s); validate's engine path is tested fast elsewhere
def test_fixmedins_b_and_chinese_registries_score_identically(part):
    base, src, expected = part
    assert _score(fixmedins_b_registry(src, base / "fixb"), base / "out_fixb") == expected
    assert _score(chinese_registry(src, base / "zh"), base / "out_zh") == expected


@pytest.mark.slow
def test_whole_sample_in_every_layout_scores_identically(tmp_path):
    src = _subset(tmp_path / "sample", 1)
    expected = _score(src, tmp_path / "out_sample")
    assert len(pd.read_csv(tmp_path / "out_sample" / "scores.csv")) == 300
    for name, make in (
        ("extract", platform_layout),
        ("fixb", fixmedins_b_registry),
        ("zh", chinese_registry),
    ):
        got = _score(make(src, tmp_path / name), tmp_path / f"out_{name}")
        assert got == expected, name
