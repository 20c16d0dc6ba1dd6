"""Runs the binding's tests (unittest) and ends with oneprof's summary
line: 'N passed, N failed'."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package from the source tree

suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(result.failures) + len(result.errors)
good = result.testsRun - bad - len(result.skipped)
print(f"{good} passed, {bad} failed")
sys.exit(1 if bad else 0)
