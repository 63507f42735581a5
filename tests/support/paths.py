"""Where the project lives, for tests that start its server or keep artefacts beside it."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
