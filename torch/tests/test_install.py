"""The build stops at once, with the one line that fixes it, where pip
would otherwise fail late with "invalid command 'bdist_wheel'": setuptools
older than 70.1 without the wheel package."""
import os
import subprocess
import sys

SETUP = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "setup.py")


def test_an_old_setuptools_without_wheel_stops_with_the_fix(tmp_path):
    # A setuptools 65.5 of our own, and an import of wheel that fails.
    (tmp_path / "setuptools").mkdir()
    (tmp_path / "setuptools" / "__init__.py").write_text("__version__ = '65.5.0'\ndef setup(**kw): pass\n")
    (tmp_path / "wheel.py").write_text("raise ImportError('no wheel here')\n")
    run = subprocess.run([sys.executable, SETUP, "bdist_wheel"], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path)), cwd=os.path.dirname(SETUP))
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == (
        "qat_kernels_torch: setuptools 65.5.0 builds wheels only with the wheel package: pip install wheel "
        "(or pip install 'setuptools>=70.1'), then install again")
