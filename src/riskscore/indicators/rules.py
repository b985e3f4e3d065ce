"""Indicator parameters (rules.yaml) and the NHSA 两库 rule tables in their published format.

The 两库 files (b1–b8) are read as circulated (CSV in UTF-8/UTF-8-BOM/GB18030, or XLSX with the
same stem), with Chinese headers; codes exported through spreadsheets as floats
(``"1102000040000.0"``) are normalised back to ``"1102000040000"``. Footer rows (合计, 备注)
carry no code and are ignored.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import yaml

from riskscore.errors import RiskscoreError
from riskscore.paths import NHSA_RULES_DIR, RULES_FILE

_CODE_RE = re.compile(r"^[0-9A-Za-z]+$")


def load_rules(overrides: dict | None = None, path: str | Path | None = None) -> dict:
    """Indicator parameters from ``rules.yaml`` (指标参数), with optional overrides.

    Parameters
    ----------
    overrides : dict, optional
        ``{key: value}`` (or ``{key: {"value": value}}``) replacing entries of the file; nested
        dicts are merged key by key.
    path : path, optional
        Another rules file (default: the packaged ``rules.yaml``).

    Returns
    -------
    dict
        ``{key: value}`` plus ``_version`` and ``_sources`` (``{key: source}``).
    """
    path = Path(path) if path else RULES_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RiskscoreError(f"{path}: cannot read the rules file ({exc})") from exc
    out: dict = {"_version": str(raw.get("version", "")), "_sources": {}}
    for key, entry in raw.items():
        if key == "version":
            continue
        if not isinstance(entry, dict) or "value" not in entry:
            raise RiskscoreError(f"{path}: entry {key!r} must have 'value' and 'source'")
        out[key] = copy.deepcopy(entry["value"])
        out["_sources"][key] = entry.get("source", "")
    for key, val in (overrides or {}).items():
        if isinstance(val, dict) and "value" in val:
            val = val["value"]
        if key not in out:
            raise RiskscoreError(
                f"rules override: unknown parameter {key!r}; expected one of "
                + ", ".join(k for k in out if not k.startswith("_"))
            )
        if isinstance(val, dict) and isinstance(out[key], dict):
            merged = dict(out[key])
            merged.update(val)
            out[key] = merged
        else:
            out[key] = val
    return out


def normalise_code(value) -> str | None:
    """``"1102000040000.0"`` → ``"1102000040000"``; strips whitespace; empty → None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    s = str(value).strip()
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    if not s or s.lower() == "nan":
        return None
    return s


def _read_rule_file(rules_dir: Path, stem: str) -> pd.DataFrame | None:
    for ext in (".csv", ".xlsx", ".xls"):
        p = rules_dir / f"{stem}{ext}"
        if not p.exists():
            continue
        if ext == ".csv":
            raw = p.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise RiskscoreError(f"{p}: unknown text encoding; expected UTF-8 or GB18030")
            import io

            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        else:
            df = pd.read_excel(p, dtype=str).fillna("")
        df.columns = [str(c).strip() for c in df.columns]
        df.attrs["path"] = str(p)
        return df
    return None


def _col(df: pd.DataFrame, *names: str) -> str:
    for n in names:
        if n in df.columns:
            return n
    raise RiskscoreError(
        f"{df.attrs.get('path', '两库 file')}: column {' / '.join(names)} missing; "
        f"found {', '.join(df.columns)}"
    )


def _codes(series: pd.Series) -> pd.Series:
    vals = [normalise_code(v) for v in series.tolist()]
    vals = [v if isinstance(v, str) and _CODE_RE.match(v) else None for v in vals]
    return pd.Series(vals, index=series.index, dtype="object")


def _drug_rules(rules_dir: Path, stem: str) -> pd.DataFrame | None:
    """Join ``<stem>_rules`` (generic → restriction value) with ``<stem>_codes`` (codes)."""
    rules = _read_rule_file(rules_dir, f"{stem}_rules")
    codes = _read_rule_file(rules_dir, f"{stem}_codes")
    if rules is None or codes is None:
        return None
    name_r = _col(rules, "药品通用名", "通用名", "药品名称")
    val_r = _col(rules, "限定对象", "限定值域", "限定性别", "限定值")
    name_c = _col(codes, "药品通用名", "通用名", "药品名称")
    code_c = _col(codes, "国标代码", "药品代码", "医保代码", "项目代码", "编码")
    r = pd.DataFrame({"name": rules[name_r].str.strip(), "value": rules[val_r].str.strip()})
    c = pd.DataFrame({"name": codes[name_c].str.strip(), "code": _codes(codes[code_c])})
    m = c.dropna(subset=["code"]).merge(r.drop_duplicates("name"), on="name", how="inner")
    m["source"] = f"{stem}"
    return m[["code", "name", "value", "source"]]


