"""spark-submit entry point for the validate step: `spark-submit jobs/validate.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("validate"))
