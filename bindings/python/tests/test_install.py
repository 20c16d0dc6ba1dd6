"""pip install into a fresh virtual environment without network, then
'python -m oneprof run' on a script; Python frames on 3.12+."""
import glob
import os
import shutil
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

    def run_frames(self, python, name):
        """Profiles py_hot_function under `python`; returns (stdout, stderr)."""
        env = dict(os.environ, PYTHONPATH=PKG, ONEPROF_LIB=os.path.join(BUILD, "liboneprof.so"))
        env.pop("ONEPROF_QUIET", None)
        code = ("import sys, oneprof\n" + SCRIPT.split("py_hot_function(int")[0] +
                "for n in (1, 2):\n"
                "    with oneprof.profile(hz=499, output=sys.argv[1] + str(n)) as p:\n"
                "        py_hot_function(2000000)\n"
                "print('FRAMES', p.python_frames)\n"
                "print(p.report().to_folded())\n")
        out = os.path.join(self.dir, name)
        r = subprocess.run([python, "-c", code, out], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout, r.stderr

    def test_python_frames(self):
        """Python 3.12+ names Python functions in the stacks through the
        perf trampoline; an older interpreter says once that it cannot.
        Both are checked with what this machine has: the interpreter the
        tests run with, and a 3.12+ one when there is one."""
        pythons = ["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable]
        newer = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
        for name in ("python3.12", "python3.13", "python3.14"):
            if shutil.which(name):
                newer.append(shutil.which(name))
        pythons += newer[:1]
        for i, python in enumerate(pythons):
            version = subprocess.run([python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                     capture_output=True, text=True).stdout.strip()
            out, err = self.run_frames(python, "frames%d.opf" % i)
            if version == "True":
                self.assertIn("FRAMES True", out)
                self.assertIn("py_hot_function", out)
            else:
                self.assertIn("FRAMES False", out)
                self.assertEqual(err.count("has no perf trampoline"), 1, err)


if __name__ == "__main__":
    unittest.main()
