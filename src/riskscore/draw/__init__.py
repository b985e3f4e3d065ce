"""The verifiable 双随机 draw: commit → draw → verify → amend (see ``docs/draw.md``).

Public API::

    from riskscore.draw import (
        build_inputs, write_commitment, write_draw, verify_draw, amend,
        canonical_randomness, seed_from_randomness, ticket, run_draw, DrawInputs, Inspector,
        plan_notice, draw_notice,
    )
"""

from riskscore.draw.amend import REASON_CODES, amend, verify_amendments
from riskscore.draw.bundle import (
    InputFiles,
    build_inputs,
    check_commitment,
    compute_draw,
    read_inputs,
    verify_draw,
    write_commitment,
    write_draw,
)
from riskscore.draw.core import (
    DrawInputs,
    DrawResult,
    Inspector,
    draw_team,
    inclusion_probabilities,
    run_draw,
    select_targets,
)
from riskscore.draw.notices import draw_notice, plan_notice
from riskscore.draw.tickets import canonical_randomness, seed_from_randomness, ticket, tickets

__all__ = [
    "REASON_CODES",
    "DrawInputs",
    "DrawResult",
    "InputFiles",
    "Inspector",
    "amend",
    "build_inputs",
    "canonical_randomness",
    "check_commitment",
    "compute_draw",
    "draw_notice",
    "draw_team",
    "inclusion_probabilities",
    "plan_notice",
    "read_inputs",
    "run_draw",
    "seed_from_randomness",
    "select_targets",
    "ticket",
    "tickets",
    "verify_amendments",
    "verify_draw",
    "write_commitment",
    "write_draw",
]
