"""spark-submit entry point for the conform step: `spark-submit jobs/conform.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("conform"))
