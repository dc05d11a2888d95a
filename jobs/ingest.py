"""spark-submit entry point of the ingest step (`--run-date YYYY-MM-DD`)."""

import sys

from driftline.orchestration.job import main

if __name__ == "__main__":
    sys.exit(main("ingest"))
