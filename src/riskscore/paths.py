"""Locations of files shipped with the package."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
NHSA_RULES_DIR = PACKAGE_DATA / "nhsa_liangku_rules"
"""The NHSA 两库 rule tables (b1–b8) in their published CSV format."""
POLICIES_DIR = PACKAGE_DATA / "policies"
"""Shipped policy files (YAML)."""
RULES_FILE = PACKAGE_DATA / "rules.yaml"
"""Versioned indicator parameters with sources."""


def repo_root() -> Path | None:
    """The source checkout root when running from one (for data_samples/), else None."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "data_samples").exists():
            return parent
    return None
