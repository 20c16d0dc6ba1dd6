"""Reports on a capture, made by the oneprof commands themselves
(liboneprof-tools.so), not re-implemented here."""
import json
import os
import tempfile
from collections import namedtuple

from . import _lib
from ._lib import OneprofError

Function = namedtuple("Function", "name module flat_ns flat_pct cum_ns cum_pct samples")


class ReportError(OneprofError):
    """A report or export command failed; the message is oneprof's."""


def run_tool(*args):
    """Runs one oneprof command in-process: (exit status, stdout, stderr)."""
    lib = _lib.tools()
    argv = [b"oneprof"] + [os.fsencode(a) for a in args]
    arr = (_lib.ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        rc = lib.oneprof_tool_run(len(argv), arr, out.fileno(), err.fileno())
        out.seek(0)
        err.seek(0)
        return (rc, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"))


def _check(args):
    rc, out, err = run_tool(*args)
    if rc != 0:
        raise ReportError(err.strip() or f"oneprof: 'oneprof {' '.join(args)}' exited {rc}")
    return out


class Report:
    """A capture file and what oneprof says about it."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ReportError(f"oneprof: no capture '{self.path}'; record one with "
                              "oneprof.Profiler or 'python -m oneprof run'")

    def __repr__(self):
        return f"Report({self.path!r})"

    def report(self, *options):
        """The text of 'oneprof report OPTIONS... FILE'."""
        return _check(["report", *options, self.path])

    def summary(self):
        """The capture's summary and its top functions, as 'oneprof report'
        prints them."""
        return self.report()

    def hot_paths(self, n=15):
        """The n hottest whole stacks, leaf first ('oneprof report --traces')."""
        return self.report("--traces", "-n", str(n))

    def to_json(self, *options):
        """oneprof's JSON export (doc/json-schema.md) as a dict."""
        return json.loads(_check(["export", "-f", "json", "-o", "-", *options, self.path]))

    def top(self, n=20, *options):
        """The n functions with the most flat time: Function tuples, the
        times in ns and the percentages of the sampled CPU time."""
        data = self.to_json(*options)
        total = data["session"]["sampled_cpu_ns"] or 1
        rows = []
        for f in data["functions"]:
            rows.append(Function(f["name"], f.get("module", ""), f["self_ns"],
                                 100.0 * f["self_ns"] / total, f["total_ns"],
                                 100.0 * f["total_ns"] / total, f["self_samples"]))
        rows.sort(key=lambda r: (-r.flat_ns, -r.cum_ns))
        return rows[:n] if n else rows

    def spans(self):
        """The span call graph, GC and counters ('export -f spans') as a dict."""
        return json.loads(_check(["export", "-f", "spans", "-o", "-", self.path]))

    def memory_stats(self):
        """The heap report ('oneprof report --heap'); only for captures
        recorded with the heap ('python -m oneprof run --heap')."""
        return self.report("--heap")

    def to_folded(self, path=None):
        """Folded stacks: the text, or written to path (returned)."""
        if path is None:
            return _check(["export", "-f", "folded", "-o", "-", self.path])
        _check(["export", "-f", "folded", "-o", os.fspath(path), self.path])
        return os.fspath(path)

    def to_pprof(self, path):
        _check(["export", "-f", "pprof", "-o", os.fspath(path), self.path])
        return os.fspath(path)

    def to_speedscope(self, path):
        _check(["export", "-f", "speedscope", "-o", os.fspath(path), self.path])
        return os.fspath(path)
