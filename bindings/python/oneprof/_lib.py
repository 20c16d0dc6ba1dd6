"""Finding and loading liboneprof.so (the agent) and liboneprof-tools.so
(the report and export commands) with ctypes."""
import ctypes
import os
import sys

AGENT = "liboneprof.so"
TOOLS = "liboneprof-tools.so"


class OneprofError(Exception):
    """Base class of every error the binding raises."""


class LibraryNotFoundError(OneprofError):
    """liboneprof.so or liboneprof-tools.so is nowhere the binding looks."""


def _candidates(name, env):
    """(path, why) pairs, in the order they are tried."""
    out = []
    given = os.environ.get(env)
    if given:
        out.append((os.path.join(given, name) if os.path.isdir(given) else given,
                    f"${env}"))
    libdir = os.environ.get("ONEPROF_LIB_DIR")
    if libdir:
        out.append((os.path.join(libdir, name), "$ONEPROF_LIB_DIR"))
    here = os.path.dirname(os.path.abspath(__file__))
    out.append((os.path.join(here, "lib", name), "next to the package"))
    # Run from a source checkout: bindings/python/oneprof -> build/.
    out.append((os.path.normpath(os.path.join(here, "..", "..", "..", "build", name)),
                "the source tree's build folder"))
    for prefix in (sys.prefix, "/usr/local", "/usr"):
        out.append((os.path.join(prefix, "lib", name), "the install prefix"))
    seen, unique = set(), []
    for path, why in out:
        if path not in seen:
            seen.add(path)
            unique.append((path, why))
    return unique


def _find(name, env):
    tried = []
    for path, why in _candidates(name, env):
        if os.path.isfile(path):
            return path
        tried.append(f"{path} ({why})")
    raise LibraryNotFoundError(
        f"oneprof: cannot find {name}; looked in: " + ", ".join(tried) +
        f". Build it with 'make' and set {env} to its path, or install oneprof "
        "('make install')")


_agent = None
_tools = None


def _preloaded():
    """The agent when it is already in the process (LD_PRELOAD, as under
    'python -m oneprof run'): loading a second copy would start a second
    agent."""
    try:
        main = ctypes.CDLL(None)
        main.oneprof_session_begin  # noqa: B018 (lookup only)
        return main
    except (OSError, AttributeError):
        return None


def _load(path):
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise LibraryNotFoundError(f"oneprof: cannot load '{path}': {e}; is it "
                                   "built for this machine?") from e


def agent():
    """The agent library, loaded once, with its prototypes set."""
    global _agent
    if _agent is not None:
        return _agent
    lib = _preloaded() or _load(_find(AGENT, "ONEPROF_LIB"))
    c = ctypes
    lib.oneprof_session_begin.argtypes = [c.c_char_p, c.c_char_p]
    lib.oneprof_session_begin.restype = c.c_int
    lib.oneprof_session_end.argtypes = []
    lib.oneprof_session_end.restype = c.c_int
    lib.oneprof_session_active.restype = c.c_int
    lib.oneprof_last_error.restype = c.c_char_p
    lib.oneprof_output_path.restype = c.c_char_p
    lib.oneprof_version.restype = c.c_char_p
    lib.oneprof_start.restype = c.c_int
    lib.oneprof_stop.restype = c.c_int
    lib.oneprof_intern.argtypes = [c.c_char_p]
    lib.oneprof_intern.restype = c.c_void_p
    lib.oneprof_span_begin_kind.argtypes = [c.c_uint, c.c_void_p]
    lib.oneprof_span_end.argtypes = []
    lib.oneprof_span_attr.argtypes = [c.c_void_p, c.c_char_p]
    lib.oneprof_label_push.argtypes = [c.c_char_p, c.c_char_p]
    lib.oneprof_label_pop.argtypes = []
    lib.oneprof_gc_begin.argtypes = []
    lib.oneprof_gc_end.argtypes = [c.c_ulonglong]
    lib.oneprof_counter_add.argtypes = [c.c_void_p, c.c_longlong]
    _agent = lib
    return lib


def agent_path():
    """Where the agent library is (for LD_PRELOAD)."""
    return _find(AGENT, "ONEPROF_LIB")


def tools():
    global _tools
    if _tools is None:
        lib = _load(_find(TOOLS, "ONEPROF_TOOLS_LIB"))
        lib.oneprof_tool_run.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                         ctypes.c_int, ctypes.c_int]
        lib.oneprof_tool_run.restype = ctypes.c_int
        _tools = lib
    return _tools


def spans_on():
    """Whether the agent records spans now (the C macros' test)."""
    return ctypes.c_int.in_dll(agent(), "oneprof_spans_on").value != 0
