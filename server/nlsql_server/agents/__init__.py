"""The agents of the ask pipeline: `nlp` (question → SQL), `data` (schema, values, rows), `viz`."""
