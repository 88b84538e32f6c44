"""Shared fixtures. The tiny trained run (32x32, n=8, synthetic faces) is
built once per test session and reused by every test that needs a model."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
