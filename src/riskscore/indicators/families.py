"""Import every family module so that its indicators register (order = contract family order)."""

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
    zero_markup,
)
