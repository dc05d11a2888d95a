"""The parameter translation between the driver's `xgb.train` and `xgboost.spark`."""

from __future__ import annotations

import inspect

from driftline.model.spark_training import estimator_params


def test_core_names_become_estimator_names_and_estimator_owned_ones_are_dropped() -> None:
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "device": "cpu",
        "seed": 42,
        "nthread": 2,
        "eta": 0.1,
        "max_depth": 4,
        "lambda": 2.0,
        "eval_metric": "logloss",
    }
    assert estimator_params(params) == {
        "tree_method": "hist",
        "random_state": 42,
        "learning_rate": 0.1,
        "max_depth": 4,
        "reg_lambda": 2.0,
    }


def test_every_translated_name_is_one_the_estimator_accepts() -> None:
    from xgboost import XGBModel
    from xgboost.spark import SparkXGBClassifier

    accepted = set(inspect.signature(XGBModel.__init__).parameters)
    translated = estimator_params({"eta": 0.1, "seed": 1, "lambda": 1.0, "alpha": 0.5})
    assert set(translated) <= accepted
    SparkXGBClassifier(**translated)  # raises on a name it does not know
