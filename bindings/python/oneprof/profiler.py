"""In-process recordings: Profiler, profile(), profile_function(), span(),
label() and the garbage collector's events."""
import functools
import gc
import itertools
import os
import sys
import threading

from . import _lib
from ._lib import OneprofError
from .report import Report


class ProfilerError(OneprofError):
    """A recording could not begin or end; the message says why and what to do."""


class AlreadyRunningError(ProfilerError):
    pass


class NotRunningError(ProfilerError):
    pass


class SettingError(ProfilerError, ValueError):
    pass


class OutputError(ProfilerError, OSError):
    pass


# Negative errno values of oneprof_session_begin/end (include/oneprof.h).
_EPERM, _ENOENT, _ESRCH, _EACCES, _EBUSY, _EINVAL, _EROFS = 1, 2, 3, 13, 16, 22, 30
_ENOTSUP, _EALREADY = 95, 114

_counter = itertools.count(1)
_lock = threading.Lock()
_notice_given = False


def _python_frames_on():
    """Python function names in native stacks: the perf trampoline
    (Python 3.12+) writes /tmp/perf-PID.map, which the agent copies into
    the capture when the recording ends. Returns whether it is on."""
    global _notice_given
    activate = getattr(sys, "activate_stack_trampoline", None)
    if activate is not None:
        try:
            activate("perf")
            return True
        except (ValueError, RuntimeError, OSError):
            pass
    if not _notice_given and not os.environ.get("ONEPROF_QUIET"):
        _notice_given = True
        sys.stderr.write(
            f"oneprof: Python {sys.version_info.major}.{sys.version_info.minor} has no perf "
            "trampoline (sys.activate_stack_trampoline, Python 3.12+): stacks show the "
            "interpreter's C frames, not Python function names\n")
    return False


def _gc_callback(phase, info):
    lib = _lib.agent()
    if phase == "start":
        lib.oneprof_gc_begin()
    else:
        # Python reports objects collected, not bytes: bytes stay 0.
        lib.oneprof_gc_end(0)


def _settings(hz, wall, cpu, heap, extra):
    items = [f"HZ={int(hz)}"]
    if wall:
        items.append("WALL=1")
    if not cpu and not wall:
        items.append("PAUSED=1")  # no timer: spans, labels and GC only
    if heap:
        items.append("HEAP=1")
    if extra:
        items += [f"{k}={v}" for k, v in dict(extra).items()]
    return " ".join(items)


