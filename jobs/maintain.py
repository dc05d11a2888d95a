"""spark-submit entry point of the maintain step (`--run-date YYYY-MM-DD`)."""

import sys

from driftline.orchestration.job import main

if __name__ == "__main__":
    sys.exit(main("maintain"))
