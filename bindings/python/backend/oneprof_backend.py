"""PEP 517 build backend of the oneprof binding, standard library only:
builds the wheel with zipfile. When the libraries were built (make), they
go into the wheel (oneprof/lib/), found there first at run time; the
wheel is then tagged for this platform."""
import base64
import hashlib
import os
import sysconfig
import zipfile

NAME, VERSION = "oneprof", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBS = ("liboneprof.so", "liboneprof-tools.so")


def _build_dir():
    given = os.environ.get("ONEPROF_BUILD_DIR")
    if given:
        return given
    return os.path.normpath(os.path.join(HERE, "..", "..", "build"))


def _libs():
    d = _build_dir()
    found = [(os.path.join(d, n), n) for n in LIBS if os.path.isfile(os.path.join(d, n))]
    return found


def _tag():
    if _libs():
        plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        return f"py3-none-{plat}"
    return "py3-none-any"


METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: Profile native code driven from Python: oneprof's Python binding
Requires-Python: >=3.8
"""


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _dist_info():
    return f"{NAME}-{VERSION}.dist-info"


def _wheel_text(tag):
    return (f"Wheel-Version: 1.0\nGenerator: oneprof_backend\n"
            f"Root-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n")


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, _dist_info())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(_wheel_text(_tag()))
    return _dist_info()


def _record_line(arc, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arc},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tag = _tag()
    name = f"{NAME}-{VERSION}-{tag}.whl"
    files = []
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py"):
            with open(os.path.join(pkg, fn), "rb") as f:
                files.append((f"{NAME}/{fn}", f.read(), 0o644))
    for path, fn in _libs():
        with open(path, "rb") as f:
            files.append((f"{NAME}/lib/{fn}", f.read(), 0o755))
    di = _dist_info()
    files.append((f"{di}/METADATA", METADATA.encode(), 0o644))
    files.append((f"{di}/WHEEL", _wheel_text(tag).encode(), 0o644))
    record = [_record_line(a, d) for a, d, _ in files] + [f"{di}/RECORD,,"]
    files.append((f"{di}/RECORD", ("\n".join(record) + "\n").encode(), 0o644))
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data, mode in files:
            info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    name = f"{NAME}-{VERSION}"
    os.makedirs(sdist_directory, exist_ok=True)
    out = os.path.join(sdist_directory, name + ".tar.gz")
    with tarfile.open(out, "w:gz") as t:
        for rel in ("pyproject.toml", "README.md", NAME, "backend"):
            p = os.path.join(HERE, rel)
            if os.path.exists(p):
                t.add(p, arcname=f"{name}/{rel}",
                      filter=lambda i: None if "__pycache__" in i.name else i)
    return name + ".tar.gz"
