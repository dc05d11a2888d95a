"""Delta tables behind one small interface; the engine that commits them is pluggable.

Steps never touch Delta directly: they call `Lake.read`, `append`, `replace_partition` and
`merge`. `open_lake` chooses the backend: delta-spark when Delta's jars are on the Spark
classpath (clusters, the compose stack), delta-rs otherwise (laptops, CI, air-gapped hosts).

May import `core` only: every Delta read and write of Driftline goes through here.
"""

from __future__ import annotations

from driftline.lake.base import Lake, TableBackend, WriteResult
from driftline.lake.open import open_lake

__all__ = ["Lake", "TableBackend", "WriteResult", "open_lake"]
