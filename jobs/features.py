"""spark-submit entry point for the features step: `spark-submit jobs/features.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("features"))
