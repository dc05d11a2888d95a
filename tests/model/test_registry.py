"""Loading a registered version through real MLflow (SQLite backend, file artifacts): the
booster and Driftline's metadata come back as logged, once per process, in any of
XGBoost's model formats; a model Driftline did not log is refused by name."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import xgboost as xgb

from driftline.core.errors import ModelNotFoundError
from driftline.model import registry
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

METADATA = {
    "driftline": {
        "encoding": {"names": ["a", "b"], "categorical": {}},
        "profile": '{"a": {"kind": "numeric"}}',
        "importance": {"a": 0.75, "b": 0.25},
    }
}


def booster() -> xgb.Booster:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    return xgb.train(
        {"objective": "binary:logistic", "max_depth": 2},
        xgb.DMatrix(x, label=y, feature_names=["a", "b"]),
        num_boost_round=5,
    )


def logged(
    tmp_path: Path, name: str, model_format: str, metadata: dict | None
) -> registry.ModelRef:
    settings = make_settings(tmp_path)
    registry.configure_mlflow(settings, "registry-test")
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(
            booster(),
            name="model",
            registered_model_name=name,
            model_format=model_format,
            metadata=metadata,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, registry.CHAMPION, version)
    return registry.require_alias(name)


@pytest.mark.parametrize("model_format", ["ubj", "json"])
def test_a_version_loads_once_with_its_metadata(tmp_path: Path, model_format: str) -> None:
    from driftline.data.features import FeatureEncoding

    ref = logged(tmp_path, f"probe-{model_format}", model_format, METADATA)
    before = registry.load.cache_info().hits
    model = registry.load(ref)
    assert registry.load(ref) is model
    assert registry.load.cache_info().hits == before + 1
    x = np.array([[0.5, -1.0], [-2.0, 0.3]])
    expected = booster().inplace_predict(x)
    assert np.allclose(model.booster.inplace_predict(x), expected)
    assert model.encoding == FeatureEncoding.from_dict(METADATA["driftline"]["encoding"])
    assert model.profile == {"a": {"kind": "numeric"}}
    assert model.importance == {"a": 0.75, "b": 0.25}


def test_a_model_driftline_did_not_log_is_refused(tmp_path: Path) -> None:
    ref = logged(tmp_path, "foreign", "ubj", None)
    with pytest.raises(ModelNotFoundError, match="was not logged by Driftline"):
        registry.load(ref)
