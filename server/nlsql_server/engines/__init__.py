"""Question → SQL engines: `offline` (deterministic, schema-aware) and, later, `llm`."""
