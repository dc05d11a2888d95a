#!/usr/bin/env bash
# Set up Driftline on a fresh machine: a virtualenv in the checkout with the project, its
# pinned dependencies and the dev tools. Needs Python 3.11 (or 3.12: PYTHON=python3.12) and a
# Java 17+ runtime (Spark).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)'; then
  echo "error: Driftline needs Python 3.11 or 3.12 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing a Java 17 runtime for Spark (openjdk-17-jre-headless)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
  else
    cat >&2 <<'MSG'
error: Spark needs a Java 17+ runtime and none was found on PATH.
  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless
  macOS:         brew install openjdk@17
  or any JDK 17+ with JAVA_HOME set and $JAVA_HOME/bin on PATH; then re-run infra/setup.sh
MSG
    exit 1
  fi
fi

# Headless Chromium and its driver for the Airflow UI test (it skips, saying so, without).
if ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium and chromium-driver for the Airflow UI test..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
      || echo "warning: could not install chromium; the Airflow UI test will skip" >&2
  else
    echo "note: no chromedriver; the Airflow UI test will skip (apt-get install chromium chromium-driver)" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip uv
# constraints.txt pins the whole dependency tree to what CI tested. Bytecode is compiled
# here, once: where PYTHONDONTWRITEBYTECODE is set (CI machines set it) every process would
# otherwise compile Airflow, GE, MLflow and Spark's Python from source again, which cost
# each spark-submit driver, Airflow task and executor's Python worker seconds.
.venv/bin/uv pip install --python .venv/bin/python --quiet -c constraints.txt -e ".[dev]"
# The editable build leaves src/driftline.egg-info behind; with src/ on sys.path it is a
# second copy of the package's metadata, and Airflow would load the `airflow.plugins`
# entry point twice (and list the second as a plugin import error). The installed
# dist-info is the one that counts.
rm -rf src/driftline.egg-info
echo "Compiling bytecode (once)..."
.venv/bin/python -m compileall -q -j 0 \
  "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" src >/dev/null
# Delta's Spark jars (matching the pinned delta-spark) and Hadoop's S3A connector (matching
# pyspark's Hadoop, with the AWS SDK bundle: about 700 MB) into Spark's Ivy cache, once:
# later sessions with DRIFTLINE_LAKE_BACKEND=delta-spark or a lake on s3://, and the tests,
# resolve them offline.
# Then Spark's class archive (AppCDS, about 180 MB under ~/.cache/driftline): every fresh
# driver (each Airflow task, each spark-submit job) maps it and starts its JVM faster.
echo "Caching Delta Lake's and S3A's Spark jars (Maven Central) and Spark's class archive (once, ~3 min)..."
.venv/bin/python -m driftline.core.spark
echo "Driftline is set up: .venv/bin/driftline --help"
