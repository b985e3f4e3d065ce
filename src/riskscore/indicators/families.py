"""Import every family module so that its indicators register (order = contract family order)."""

from riskscore.contract import FAMILIES as _FAMILIES  # noqa: E402

from . import (  # noqa: F401
    bed_hanging,
    duplicate_charging,
    duplicate_prescribing,
    identity_fraud,
    over_prescription,
    over_testing,
    procurement,
    restricted_items,
    split_hospitalization,
    split_prescription,
    substitution,
    traceability,
    utilization,
    zero_markup,
)
from .registry import INDICATORS as _INDICATORS  # noqa: E402

# contract family order (stable sort keeps the order within a module)
_INDICATORS.sort(key=lambda i: list(_FAMILIES).index(i.family))
