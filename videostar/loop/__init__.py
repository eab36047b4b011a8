"""The Video-STaR loop: the cycle graph (``graph``), questions (step 0), answer and rationale
generation (steps 1 and 3), the training sets and their yields, and fine-tuning (step 4)."""
