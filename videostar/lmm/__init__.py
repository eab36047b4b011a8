"""The video LMM: loading and saving, generation, training, the tiny offline builder."""
