"""Driftline: batch ML pipelines that notice when the world drifts away from the model."""

__version__ = "0.1.0"
