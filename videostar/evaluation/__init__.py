"""Evaluation: the held-out sets every model answers (``evalsets``), accuracies and the majority
baseline (``scores``), and the report tables copied into the README (``report``)."""
