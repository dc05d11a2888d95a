"""Models and their lifecycle in the MLflow registry.

Fitting (`training`: which engine, holdout and metrics; `booster`: search, early stopping
and the baseline; `spark_training`: `xgboost.spark` on the executors; `training_data`: the
labelled rows), recording (`tracking`: the MLflow run and registered version; `registry`:
finding and loading versions), deciding (`promotion`: the gate; `lifecycle`: aliases,
history, rollback; `decisions`: the table that records why), using (`scoring`) and
answering auditors (`audit`).

May import `core`, `lake`, `context`, `data` and `quality`.
"""
