"""riskscore — 医保基金监管: risk scores, tiers, a verifiable 双随机 draw and estimates."""

__version__ = "0.1.0"
