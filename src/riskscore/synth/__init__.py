"""Synthetic province generator (合成省份数据生成) with planted violations and known truth.

See ``docs/synth.md`` for the planting mechanics and ``docs/families.md`` for the agreement
between what is planted and what the indicators detect.
"""

from riskscore.synth.generator import SynthConfig, SynthSummary, generate

__all__ = ["SynthConfig", "SynthSummary", "generate"]
