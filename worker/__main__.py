"""`python -m worker`: one worker process with settings from the environment (as `stylebot worker`)."""

import sys

from worker.main import main

if __name__ == "__main__":
    sys.exit(main())
