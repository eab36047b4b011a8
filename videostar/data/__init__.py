"""Datasets: one adapter per on-disk format (manifest, Kinetics, FineDiving, STAR), the restricted
unpickler, and `prepare`, which checks every candidate row and records every rejection."""
