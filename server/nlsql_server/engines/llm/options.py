"""Which parts of the LLM pipeline are on: each one a switch, so its worth can be measured.

Every part is on in the product; `benchmarks/accuracy/ablate.py` turns one off at a time and
scores the engine side by side with and without it (docs/llm.md records what each one bought).
A part that stops earning its place is removed, not left switched off.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WHOLE_SCHEMA_COLUMNS", "Pipeline"]

#: Columns a schema may have and still be shown whole (about 1 000 prompt tokens).
WHOLE_SCHEMA_COLUMNS = 120


@dataclass(frozen=True)
class Pipeline:
    """The parts of the prompt and of the reply's checks, all on by default."""

    #: A schema of up to `WHOLE_SCHEMA_COLUMNS` columns shown whole, however many tables: no
    #: table dropped by linking, and one prompt prefix for every question on the database.
    whole_schema: bool = True
    #: Foreign keys as `REFERENCES` on their columns (how to join).
    foreign_keys: bool = True
    #: A few real values of each linked text column (how values are spelled).
    sample_values: bool = True
    #: Only the dialect rules the schema at hand needs (no date rules without date columns).
    fitted_rules: bool = True
    #: Every table and column of the reply checked against the schema before it runs.
    check_names: bool = True
    #: A statement already tried is never sent to the database again: the model is asked anew.
    fresh_retries: bool = True
