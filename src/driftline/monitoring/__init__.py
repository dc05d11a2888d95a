"""Watching a champion in production: drift against its reference profile (`drift_scan`
sketches the date's data in one Spark pass, `drift` compares), live accuracy on matured
labels (`accuracy`), the retraining policy that turns both into a decision (`policy`) and
the run's HTML report (`report`).

May import `core`, `lake`, `context`, `data` and `model`.
"""
