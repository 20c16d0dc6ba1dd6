"""Profiler, profile(), profile_function(), span(), label(), GC events."""
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import unittest

from common import BUILD, PKG, SPLIT_LIB, burn

import oneprof


class TestLifecycle(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="oneprof-py-")

    def test_start_stop_twice(self):
        counts = []
        for i in range(2):
            p = oneprof.Profiler(hz=499, output=os.path.join(self.dir, f"run{i}.opf"))
            p.start()
            self.assertTrue(p.is_running)
            burn(400000)
            rep = p.stop()
            self.assertFalse(p.is_running)
            s = rep.to_json()["session"]
            self.assertTrue(s["complete"], "capture %d not complete" % i)
            self.assertEqual(s["pid"], os.getpid())
            counts.append(s["samples"])
        self.assertGreater(counts[0], 5)
        self.assertGreater(counts[1], 5)

    def test_same_profiler_restarts_into_a_new_file(self):
        p = oneprof.Profiler(hz=499)
        old = os.getcwd()
        os.chdir(self.dir)
        try:
            p.start(); burn(); first = p.stop().path
            p.start(); burn(); second = p.stop().path
        finally:
            os.chdir(old)
        self.assertNotEqual(first, second)
        self.assertTrue(os.path.isfile(first) and os.path.isfile(second))

    def test_context_manager(self):
        out = os.path.join(self.dir, "ctx.opf")
        with oneprof.profile(hz=499, output=out) as p:
            self.assertTrue(p.is_running)
            burn(400000)
        self.assertFalse(p.is_running)
        self.assertGreater(p.report().to_json()["session"]["samples"], 5)
        saved = p.save(os.path.join(self.dir, "copy.opf"))
        self.assertEqual(saved.to_json()["session"]["samples"],
                         p.report().to_json()["session"]["samples"])

    def test_decorator_writes_three_files(self):
        @oneprof.profile_function(output_dir=self.dir, hz=499)
        def crunch():
            return burn(400000)

        crunch()
        crunch()
        base = os.path.join(self.dir, f"crunch.{os.getpid()}")
        for n in (1, 2):
            opf, txt, folded = (f"{base}.{n}.opf", f"{base}.{n}.txt", f"{base}.{n}.folded")
            for f in (opf, txt, folded):
                self.assertTrue(os.path.isfile(f), f)
            with open(txt) as f:
                text = f.read()
            self.assertIn("Capture:", text)
            self.assertIn("sorted by flat time", text)
            with open(folded) as f:
                lines = [ln for ln in f.read().splitlines() if ln]
            # "frame;frame;... count": the counts add up to the samples.
            total = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)
            self.assertEqual(total, oneprof.Report(opf).to_json()["session"]["samples"])
        self.assertIsNotNone(crunch.last_report)


class TestInstrumentation(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="oneprof-py-")

    def test_nested_spans_and_labels(self):
        out = os.path.join(self.dir, "spans.opf")

        @oneprof.span("decorated", kind=oneprof.KIND_FUNCTION)
        def decorated():
            burn(20000)

        with oneprof.profile(hz=499, output=out) as p:
            for _ in range(3):
                with oneprof.span("outer"):
                    with oneprof.span("inner", item="x"):
                        burn(50000)
                    decorated()
            with oneprof.label(request="checkout"):
                burn(300000)
            burn(300000)
        rep = p.report()
        sp = rep.spans()
        tree = {n["name"]: n for n in sp["call_tree"]}
        self.assertEqual(tree["outer"]["calls"], 3)
        kids = {c["name"]: c for c in tree["outer"]["children"]}
        self.assertEqual(kids["inner"]["calls"], 3)
        self.assertEqual(kids["decorated"]["calls"], 3)
        self.assertEqual(kids["decorated"]["kind"], "function")
        self.assertEqual(sp["session"]["unclosed_spans"], 0)
        total = rep.to_json()["session"]["samples"]
        labelled = rep.to_json("--tag-focus", "request=checkout")["session"]
        kept = sum(t["samples"] for t in rep.to_json("--tag-focus",
                                                       "request=checkout")["threads"])
        self.assertGreater(kept, 3)
        self.assertLess(kept, total)
        self.assertIsNotNone(labelled)

    def test_spans_outside_a_recording_do_nothing(self):
        with oneprof.span("nothing"):
            with oneprof.label(k="v"):
                burn(1000)

    def test_gc_events_counted(self):
        n = 17
        out = os.path.join(self.dir, "gc.opf")
        enabled = gc.isenabled()
        gc.disable()  # only the collections asked for
        try:
            with oneprof.profile(output=out) as p:
                for _ in range(n):
                    gc.collect()
        finally:
            if enabled:
                gc.enable()
        gcs = p.report().spans()["gc"]
        # gc.collect() runs one collection of every generation: one event.
        self.assertEqual(gcs["count"], n)
        self.assertGreater(gcs["total_ns"], 0)
        self.assertNotIn(oneprof.profiler._gc_callback, gc.callbacks)


class TestWorkloads(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="oneprof-py-")

    def test_python_workload_shows_interpreter_frames(self):
        out = os.path.join(self.dir, "py.opf")
        with oneprof.profile(hz=499, output=out) as p:
            burn(1500000)
        top = p.report().top(0)
        names = [f.name for f in top]
        evals = [f for f in top if f.name.startswith("_PyEval_EvalFrame")]
        self.assertTrue(evals, "no interpreter frames among %s" % names[:15])
        # The interpreter's loop is on (nearly) every stack.
        self.assertGreater(max(f.cum_pct for f in evals), 80.0)

    def test_ctypes_library_split(self):
        lib = ctypes.CDLL(SPLIT_LIB)
        out = os.path.join(self.dir, "split.opf")
        with oneprof.profile(hz=999, output=out) as p:
            for _ in range(60):
                lib.pysplit_round()
        top = {f.name: f for f in p.report().top(0)}
        a, b = top["pysplit_work_70"].flat_ns, top["pysplit_work_30"].flat_ns
        share = 100.0 * a / (a + b)
        self.assertAlmostEqual(share, 70.0, delta=5.0)
        # Their caller is on every one of their stacks.
        self.assertGreaterEqual(top["pysplit_round"].cum_ns, a + b)

    def test_memory_stats_of_a_heap_run(self):
        """'python -m oneprof run --heap' preloads the agent: 8 MiB malloc'ed
        through ctypes and never freed show in Report.memory_stats()."""
        script = os.path.join(self.dir, "leak.py")
        with open(script, "w") as f:
            f.write("import ctypes\n"
                    "libc = ctypes.CDLL(None)  # the global scope: the interposed malloc\n"
                    "libc.malloc.restype = ctypes.c_void_p\n"
                    "kept = [libc.malloc(1 << 20) for _ in range(8)]\n")
        out = os.path.join(self.dir, "leak.opf")
        env = dict(os.environ, PYTHONPATH=PKG, ONEPROF_LIB=os.path.join(BUILD, "liboneprof.so"))
        r = subprocess.run([sys.executable, "-m", "oneprof", "run", "--heap", "-o", out, script],
                           env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        stats = oneprof.Report(out).memory_stats()
        leaks = stats[stats.index("Leaked at exit"):]
        self.assertIn("8.00MiB", leaks.splitlines()[1])
        self.assertIn("in 8 blocks", leaks.splitlines()[1])
        self.assertIn("ffi_call", leaks)


if __name__ == "__main__":
    unittest.main()
