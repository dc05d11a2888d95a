"""spark-submit entry point for the ingest step: `spark-submit jobs/ingest.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("ingest"))
