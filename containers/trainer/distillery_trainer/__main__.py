"""Entry point: `python -m distillery_trainer [train]` (SageMaker passes `train`, ignored)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
