"""Shared by the binding's tests: the source tree's paths and workloads."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
ROOT = os.path.normpath(os.path.join(PKG, "..", ".."))
BUILD = os.path.join(ROOT, "build")
SPLIT_LIB = os.path.join(BUILD, "tests", "progs", "libpysplit.so")
sys.path.insert(0, PKG)
os.environ.setdefault("ONEPROF_QUIET", "1")  # the 3.11 notice once is enough


def burn(n=300000):
    """Pure Python CPU work (no C extension)."""
    x = 0
    for i in range(n):
        x += i * i % 7
    return x
