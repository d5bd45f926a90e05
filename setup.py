"""Builds oiad's native module (oiad._oiad) with the project's CMake build for `pip install .`
and `pip wheel .`; the metadata is in pyproject.toml, the version is CMake's (project(oiad
VERSION ...) in CMakeLists.txt), read here so that there is one.

The CMake build goes to build/pip (configured once, incremental afterwards: a second `pip
install .` takes seconds), with the interpreter that runs pip, without the tests. Environment:
  OIAD_BUILD_DIR   the build directory instead of build/pip: an oiad build already configured
                   (e.g. build, after scripts/build.sh; its Python must be the one running
                   pip), or an empty or new folder, configured as build/pip is
  OIAD_BUILD_JOBS  parallel compile jobs (default: every core)
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def cmake_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*oiad\s+VERSION\s+([0-9]+(?:\.[0-9]+)*)", f.read())
    if not m:
        sys.exit("setup.py: CMakeLists.txt has no project(oiad VERSION x.y.z)")
    return m.group(1)


def cache_value(build_dir, key):
    """A variable of a configured build's CMakeCache.txt, or None."""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


class CMakeBuild(build_ext):
    """Configures (first time) and builds the CMake target oiad_python, then copies the module
    where setuptools packages it."""

    def build_extension(self, ext):
        given = os.environ.get("OIAD_BUILD_DIR")
        build_dir = os.path.abspath(given or os.path.join(ROOT, "build", "pip"))
        if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")):
            if given and os.path.isdir(build_dir) and os.listdir(build_dir):
                sys.exit("setup.py: OIAD_BUILD_DIR=%s is neither a configured CMake build directory nor empty" % given)
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, *generator, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DOIAD_BUILD_TESTS=OFF", "-DOIAD_PYTHON=ON", "-DPython3_EXECUTABLE=" + sys.executable])
        jobs = os.environ.get("OIAD_BUILD_JOBS") or str(os.cpu_count() or 1)
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "oiad_python", "-j", jobs])
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = os.path.join(build_dir, "python", "oiad", "_oiad" + suffix)
        if not os.path.isfile(built):
            python = cache_value(build_dir, "Python3_EXECUTABLE")
            sys.exit("setup.py: %s has no _oiad%s: it was configured for another Python (%s), not %s" %
                     (build_dir, suffix, python, sys.executable))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


# setuptools' own files (its build tree, the egg-info) under build/, out of the source tree.
SETUPTOOLS_DIR = os.path.join("build", "setuptools")
os.makedirs(SETUPTOOLS_DIR, exist_ok=True)
setup(
    version=cmake_version(),
    ext_modules=[Extension("oiad._oiad", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": SETUPTOOLS_DIR}, "egg_info": {"egg_base": SETUPTOOLS_DIR}},
)
