import sys
from pathlib import Path

# Make `distillery_trainer` and the test helpers importable however pytest is invoked.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
