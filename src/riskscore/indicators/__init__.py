"""Risk indicators (风险指标) on Ibis: embedded DuckDB by default, PySpark on request.

>>> from riskscore.indicators import compute_indicators, INDICATORS
>>> res = compute_indicators("data_dir")            # doctest: +SKIP
>>> res.values, res.evidence, res.skipped, res.exposure   # doctest: +SKIP

Each indicator is written once as an Ibis expression (see :mod:`.registry` for the unit
table it returns); parameters come from ``rules.yaml``, 两库 rules from the published tables.
"""

from . import families as _families  # noqa: F401  (registers the indicators)
from .engine import IndicatorResult, compute_indicators, spark_session
from .registry import INDICATORS, Indicator, Skip, get
from .rules import load_liangku, load_rules

__all__ = [
    "INDICATORS",
    "Indicator",
    "IndicatorResult",
    "Skip",
    "compute_indicators",
    "get",
    "load_liangku",
    "load_rules",
    "spark_session",
]
