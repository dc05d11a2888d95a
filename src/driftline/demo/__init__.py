"""The self-contained demo: synthetic legacy extracts with a drift, run through Airflow.

An entry point like `cli`: may import everything.
"""
