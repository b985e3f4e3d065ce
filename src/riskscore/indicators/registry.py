"""Indicator registry: every indicator declared once with its names, basis, needs and params.

An indicator's ``compute(ctx)`` returns an Ibis table of *units* (the claims, lines, stays,
prescriptions or purchases it judges) with the columns

``fixmedins_code``  institution the unit is attributed to
``record_table``    table the evidence id refers to (``mdtrt_d``, ``fee_list_d``, ``purchases`` …)
``record_id``       claim-level id (``mdtrt_id``, ``bkkp_sn``, ``purchase_id``, ``agreement_id`` …)
``detail``          short text (date, codes) for the inspector; may be null
``num``             contribution to the numerator (float)
``den``             contribution to the denominator (float)
``flag``            whether the unit is evidence (boolean)

The engine sums ``num`` and ``den`` per institution and keeps flagged units as evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class Skip(Exception):
    """Raised by an indicator that cannot run on the data at hand; the message is the reason."""


@dataclass(frozen=True)
class Indicator:
    """One risk indicator (风险指标).

    Parameters
    ----------
    id : str
        Stable identifier (public contract), e.g. ``op_days_over_limit``.
    family : str
        Violation family id from :data:`riskscore.contract.FAMILIES`.
    zh, en : str
        Chinese and English names.
    basis : str
        Legal or rule basis (条例 Art. 15, 《处方管理办法》, 两库 batch, plan item).
    needs : dict
        ``{table: [columns]}`` the indicator cannot run without.
    params : list of str
        Keys of ``rules.yaml`` it reads.
    description_zh, description_en : str
        Numerator and denominator in words.
    unit : str
        What one unit (denominator element) is.
    compute : callable
        ``compute(ctx) -> ibis.Table`` of units (see module docstring).
    """

    id: str
    family: str
    zh: str
    en: str
    basis: str
    needs: dict[str, list[str]]
    params: list[str]
    description_zh: str
    description_en: str
    unit: str = ""
    compute: Callable | None = field(default=None, repr=False, compare=False)


INDICATORS: list[Indicator] = []
"""All registered indicators, in family order (populated when the family modules import)."""


def indicator(**meta) -> Callable:
    """Decorator registering ``compute(ctx)`` as an :class:`Indicator` with metadata ``meta``."""

    def deco(fn: Callable) -> Callable:
        ind = Indicator(compute=fn, **meta)
        if any(i.id == ind.id for i in INDICATORS):
            raise ValueError(f"duplicate indicator id {ind.id}")
        INDICATORS.append(ind)
        return fn

    return deco


def get(indicator_id: str) -> Indicator:
    """The indicator with this id (KeyError if unknown)."""
    for i in INDICATORS:
        if i.id == indicator_id:
            return i
    raise KeyError(indicator_id)


def indicators_markdown(rules: dict | None = None) -> str:
    """The indicator catalogue as Markdown (the body of ``docs/indicators.md`` §2).

    Parameters
    ----------
    rules : dict, optional
        Loaded parameters (:func:`riskscore.indicators.load_rules`) to print current values.
    """
    from riskscore.contract import FAMILIES

    from . import families  # noqa: F401

    lines = []
    for fam, (fzh, fen) in FAMILIES.items():
        lines += [f"### `{fam}` — {fzh} ({fen})", ""]
        for i in [x for x in INDICATORS if x.family == fam]:
            needs = "; ".join(f"`{t}`: {', '.join(c)}" for t, c in i.needs.items())
            params = ", ".join(f"`{p}`" for p in i.params) or "—"
            if rules and i.params:
                vals = []
                for p in i.params:
                    v = rules.get(p)
                    if not isinstance(v, dict | list) or len(str(v)) < 60:
                        vals.append(f"{p}={v}")
                params += (" (" + "; ".join(vals) + ")") if vals else ""
            lines += [
                f"#### `{i.id}` — {i.zh}",
                "",
                f"*{i.en}.*",
                "",
                f"- **Basis 依据**: {i.basis}",
                f"- **Needs 所需数据**: {needs}",
                f"- **Params 参数** (rules.yaml): {params}",
                f"- **Unit 单位 / evidence id**: {i.unit}",
                f"- **分子/分母**: {i.description_zh}",
                f"- **Numerator/denominator**: {i.description_en}",
                "",
            ]
    return "\n".join(lines)
