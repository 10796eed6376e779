"""Demo legacy exports: deterministic CSV files with known bad records, for demos and tests."""

from batch_orchestration.demo.generate import generate_export
from batch_orchestration.demo.summary import BAD_KINDS, ENTITIES, BadRecord, GenerationSummary, line_key

__all__ = ["BAD_KINDS", "ENTITIES", "BadRecord", "GenerationSummary", "generate_export", "line_key"]
