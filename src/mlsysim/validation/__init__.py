"""Predicted vs published: the training-throughput table (runs.py) and the energy/carbon table (energy.py)."""
