"""Decisions: the schema, the deterministic risk gate, the circuit breaker and the journal."""