def load_liangku(
    rules_dir: str | Path | None, params: dict
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read the 两库 tables into small normalised frames.

    Parameters
    ----------
    rules_dir : path or None
        Folder with the published files (default :data:`riskscore.paths.NHSA_RULES_DIR`).
    params : dict
        Loaded rules (for age limits, level mapping).

    Returns
    -------
    frames : dict
        ``lk_restrict`` (code, kind, value, name, source, req_gend, max_age, min_level),
        ``lk_freq`` (code, name, max_per_day, unit), ``lk_period`` (code, name, max_n,
        period_days), ``lk_pairs`` (main_code, sub_code, scope, main_name, sub_name).
        A file that is absent gives an empty frame.
    notes : list of str
        Rule rows that could not be interpreted, and absent files.
    """
    rules_dir = Path(rules_dir) if rules_dir else NHSA_RULES_DIR
    if not rules_dir.is_dir():
        raise RiskscoreError(f"{rules_dir}: 两库 rules folder not found")
    notes: list[str] = []
    restrict: list[pd.DataFrame] = []

    def note_missing(stem):
        notes.append(f"{rules_dir / stem}: file absent")

    def item_rule(stem, kind, code_cols, value_cols, value=None):
        """Append one 诊疗项目 restriction file (code, name, restricted value) to ``restrict``."""
        f = _read_rule_file(rules_dir, stem)
        if f is None:
            note_missing(stem)
            return
        restrict.append(
            pd.DataFrame(
                {
                    "code": _codes(f[_col(f, *code_cols)]),
                    "name": f[_col(f, "项目名称")],
                    "value": value if value_cols is None else f[_col(f, *value_cols)].str.strip(),
                    "source": stem,
                    "kind": kind,
                }
            )
        )

    def drug_rule(stem, kind):
        """Append one 药品 restriction batch (``<stem>_rules`` + ``<stem>_codes``)."""
        d = _drug_rules(rules_dir, stem)
        if d is None:
            note_missing(f"{stem}_rules/codes")
        else:
            restrict.append(d.assign(kind=kind))

    # --- b1 gender (drugs + items)
    drug_rule("b1_drug_gender", "gender")
    item_rule(
        "b1_item_gender", "gender", ("国标代码", "项目代码", "项目编码"), ("限定性别", "限定对象")
    )
    # --- b1 age (drugs + items), b8 age (working age)
    drug_rule("b1_drug_age", "age")
    item_rule("b1_item_age", "age", ("国标代码", "项目代码", "项目编码"), ("限定对象", "限定值域"))
    item_rule("b8_item_age", "age", ("项目代码", "国标代码", "项目编码"), None, value="就业年龄")
    # --- b3 insurance type, b4 care setting, b5 institution level
    for stem, kind in (
        ("b3_drug_insurance_type", "insurance"),
        ("b4_drug_care_setting", "setting"),
        ("b5_drug_institution_level", "level"),
    ):
        drug_rule(stem, kind)

    cols = ["code", "kind", "value", "name", "source"]
    r = pd.concat(restrict, ignore_index=True)[cols] if restrict else pd.DataFrame(columns=cols)
    r = r.dropna(subset=["code"]).drop_duplicates(["code", "kind", "value"]).reset_index(drop=True)
    gmap = {"男": "1", "女": "2"}
    age_map = {
        "儿童": float(params["child_max_age"]),
        "新生儿": float(params["newborn_max_age_days"]) / 365.25,
        "婴幼儿": float(params["infant_max_age"]),
        "就业年龄": float(params["working_age_max"]),
    }
    level_map = {k: int(v) for k, v in params["institution_level_min"].items()}
    ins_map = params["insurance_type_allowed"]
    setting_values = {"住院"}
    r["req_gend"] = r["value"].map(gmap).where(r["kind"] == "gender")
    r["max_age"] = r["value"].map(age_map).where(r["kind"] == "age")
    r["min_level"] = r["value"].map(level_map).where(r["kind"] == "level")
    ok = (
        ((r["kind"] == "gender") & r["req_gend"].notna())
        | ((r["kind"] == "age") & r["max_age"].notna())
        | ((r["kind"] == "level") & r["min_level"].notna())
        | ((r["kind"] == "insurance") & r["value"].isin(list(ins_map)))
        | ((r["kind"] == "setting") & r["value"].isin(setting_values))
    )
    for (kind, value), n in r.loc[~ok].groupby(["kind", "value"]).size().items():
        notes.append(f"两库 {kind} restriction value {value!r} not understood ({n} codes ignored)")
    r = r.loc[ok].reset_index(drop=True)
    r["req_gend"] = r["req_gend"].astype("string")
    r["max_age"] = r["max_age"].astype("float64")
    r["min_level"] = r["min_level"].astype("float64")
    for c in ("code", "kind", "value", "name", "source"):
        r[c] = r[c].astype("string")

    # --- b8 frequency
    f = _read_rule_file(rules_dir, "b8_item_frequency")
    if f is None:
        note_missing("b8_item_frequency")
        freq = pd.DataFrame({"code": [], "name": [], "max_per_day": [], "unit": []})
    else:
        freq = pd.DataFrame(
            {
                "code": _codes(f[_col(f, "项目编码", "项目代码", "国标代码")]),
                "name": f[_col(f, "项目名称")],
                "max_per_day": pd.to_numeric(f[_col(f, "限制数量", "频次上限")], errors="coerce"),
                "unit": f[_col(f, "数量单位")].str.strip(),
            }
        )
        freq = freq.dropna(subset=["code", "max_per_day"])
        # limits stated per day (日/天) or in hours per 24 h (小时): both compare the day's sum of cnt
        freq = freq[freq["unit"].isin(["日", "天", "小时"])]
    freq = freq.drop_duplicates("code").reset_index(drop=True)
    # --- b8 period
    p = _read_rule_file(rules_dir, "b8_item_period")
    if p is None:
        note_missing("b8_item_period")
        period = pd.DataFrame({"code": [], "name": [], "max_n": [], "period_days": []})
    else:
        period = pd.DataFrame(
            {
                "code": _codes(p[_col(p, "项目代码", "项目编码", "国标代码")]),
                "name": p[_col(p, "项目名称")],
                "max_n": pd.to_numeric(p[_col(p, "频次上限", "限制数量")], errors="coerce"),
                "period_days": pd.to_numeric(p[_col(p, "疗程周期", "周期")], errors="coerce"),
            }
        ).dropna(subset=["code", "max_n", "period_days"])
    period = period.drop_duplicates("code").reset_index(drop=True)
    # --- b7 duplicate charging pairs
    b7 = _read_rule_file(rules_dir, "b7_item_duplicate_charging")
    scope_map = {"单日": "day", "单次就诊": "encounter", "同一小时": "hour", "6小时": "hours6"}
    if b7 is None:
        note_missing("b7_item_duplicate_charging")
        pairs = pd.DataFrame(
            {"main_code": [], "sub_code": [], "scope": [], "main_name": [], "sub_name": []}
        )
    else:
        pairs = pd.DataFrame(
            {
                "main_code": _codes(b7[_col(b7, "主项编码")]),
                "sub_code": _codes(b7[_col(b7, "从项编码")]),
                "scope": b7[_col(b7, "频度")].str.strip().map(scope_map),
                "main_name": b7[_col(b7, "主项名称")],
                "sub_name": b7[_col(b7, "从项名称")],
            }
        )
        bad = pairs["scope"].isna() & pairs["main_code"].notna()
        if bad.any():
            notes.append(f"b7: {int(bad.sum())} pairs with an unknown 频度 ignored")
        pairs = pairs.dropna(subset=["main_code", "sub_code", "scope"])
        pairs = pairs[pairs["main_code"] != pairs["sub_code"]]
    pairs = pairs.drop_duplicates(["main_code", "sub_code", "scope"]).reset_index(drop=True)

    def typed(df: pd.DataFrame, floats=()) -> pd.DataFrame:
        df = df.copy()
        for c in df.columns:
            df[c] = df[c].astype("float64") if c in floats else df[c].astype("string")
        return df

    frames = {
        "lk_restrict": r,
        "lk_freq": typed(freq, floats=("max_per_day",)),
        "lk_period": typed(period, floats=("max_n", "period_days")),
        "lk_pairs": typed(pairs),
    }
    return frames, notes
