"""pip install into a fresh virtual environment without network, then
'python -m oneprof run' on a script; Python frames on 3.12+."""
import os
import subprocess
import sys
import tempfile
import unittest

from common import BUILD, PKG

SCRIPT = '''
import sys
import oneprof

def py_hot_function(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x

py_hot_function(int(sys.argv[1]))
try:
    oneprof.Profiler().start()
except oneprof.AlreadyRunningError as e:
    print("REFUSED:", e)
'''


class TestInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="oneprof-venv-")
        cls.script = os.path.join(cls.dir, "work.py")
        with open(cls.script, "w") as f:
            f.write(SCRIPT)

    def test_offline_venv_install_and_run(self):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        venv = os.path.join(self.dir, "v")
        subprocess.run([py, "-m", "venv", venv], check=True)
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        for k in ("ONEPROF_LIB", "ONEPROF_TOOLS_LIB", "ONEPROF_LIB_DIR", "PYTHONPATH"):
            env.pop(k, None)
        r = subprocess.run([os.path.join(venv, "bin", "pip"), "install", PKG], env=env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        vpy = os.path.join(venv, "bin", "python")
        # The libraries travel in the wheel: found next to the package.
        r = subprocess.run([vpy, "-c", "import oneprof, oneprof._lib as l; "
                            "print(l._find(l.AGENT, 'ONEPROF_LIB'))"],
                           env=env, capture_output=True, text=True, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(os.path.join(venv, "lib"), r.stdout)
        out = os.path.join(self.dir, "work.opf")
        r = subprocess.run([vpy, "-m", "oneprof", "run", "--hz", "499", "-o", out,
                            self.script, "2000000"], env=env, capture_output=True,
                           text=True, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Capture:", r.stdout)
        self.assertIn("sorted by flat time", r.stdout)
        self.assertIn("_PyEval_EvalFrame", r.stdout)
        # A Profiler inside a whole-run recording is refused, clearly.
        self.assertIn("REFUSED: oneprof: this process is already recorded as a whole", r.stdout)
        self.assertTrue(os.path.isfile(out))
        samples = [ln for ln in r.stdout.splitlines() if ln.startswith("Samples:")]
        self.assertTrue(samples and int(samples[0].split()[1]) > 20, r.stdout)

    PY312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"

    @unittest.skipUnless(os.path.exists(PY312), "no Python 3.12 for the perf trampoline")
    def test_python_frames_with_trampoline(self):
        env = dict(os.environ, PYTHONPATH=PKG, ONEPROF_LIB=os.path.join(BUILD, "liboneprof.so"))
        code = ("import sys, oneprof\n" + SCRIPT.split("py_hot_function(int")[0] +
                "with oneprof.profile(hz=499, output=sys.argv[1]) as p:\n"
                "    py_hot_function(2000000)\n"
                "print('FRAMES', p.python_frames)\n"
                "print(p.report().to_folded())\n")
        out = os.path.join(self.dir, "py312.opf")
        r = subprocess.run([self.PY312, "-c", code, out], env=env, capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("FRAMES True", r.stdout)
        self.assertIn("py_hot_function", r.stdout)


if __name__ == "__main__":
    unittest.main()
