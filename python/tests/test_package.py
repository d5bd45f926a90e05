"""The Python distribution, as a user installs it: `pip install` of the source tree into a fresh
virtual environment (offline: --no-build-isolation, Debian's pip, setuptools, wheel and numpy
through --system-site-packages), imported from outside the source tree, scoring as `oiad score`
does; `pip wheel` makes a wheel of it; `pip uninstall` removes it. Run by ctest
(Python.package) with OIAD_BUILD_DIR (the configured build whose module pip packages),
OIAD_PYTHON (the interpreter the module is built for), OIAD_CLI and OIAD_TEST_FIXTURES."""
import json
import os
import re
import subprocess
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.environ.get("OIAD_PYTHON", "python3")
CLI = os.environ.get("OIAD_CLI", "oiad")
FIXTURE = os.path.join(os.environ.get("OIAD_TEST_FIXTURES", "."), "detect_cli")
MODEL = os.path.join(FIXTURE, "m.oiad")
FILES = [os.path.join(FIXTURE, "set", "a", "1.png"), os.path.join(FIXTURE, "set", "b", "2.png"),
         os.path.join(FIXTURE, "set", "a", "7.png")]


def cmake_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(oiad VERSION ([0-9.]+)", f.read()).group(1)


def run(cmd, cwd, env):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(cmd), r.stdout[-3000:], r.stderr[-3000:])
    return r.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment (seeing Debian's packages) and an environment for its
    processes in which nothing points into the source or build tree."""
    where = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(where / "env")], str(where), env)
    return {"root": where, "python": str(where / "env" / "bin" / "python"), "env": env, "outside": str(where)}


def installed_oiad(v, code):
    """Runs `code` in the virtual environment's python, from outside the source tree."""
    return run([v["python"], "-c", code], v["outside"], v["env"])


def test_install_score_wheel_uninstall(venv):
    pip = [venv["python"], "-m", "pip"]
    offline = ["--no-build-isolation", "--no-index"]
    run(pip + ["install", *offline, ROOT], venv["outside"], venv["env"])

    # Installed where a distribution goes, with CMake's version and its metadata.
    show = run(pip + ["show", "-f", "oiad"], venv["outside"], venv["env"])
    assert re.search(r"^Version: %s$" % re.escape(cmake_version()), show, re.M), show
    assert re.search(r"^Requires: numpy$", show, re.M), show
    assert re.search(r"oiad/_oiad\.cpython-[^/\n]*\.so$", show, re.M), show
    where = installed_oiad(venv, "import oiad; print(oiad.__file__); print(oiad.__version__)").split()
    assert where[0].startswith(str(venv["root"])) and where[1] == cmake_version(), where

    # Three images scored in the installed module as the CLI scores them.
    code = ("import json, oiad; s = oiad.load(%r).score(%r); "
            "print(json.dumps({'score': s.score.tolist(), 'consistency': s.consistency.tolist(), "
            "'anomalous': s.anomalous.tolist()}))" % (MODEL, FILES))
    got = json.loads(installed_oiad(venv, code))
    r = subprocess.run([CLI, "--threads", "1", "score", "--model", MODEL, *FILES], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert len(lines) == len(FILES)
    for i, line in enumerate(lines):
        assert got["score"][i] == pytest.approx(line["score"], abs=1e-9)
        assert got["consistency"][i] == pytest.approx(line["consistency"], abs=1e-9)
        assert got["anomalous"][i] == line["anomalous"]

    # A wheel: the compiled module, the package and the metadata.
    wheels = venv["root"] / "wheels"
    run(pip + ["wheel", *offline, "--no-deps", "-w", str(wheels), ROOT], venv["outside"], venv["env"])
    made = sorted(wheels.glob("oiad-%s-*.whl" % cmake_version()))
    assert len(made) == 1, list(wheels.iterdir())
    names = zipfile.ZipFile(str(made[0])).namelist()
    assert "oiad/__init__.py" in names
    assert any(re.fullmatch(r"oiad/_oiad\.cpython-.*\.so", n) for n in names), names
    assert "oiad-%s.dist-info/METADATA" % cmake_version() in names

    # Uninstalled: no distribution, no files left in the environment.
    package_dir = os.path.dirname(where[0])
    run(pip + ["uninstall", "-y", "oiad"], venv["outside"], venv["env"])
    r = subprocess.run(pip + ["show", "oiad"], cwd=venv["outside"], env=venv["env"], capture_output=True, text=True)
    assert r.returncode != 0
    assert not os.path.exists(os.path.join(package_dir, "__init__.py"))
    assert not [n for n in os.listdir(package_dir) if n.startswith("_oiad")] if os.path.isdir(package_dir) else True
