"""spark-submit entry point for the score step: `spark-submit jobs/score.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("score"))
