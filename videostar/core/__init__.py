"""What every room shares: typed params (``config``), the record shape and deterministic JSONL I/O
(``records``), and the one seed derivation (``seeding``)."""
