"""Evaluation: the held-out sets every model answers (``evalsets``), accuracies and the majority
baseline (``scores``), the report tables copied into the README (``report``) and the offline HTML
page of a run (``html``)."""
