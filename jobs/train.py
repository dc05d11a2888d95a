"""spark-submit entry point for the train step: `spark-submit jobs/train.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("train"))
