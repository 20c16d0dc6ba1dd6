"""Errors are Python exceptions whose messages name the problem and the fix."""
import os
import tempfile
import unittest

from common import burn

import oneprof
from oneprof import _lib


class TestErrors(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="oneprof-py-")

    def test_library_not_found_names_every_place(self):
        saved = os.environ.get("ONEPROF_LIB")
        os.environ["ONEPROF_LIB"] = "/nonexistent/liboneprof.so"
        try:
            cands = _lib._candidates("liboneprof-missing.so", "ONEPROF_LIB")
            with self.assertRaises(oneprof.LibraryNotFoundError) as cm:
                _lib._find("liboneprof-missing.so", "ONEPROF_LIB")
        finally:
            if saved is None:
                del os.environ["ONEPROF_LIB"]
            else:
                os.environ["ONEPROF_LIB"] = saved
        msg = str(cm.exception)
        self.assertIn("/nonexistent/liboneprof.so ($ONEPROF_LIB)", msg)
        for path, _ in cands:
            self.assertIn(path, msg)
        self.assertIn("/usr/local/lib/liboneprof-missing.so", msg)
        self.assertIn("make install", msg)

    def test_start_while_running(self):
        p = oneprof.Profiler(output=os.path.join(self.dir, "a.opf"))
        p.start()
        try:
            with self.assertRaises(oneprof.AlreadyRunningError) as cm:
                p.start()
            self.assertIn("already recording", str(cm.exception))
            other = oneprof.Profiler(output=os.path.join(self.dir, "b.opf"))
            with self.assertRaises(oneprof.AlreadyRunningError) as cm:
                other.start()
            self.assertIn("a.opf", str(cm.exception))
            self.assertIn("end it", str(cm.exception))
        finally:
            p.stop()

    def test_stop_while_stopped(self):
        p = oneprof.Profiler(output=os.path.join(self.dir, "c.opf"))
        with self.assertRaises(oneprof.NotRunningError):
            p.stop()
        p.start()
        p.stop()
        with self.assertRaises(oneprof.NotRunningError) as cm:
            p.stop()
        self.assertIn("not recording", str(cm.exception))
        # The C API's own answer, behind it.
        self.assertEqual(_lib.agent().oneprof_session_end(), -3)  # -ESRCH

    def test_unwritable_output(self):
        p = oneprof.Profiler(output="/nonexistent-dir/x.opf")
        with self.assertRaises(oneprof.OutputError) as cm:
            p.start()
        self.assertIn("/nonexistent-dir/x.opf", str(cm.exception))
        self.assertIn("writable", str(cm.exception))
        self.assertFalse(p.is_running)

        @oneprof.profile_function(output_dir="/nonexistent-dir")
        def f():
            return 1
        with self.assertRaises(oneprof.OutputError) as cm:
            f()
        self.assertIn("'/nonexistent-dir'", str(cm.exception))
        # Nothing was left running: a recording starts fine now.
        with oneprof.profile(output=os.path.join(self.dir, "ok.opf")):
            burn(1000)

    def test_bad_setting_and_heap(self):
        with self.assertRaises(oneprof.SettingError) as cm:
            oneprof.Profiler(hz=0, output=os.path.join(self.dir, "d.opf")).start()
        self.assertIn("HZ='0'", str(cm.exception))
        self.assertIn("from 1 to 10000", str(cm.exception))
        with self.assertRaises(oneprof.SettingError) as cm:
            oneprof.Profiler(output=os.path.join(self.dir, "e.opf"),
                             settings={"NO_SUCH": 1}).start()
        self.assertIn("NO_SUCH", str(cm.exception))
        with self.assertRaises(oneprof.SettingError) as cm:
            oneprof.Profiler(heap=True, output=os.path.join(self.dir, "f.opf")).start()
        self.assertIn("python -m oneprof run --heap", str(cm.exception))

    def test_report_of_missing_capture(self):
        with self.assertRaises(oneprof.ReportError):
            oneprof.Report(os.path.join(self.dir, "none.opf"))
        bad = os.path.join(self.dir, "bad.opf")
        with open(bad, "w") as f:
            f.write("not a capture")
        with self.assertRaises(oneprof.ReportError) as cm:
            oneprof.Report(bad).summary()
        self.assertIn("bad.opf", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
