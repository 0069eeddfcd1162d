"""Builds the PyTorch extension of qat-kernels against the C library (the
package's metadata is in pyproject.toml).

    make -C ../c_tests lib       # the static library (setup.py runs it when missing)
    pip install --no-build-isolation .            # or .[examples] for scikit-learn

The extension links c_tests/build/lib/libqat_kernels.a, so the installed
package needs no other file of the repository.
"""
import os
import subprocess
import sys

import setuptools
from setuptools import setup

# pip builds a wheel: with --no-build-isolation, setuptools before 70.1 needs
# the wheel package for that, and would otherwise stop later with "invalid
# command 'bdist_wheel'".
try:
    import wheel  # noqa: F401
except ImportError:
    if tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit()) < (70, 1):
        sys.exit(f"qat_kernels_torch: setuptools {setuptools.__version__} builds wheels only with the wheel "
                 "package: pip install wheel (or pip install 'setuptools>=70.1'), then install again")
from torch.utils.cpp_extension import BuildExtension, CppExtension

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBRARY = os.path.join(ROOT, "c_tests", "build", "lib", "libqat_kernels.a")

if not os.path.exists(LIBRARY):
    subprocess.run(["make", "-C", os.path.join(ROOT, "c_tests"), "lib"], check=True)
with open(os.path.join(ROOT, "c_tests", "build", "native-static-libs")) as f:
    native = f.read().split()

setup(
    ext_modules=[
        CppExtension(
            "qat_kernels_torch._ops",
            [os.path.join("csrc", "ops.cpp")],
            include_dirs=[os.path.join(ROOT, "include")],
            extra_objects=[LIBRARY],
            depends=[LIBRARY, os.path.join(ROOT, "include", "qat_kernels.h")],
            # ATen's parallel_for is OpenMP in PyTorch's builds: without the
            # flag it would run every part on the calling thread.
            extra_link_args=native + ["-fopenmp"],
            extra_compile_args=["-O3", "-fopenmp"],
        )
    ],
    cmdclass={"build_ext": BuildExtension},
)
