"""spark-submit entry point for the monitor step: `spark-submit jobs/monitor.py --run-date YYYY-MM-DD`."""

import sys

from driftline.job import main

if __name__ == "__main__":
    sys.exit(main("monitor"))
