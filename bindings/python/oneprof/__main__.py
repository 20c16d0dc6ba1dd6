"""python -m oneprof run [--heap] [--wall] [--hz N] [-o FILE] script.py [args...]

Runs the script under the agent, preloaded as 'oneprof record' does (every
thread, the heap on request), then prints the capture's summary."""
import argparse
import os
import sys

from . import _lib
from .report import Report, ReportError

USAGE = "python -m oneprof run [--heap] [--wall] [--hz N] [-o FILE] script.py [args...]"


def _run(argv):
    ap = argparse.ArgumentParser(prog="python -m oneprof run", usage=USAGE,
                                 description="Profile a Python script and print the summary.")
    ap.add_argument("-o", "--output", default=None,
                    help="capture to write (default: SCRIPT.opf in the current directory)")
    ap.add_argument("--hz", type=int, default=99, help="samples per second (default 99)")
    ap.add_argument("--heap", action="store_true", help="also track the malloc family")
    ap.add_argument("--wall", action="store_true", help="sample wall-clock time")
    ap.add_argument("-n", "--nodecount", type=int, default=20,
                    help="functions in the summary (default 20)")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    o = ap.parse_args(argv)
    if not os.path.isfile(o.script):
        print(f"oneprof: no script '{o.script}'; give the path of a Python file", file=sys.stderr)
        return 2
    output = o.output or os.path.splitext(os.path.basename(o.script))[0] + ".opf"
    try:
        agent = _lib.agent_path()
    except _lib.LibraryNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    # 'oneprof record' itself, in-process: it preloads the agent into a
    # child Python and waits for it, as on the command line.
    os.environ["ONEPROF_AGENT"] = agent
    args = ["record", "-o", output, "-F", str(o.hz)]
    if o.heap:
        args.append("--heap")
    if o.wall:
        args.append("--wall")
    args.append("--")
    args.append(sys.executable)
    # The perf trampoline (3.12+) names Python functions in the stacks.
    if sys.version_info >= (3, 12):
        args += ["-X", "perf"]
    else:
        print(f"oneprof: Python {sys.version_info.major}.{sys.version_info.minor} has no perf "
              "trampoline (3.12+): stacks show the interpreter's C frames, not Python "
              "function names", file=sys.stderr)
    args += [o.script, *o.args]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        lib = _lib.tools()
    except _lib.LibraryNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    argv = [b"oneprof"] + [os.fsencode(a) for a in args]
    arr = (_lib.ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    rc = lib.oneprof_tool_run(len(argv), arr, sys.stdout.fileno(), sys.stderr.fileno())
    if not os.path.isfile(output):
        print(f"oneprof: the script left no capture '{output}'; was the agent disabled by a "
              "setting (see the message above)?", file=sys.stderr)
        return rc or 1
    try:
        rep = Report(output)
        sys.stdout.write(rep.report("-n", str(o.nodecount)))
        if o.heap:
            sys.stdout.write(rep.memory_stats())
    except ReportError as e:
        print(e, file=sys.stderr)
        return rc or 1
    print(f"oneprof: capture written to '{output}'", file=sys.stderr)
    return rc


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: " + USAGE)
        return 0 if argv else 2
    if argv[0] != "run":
        print(f"oneprof: '{argv[0]}' is not a command of python -m oneprof; use: {USAGE}",
              file=sys.stderr)
        return 2
    return _run(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
