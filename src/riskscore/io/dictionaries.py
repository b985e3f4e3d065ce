"""Code dictionaries as data (字典映射): national codes, Chinese labels and variants → contract codes.

The shipped file ``riskscore/data/dictionaries.yaml`` (versioned) maps, per dictionary, the
variants seen in platform extracts and hand-kept registries (``三级甲等``, ``医院``, ``公立``,
``正常``, ``普通门诊``, ``是``/``否``, ``双随机抽查`` …) to the contract's codes, and names the
contract columns (``table.column``) each dictionary applies to. A bureau extends or overrides it
with a ``dictionaries.yaml`` in its data folder or with ``--dictionaries FILE``.

The loaders apply the mapping to every listed column before the contract checks, so a value
that no dictionary knows is quarantined as ``not_allowed:<column>`` (the legend of ``validate``
lists the allowed codes); what was mapped is counted and reported in ``validate --json``
(``dictionaries``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskscore.errors import ContractError
from riskscore.paths import PACKAGE_DATA

DICTIONARIES_FILE = PACKAGE_DATA / "dictionaries.yaml"
"""The shipped dictionary file."""

FOLDER_FILE = "dictionaries.yaml"
"""A file of this name in a data folder extends/overrides the shipped dictionaries."""

_CODE_LIKE = re.compile(r"^[0-9A-Za-z_.\-]+$")


def _key(text: str) -> str:
    return str(text).strip().lower()


@dataclass
class Dictionary:
    """One dictionary: variant → contract code, and the columns it applies to."""

    name: str
    zh: str
    codes: dict[str, list[str]]
    columns: list[str]
    open: bool = False
    lookup: dict[str, str] = field(default_factory=dict)

    def build(self) -> None:
        self.lookup = {}
        for code, variants in self.codes.items():
            for v in variants:
                self.lookup[_key(v)] = str(code)
        for code in self.codes:  # a contract code is itself
            self.lookup[_key(code)] = str(code)


@dataclass
class Dictionaries:
    """The dictionaries in force and where they came from.

    Attributes
    ----------
    version : str
        ``version`` of the shipped file (with ``+<bureau version>`` when overridden).
    sources : list of str
        Files read, shipped file first.
    sha256 : str
        Hash of the files' bytes (in order), recorded in ``validate --json``.
    by_column : dict
        ``"table.column"`` → :class:`Dictionary`.
    """

    version: str
    sources: list[str]
    sha256: str
    dictionaries: dict[str, Dictionary]
    by_column: dict[str, Dictionary] = field(default_factory=dict)

    def for_column(self, table: str, column: str) -> Dictionary | None:
        return self.by_column.get(f"{table}.{column}")

    def apply(
        self, table: str, column: str, values: pd.Series, used: Counter | None = None
    ) -> pd.Series:
        """Map the (already stripped) text cells of one column to contract codes.

        Cells that no variant matches are returned unchanged (the contract check then judges
        them). ``used`` counts ``(column, raw, code)`` of the cells that changed.
        """
        d = self.for_column(table, column)
        if d is None or not len(values):
            return values
        present = values.notna()
        if not present.any():
            return values
        raw = values[present].astype(str)
        keys = raw.str.strip().str.lower()
        mapped = keys.map(d.lookup)
        hit = mapped.notna() & (mapped != raw)
        if not hit.any():
            return values
        out = values.copy()
        out.loc[hit[hit].index] = mapped[hit]
        if used is not None:
            pairs = pd.DataFrame({"raw": raw[hit], "code": mapped[hit]})
            for (r, c), n in pairs.value_counts().items():
                used[(column, r, c)] += int(n)
        return out

    def unmapped_labels(self, table: str, column: str, values: pd.Series) -> pd.Series:
        """For ``open`` dictionaries: cells that are not code-like (an unmapped label)."""
        d = self.for_column(table, column)
        if d is None or not d.open:
            return pd.Series(False, index=values.index)
        v = values.astype("string")
        return v.notna() & ~v.str.match(_CODE_LIKE).fillna(True).astype(bool)

    def allowed_text(self, table: str, column: str, allowed: tuple[str, ...] | None) -> str:
        """Allowed codes and a few accepted labels, for reason legends."""
        d = self.for_column(table, column)
        codes = list(allowed) if allowed else (list(d.codes) if d else [])
        if not codes:
            return ""
        text = ", ".join(codes)
        if d is not None:
            labels = []
            for code in codes:
                variants = [v for v in d.codes.get(code, []) if not _CODE_LIKE.match(str(v))]
                if variants:
                    labels.append(f"{code}={variants[0]}")
            if labels:
                text += " (" + ", ".join(labels) + ")"
        return text

    def describe(self) -> dict:
        """Version, sources and hash (for ``validate --json``)."""
        return {"version": self.version, "sources": self.sources, "sha256": self.sha256}


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContractError(f"{path}: dictionary file not found; expected a YAML file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = " ".join(str(exc).split())[:160]
        raise ContractError(f"{path}: not a readable YAML dictionary file ({first})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("dictionaries"), dict):
        raise ContractError(
            f"{path}: expected a YAML mapping with 'version' and 'dictionaries' "
            "(name → {columns, codes: {code: [variants]}})"
        )
    return doc


def _merge(base: dict[str, Dictionary], doc: dict, path: Path) -> None:
    for name, entry in doc["dictionaries"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("codes", {}), dict):
            raise ContractError(
                f"{path}: dictionary '{name}' must be a mapping with 'codes: {{code: [variants]}}'"
            )
        codes = {
            str(c): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
            for c, vs in (entry.get("codes") or {}).items()
        }
        if name in base:
            d = base[name]
            # bureau variants win: drop them from the codes they were listed under
            new = {_key(v) for vs in codes.values() for v in vs}
            for c in d.codes:
                d.codes[c] = [v for v in d.codes[c] if _key(v) not in new]
            for c, vs in codes.items():
                d.codes.setdefault(c, [])
                d.codes[c] += vs
            if "columns" in entry:
                d.columns = sorted(set(d.columns) | {str(x) for x in entry["columns"] or []})
            if "open" in entry:
                d.open = bool(entry["open"])
        else:
            base[name] = Dictionary(
                name=str(name),
                zh=str(entry.get("zh", "")),
                codes=codes,
                columns=[str(x) for x in entry.get("columns") or []],
                open=bool(entry.get("open", False)),
            )


def load_dictionaries(
    path: str | Path | None = None, data_dir: str | Path | None = None
) -> Dictionaries:
    """The shipped dictionaries, extended by ``data_dir/dictionaries.yaml`` and ``path``.

    Parameters
    ----------
    path : str or Path, optional
        A bureau dictionary file (``--dictionaries``).
    data_dir : str or Path, optional
        Data folder; its ``dictionaries.yaml`` is applied when present.

    Raises
    ------
    ContractError
        A file is missing or not a dictionary file.
    """
    files = [DICTIONARIES_FILE]
    if data_dir is not None and (Path(data_dir) / FOLDER_FILE).is_file():
        files.append(Path(data_dir) / FOLDER_FILE)
    if path is not None:
        files.append(Path(path))
    h = hashlib.sha256()
    dicts: dict[str, Dictionary] = {}
    versions = []
    for f in files:
        doc = _read_yaml(f)
        h.update(Path(f).read_bytes())
        versions.append(str(doc.get("version", "unversioned")))
        _merge(dicts, doc, Path(f))
    by_column: dict[str, Dictionary] = {}
    for d in dicts.values():
        d.build()
        for col in d.columns:
            by_column[col] = d
    return Dictionaries(
        version="+".join(versions),
        sources=[str(f) for f in files],
        sha256=h.hexdigest(),
        dictionaries=dicts,
        by_column=by_column,
    )


_DEFAULT: Dictionaries | None = None


def default_dictionaries() -> Dictionaries:
    """The shipped dictionaries (cached)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_dictionaries()
    return _DEFAULT


def usage_report(used: Counter) -> dict:
    """``{column: {"raw→code": rows}}`` from a usage counter (for ``validate --json``)."""
    out: dict[str, dict[str, int]] = {}
    for (col, raw, code), n in sorted(used.items()):
        out.setdefault(col, {})[f"{raw}→{code}"] = n
    return out
