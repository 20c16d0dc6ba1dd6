"""oneprof for Python: profile a block, a function or a whole script of a
program that drives native code, from inside the script.

    import oneprof
    with oneprof.profile(output="run.opf") as p:
        work()
    print(p.report().summary())

See doc/python.md."""
from ._lib import LibraryNotFoundError, OneprofError
from .profiler import (AlreadyRunningError, NotRunningError, OutputError, Profiler,
                       ProfilerError, SettingError, label, profile, profile_function, span,
                       KIND_CUSTOM, KIND_FUNCTION, KIND_MODULE, KIND_EXPRESSION)
from .report import Function, Report, ReportError, run_tool

__version__ = "0.1.0"

__all__ = [
    "Profiler", "profile", "profile_function", "span", "label", "Report", "Function",
    "run_tool", "OneprofError", "ProfilerError", "AlreadyRunningError", "NotRunningError",
    "SettingError", "OutputError", "LibraryNotFoundError", "ReportError",
    "KIND_CUSTOM", "KIND_FUNCTION", "KIND_MODULE", "KIND_EXPRESSION",
]
