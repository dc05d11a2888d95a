"""The Spark pass gives the same sketches (and so the same drift numbers as scipy) as the
in-process fold, across partitions and Arrow batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from driftline.core.pipeline import DriftConfig
from driftline.data.profile import categorical_profile, numeric_profile
from driftline.monitoring.drift import compare
from driftline.monitoring.drift_scan import scan, sketch_table

pytestmark = pytest.mark.integration


def test_spark_scan_matches_scipy(spark) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    reference = {"x": np.round(rng.normal(size=900), 2), "y": rng.exponential(size=20_000)}
    n = 30_000
    current = pd.DataFrame(
        {
            "x": np.round(rng.normal(0.2, 1.1, size=n), 2),
            "y": rng.exponential(1.3, size=n),
            "c": rng.choice(["a", "b", "z"], size=n),
        }
    )
    current.loc[::50, "y"] = np.nan
    profiles = {
        "x": numeric_profile(reference["x"]),
        "y": numeric_profile(reference["y"]),
        "c": categorical_profile(list(rng.choice(["a", "b"], size=5000))),
    }
    frame = spark.createDataFrame(current).repartition(4)
    sketches = scan(frame, profiles)
    local = sketch_table(pa.Table.from_pandas(current), profiles)
    config = DriftConfig()
    for name in profiles:
        spark_numbers = compare(name, profiles[name], sketches[name], config).as_dict()
        local_numbers = compare(name, profiles[name], local[name], config).as_dict()
        assert spark_numbers.keys() == local_numbers.keys()
        for key, value in local_numbers.items():
            if isinstance(value, float):
                # Equal up to the order in which partial sums were added.
                assert spark_numbers[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
            else:
                assert spark_numbers[key] == value, key

    x = compare("x", profiles["x"], sketches["x"], config)
    expected = stats.ks_2samp(reference["x"], current["x"], method="asymp")
    assert x.method == "ks" and x.ks_exact
    assert x.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert x.ks_p_value == pytest.approx(expected.pvalue, abs=1e-9)

    y = compare("y", profiles["y"], sketches["y"], config)
    finite = current["y"].dropna().to_numpy()
    w = stats.wasserstein_distance(reference["y"], finite) / reference["y"].std()
    assert y.method == "wasserstein"
    assert y.wasserstein is not None and y.wasserstein_error_bound is not None
    assert y.wasserstein - 1e-9 <= w <= y.wasserstein + y.wasserstein_error_bound + 1e-9
    assert y.null_share == pytest.approx(current["y"].isna().mean())

    c = compare("c", profiles["c"], sketches["c"], config)
    assert c.out_of_range_share == pytest.approx((current["c"] == "z").mean())
    assert c.drifted
