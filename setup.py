"""Build hook: the dashboard's third-party browser files, from the npm registry through package-lock.json.

Everything else about the package is in pyproject.toml. Before the usual ``build_py`` (``pip install .``,
``pip install -e .``, ``python -m build``), :class:`BuildPyWithVendor` runs ``npm ci --ignore-scripts``
when ``node_modules/`` is missing or older than ``package-lock.json``, then copies the files of
:data:`VENDOR` into ``oduflow/surfaces/web/static/vendor/`` (git-ignored, like ``node_modules/``), which
the package data carries. Without npm the build stops and says what to install. A tree that already
holds the files and has no ``package-lock.json`` (an sdist built with them) needs no npm.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "package-lock.json"
MODULES = ROOT / "node_modules"
VENDOR_DIR = ROOT / "oduflow" / "surfaces" / "web" / "static" / "vendor"
VENDOR = {  # file under node_modules/ -> its name in static/vendor/
    "@xterm/xterm/lib/xterm.js": "xterm.js",
    "@xterm/xterm/css/xterm.css": "xterm.css",
    "@xterm/xterm/LICENSE": "xterm.LICENSE.txt",
    "@xterm/addon-fit/lib/addon-fit.js": "addon-fit.js",
    "@xterm/addon-fit/LICENSE": "addon-fit.LICENSE.txt",
}
NPM_MISSING = (
    "building oduflow needs npm: the dashboard's terminal uses xterm.js, installed from the npm "
    "registry with `npm ci` (package-lock.json). Install Node.js and npm (Debian/Ubuntu: "
    "`apt-get install nodejs npm`) and run the install again."
)


def _installed() -> bool:
    stamp = MODULES / ".package-lock.json"  # written by npm ci
    if not stamp.exists() or stamp.stat().st_mtime < LOCK.stat().st_mtime:
        return False
    return all((MODULES / src).is_file() for src in VENDOR)


def npm_ci() -> None:
    """``npm ci --ignore-scripts`` in the project root (exactly the versions of package-lock.json)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(NPM_MISSING)
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"`npm ci` failed (exit code {result.returncode}): see npm's output above")


def copy_vendor_files() -> None:
    """Fill static/vendor/ from node_modules/ (after :func:`npm_ci` when needed)."""
    if not LOCK.exists():
        if all((VENDOR_DIR / name).is_file() for name in VENDOR.values()):
            return
        raise SystemExit(f"{LOCK.name} is missing and {VENDOR_DIR} is incomplete: cannot get xterm.js")
    if not _installed():
        npm_ci()
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    for src, name in VENDOR.items():
        shutil.copyfile(MODULES / src, VENDOR_DIR / name)


class BuildPyWithVendor(build_py):
    """``build_py`` that first copies the browser libraries into the package (see the module doc)."""

    def run(self) -> None:
        copy_vendor_files()
        super().run()


setup(cmdclass={"build_py": BuildPyWithVendor})