class Profiler:
    """One recording of this process into a capture file.

    cpu: sample CPU time; wall: sample wall-clock time instead (running and
    blocked threads alike); hz: samples per second; heap: the malloc family
    (only when the agent is preloaded: 'python -m oneprof run --heap');
    output: the capture to write (default oneprof.PID.N.opf in the current
    directory); settings: more ONEPROF_* settings, e.g. {"MAX_DEPTH": 256}.
    A Profiler may be started again after it stopped (a new capture).
    """

    def __init__(self, cpu=True, heap=False, hz=99, wall=False, output=None, settings=None):
        self.cpu, self.heap, self.hz, self.wall = cpu, heap, hz, wall
        self.output = os.fspath(output) if output is not None else None
        self.extra = settings
        self.path = None
        self.python_frames = False
        self._running = False

    @property
    def is_running(self):
        return self._running

    def _raise(self, rc, what):
        msg = (_lib.agent().oneprof_last_error() or b"").decode("utf-8", "replace")
        msg = msg or f"oneprof: {what} failed: {os.strerror(-rc)}"
        if rc in (-_EALREADY, -_EBUSY):
            raise AlreadyRunningError(msg)
        if rc in (-_ESRCH, -_EPERM):
            raise NotRunningError(msg)
        if rc == -_ENOTSUP:
            raise SettingError("oneprof: heap profiling needs the agent preloaded from the "
                               "program's start; run the script under 'python -m oneprof run "
                               "--heap script.py' instead of Profiler(heap=True)")
        if rc == -_EINVAL:
            raise SettingError(msg)
        if rc in (-_EACCES, -_ENOENT, -_EROFS) or -rc > 0:
            raise OutputError(-rc, msg)
        raise ProfilerError(msg)

    def start(self):
        lib = _lib.agent()
        if self._running:
            raise AlreadyRunningError(f"oneprof: this Profiler is already recording into "
                                      f"'{self.path}'; stop() it first")
        if lib.oneprof_session_active() == 2:
            where = (lib.oneprof_output_path() or b"?").decode()
            raise AlreadyRunningError(
                f"oneprof: this process is already recorded as a whole into '{where}' "
                "(run under 'python -m oneprof run' or 'oneprof record'); a Profiler "
                "cannot start its own recording inside it: run the script without it, or "
                "drop the Profiler and use oneprof.span() to mark the part of interest")
        path = self.output
        if path is None:
            path = os.path.abspath(f"oneprof.{os.getpid()}.{next(_counter)}.opf")
        settings = _settings(self.hz, self.wall, self.cpu, self.heap, self.extra)
        with _lock:
            rc = lib.oneprof_session_begin(os.fsencode(path), settings.encode())
            if rc != 0:
                self._raise(rc, "starting the recording")
            self._running = True
        self.path = path
        self.python_frames = _python_frames_on()
        if _gc_callback not in gc.callbacks:
            gc.callbacks.append(_gc_callback)
        return self

    def stop(self):
        """Ends the recording; returns its Report."""
        lib = _lib.agent()
        if not self._running:
            raise NotRunningError("oneprof: this Profiler is not recording; start() it first")
        if _gc_callback in gc.callbacks:
            gc.callbacks.remove(_gc_callback)
        if self.python_frames:
            sys.deactivate_stack_trampoline()
        with _lock:
            rc = lib.oneprof_session_end()
            self._running = False
            if rc != 0:
                self._raise(rc, "ending the recording")
        return Report(self.path)

    def report(self):
        if self.path is None or self._running:
            raise NotRunningError("oneprof: no finished recording yet; start() and stop() "
                                  "the Profiler first")
        return Report(self.path)

    def save(self, path):
        """Copies the finished capture to path; returns its Report."""
        import shutil
        src = self.report().path
        path = os.fspath(path)
        try:
            shutil.copyfile(src, path)
        except OSError as e:
            raise OutputError(e.errno, f"oneprof: cannot save the capture to '{path}': "
                              f"{e.strerror}; choose a writable path") from e
        return Report(path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self._running:
            self.stop()
        return False


def profile(**kwargs):
    """with oneprof.profile(output="x.opf") as p: ... ; then p.report()."""
    return Profiler(**kwargs)


def profile_function(func=None, *, output_dir=".", **kwargs):
    """Decorator: each call is recorded into OUTPUT_DIR/NAME.N.opf, with its
    summary (NAME.N.txt) and folded stacks (NAME.N.folded) next to it.
    A call made while a recording already runs is not recorded again."""
    def wrap(fn):
        calls = itertools.count(1)

        @functools.wraps(fn)
        def inner(*args, **kw):
            if _lib.agent().oneprof_session_active() != 0:
                return fn(*args, **kw)
            if not os.path.isdir(output_dir) or not os.access(output_dir, os.W_OK):
                raise OutputError(_EACCES, f"oneprof: output directory '{output_dir}' is "
                                  "missing or not writable; create it or choose another "
                                  "output_dir")
            base = os.path.join(output_dir, f"{fn.__name__}.{os.getpid()}.{next(calls)}")
            p = Profiler(output=base + ".opf", **kwargs)
            p.start()
            try:
                return fn(*args, **kw)
            finally:
                rep = p.stop()
                with open(base + ".txt", "w") as f:
                    f.write(rep.summary())
                rep.to_folded(base + ".folded")
                inner.last_report = rep
        inner.last_report = None
        return inner
    return wrap(func) if func is not None else wrap


_names = {}


def _intern(s):
    """A pointer to a copy of s the agent keeps: span names are read when
    the agent writes them out, after the call."""
    p = _names.get(s)
    if p is None:
        p = _lib.agent().oneprof_intern(s.encode("utf-8", "replace"))
        if p:
            _names[s] = p
    return p


KIND_CUSTOM, KIND_FUNCTION, KIND_MODULE, KIND_EXPRESSION = 0, 1, 2, 3


class _Block:
    """A context manager that also decorates (the function runs inside
    it). A block entered while no recording is on does nothing, and its
    exit then does nothing either, even if a recording began meanwhile:
    each thread keeps which of its open blocks took effect."""

    def __enter__(self):
        on = _lib.spans_on()
        stack = getattr(self._on, "stack", None)
        if stack is None:
            stack = self._on.stack = []
        stack.append(on)
        if on:
            self._begin(_lib.agent())
        return self

    def __exit__(self, *exc):
        if self._on.stack.pop():
            self._end(_lib.agent())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def inner(*args, **kw):
            with self:
                return fn(*args, **kw)
        return inner


class span(_Block):
    """A named interval on this thread, as context manager or decorator:
    `with oneprof.span("load"):` or `@oneprof.span("load")`. Nothing is
    recorded while no recording runs (the C macros' rule)."""

    def __init__(self, name, kind=KIND_CUSTOM, **attrs):
        self.name, self.kind, self.attrs = str(name), kind, attrs
        self._on = threading.local()

    def _begin(self, lib):
        lib.oneprof_span_begin_kind(self.kind, _intern(self.name))
        for k, v in self.attrs.items():
            lib.oneprof_span_attr(_intern(k), str(v).encode())

    def _end(self, lib):
        lib.oneprof_span_end()


class label(_Block):
    """Labels for this thread's samples while in the block:
    `with oneprof.label(request="checkout"):`; also a decorator."""

    def __init__(self, **labels):
        self.labels = [(str(k), str(v)) for k, v in labels.items()]
        self._on = threading.local()

    def _begin(self, lib):
        for k, v in self.labels:
            lib.oneprof_label_push(k.encode(), v.encode())

    def _end(self, lib):
        for _ in self.labels:
            lib.oneprof_label_pop()

