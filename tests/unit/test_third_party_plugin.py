"""A third-party plugin, installed like one, is found through its entry point.

The test builds a fresh virtual environment, installs Oduflow and the example plugin
(``tests/example_plugin``) into it with pip, and asks that environment's ``oduflow``:

- ``virtualenv`` (a dependency of tox, so present wherever the test extras are) creates the
  environment and seeds pip and setuptools from the wheels it embeds: offline and ~1 s.
- Oduflow's runtime dependencies are not installed again (no network, no minute of pip):
  a ``.pth`` file appends the running interpreter's site-packages to the new environment's
  ``sys.path``. A plain path line in a ``.pth`` does not run the ``.pth`` files found there,
  so the editable Oduflow of the running environment stays invisible; the new environment's
  own ``site-packages`` comes first on ``sys.path``, so its Oduflow is the one imported and
  the one whose metadata ``importlib.metadata`` reports.
- Oduflow and the plugin are built from copies in ``tmp_path`` (a build writes ``build/``
  and ``*.egg-info`` next to the sources; the shared tree is never written) with
  ``--no-index --no-deps --no-build-isolation --ignore-installed``: setuptools comes from the
  seed, nothing is downloaded, and pip never considers the running environment's packages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "example_plugin"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", ".*")


def run(argv: list[str], *, env: dict[str, str], cwd: Path) -> str:
    """Run ``argv`` in ``cwd`` (never the repository: ``python -c`` would import from there)."""
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def copy_oduflow_sources(dest: Path) -> Path:
    """The files a build of Oduflow reads: top-level files and the package directories."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_dirs = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    dest.mkdir()
    for item in REPO.iterdir():
        if item.is_file() and not item.name.startswith("."):
            shutil.copy2(item, dest / item.name)
        elif item.name in package_dirs:
            shutil.copytree(item, dest / item.name, ignore=_IGNORED)
    return dest


def clean_env() -> dict[str, str]:
    """The caller's environment without what would leak into the new virtual environment."""
    leaking = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in leaking and not k.startswith("ODUFLOW_")}
    return env | {"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with Oduflow and the example plugin installed."""
    root = tmp_path_factory.mktemp("third-party")
    venv = root / "venv"
    env = clean_env()
    run(
        [
            sys.executable,
            "-m",
            "virtualenv",
            "--quiet",
            "--no-download",
            "--no-periodic-update",
            "--app-data",
            str(root / "virtualenv-app-data"),
            str(venv),
        ],
        env=env,
        cwd=root,
    )
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = run([str(python), "-c", code], env=env, cwd=root)
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site.strip()) / "zz_oduflow_test_dependencies.pth").write_text("".join(f"{d}\n" for d in deps))
    oduflow_src = copy_oduflow_sources(root / "oduflow-src")
    plugin_src = shutil.copytree(EXAMPLE, root / "example-plugin", ignore=_IGNORED)
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--ignore-installed",
            str(oduflow_src),
            str(plugin_src),
        ],
        env=env,
        cwd=root,
    )
    return venv


def plugins(venv: Path, **extra_env: str) -> dict[str, dict[str, Any]]:
    out = run([str(venv / "bin" / "oduflow"), "plugins", "--json"], env=clean_env() | extra_env, cwd=venv)
    return {p["name"]: p for p in json.loads(out)}


def builtin_names() -> set[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return set(pyproject["project"]["entry-points"]["oduflow"])


def test_the_new_environment_runs_its_own_oduflow(venv: Path) -> None:
    code = "import oduflow, oduflow_example_plugin as p; print(oduflow.__file__); print(p.__file__)"
    lines = run([str(venv / "bin" / "python"), "-c", code], env=clean_env(), cwd=venv).split()
    assert all(line.startswith(str(venv)) for line in lines), lines


def test_oduflow_plugins_lists_the_example_next_to_the_builtins(venv: Path) -> None:
    found = plugins(venv)
    assert found["example"] == {
        "name": "example",
        "distribution": "oduflow-example-plugin",
        "version": "0.1.0",
        "hooks": ["oduflow_declare_settings", "oduflow_register_routing", "oduflow_register_storage"],
        "builtin": False,
        "settings": {"scheme": "http", "port": 0, "prefer_for_new_templates": False},
    }
    builtins = builtin_names()
    assert builtins <= set(found), f"built-ins missing: {builtins - set(found)}"
    assert all(found[n]["builtin"] and found[n]["distribution"] == "oduflow" for n in builtins)


def test_disable_plugins_hides_it(venv: Path) -> None:
    found = plugins(venv, ODUFLOW_DISABLE_PLUGINS="example")
    assert "example" not in found
    assert builtin_names() <= set(found)


def test_the_plugins_own_tests_pass_with_oduflow_testing(venv: Path, tmp_path: Path) -> None:
    """The example's tests use the ``oduflow.testing`` fixtures: they work outside Oduflow's tree."""
    project = shutil.copytree(EXAMPLE, tmp_path / "example-plugin", ignore=_IGNORED)
    text = (project / "tests" / "test_example.py").read_text()
    functions, suites = text.count("\ndef test_"), text.count("Contract):")
    out = run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
        env=clean_env(),
        cwd=project,
    )
    passed = re.search(r"(\d+) passed", out)
    assert functions >= 5 and suites == 2 and passed is not None, out
    assert int(passed[1]) >= functions + 10 and "failed" not in out and "error" not in out, out


def test_its_router_and_backend_are_selected_through_oduflow_toml(venv: Path, tmp_path: Path) -> None:
    """``[routing].mode`` names the plugin's router and ``[plugins.example]`` configures it, in an
    installed Oduflow (``App`` binds and checks the settings)."""
    toml = tmp_path / "oduflow.toml"
    toml.write_text(
        f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[routing]\nmode = "example-hosts"\n'
        '[plugins.example]\nscheme = "https"\nprefer_for_new_templates = true\n'
        '[team.1]\nhostname = "dev.example.com"\n'
    )
    code = (
        "from oduflow.app import App; from oduflow.config import load; "
        "from oduflow.contracts import RouteRequest; app = App(load()); "
        "req = RouteRequest(team=app.config.team('1'), owner='env:feat', slug='feat'); "
        "print(type(app.router).__name__, app.router.route(req).url, "
        "app.hooks.preferred_storage(100.0, app.config))"
    )
    out = run(
        [str(venv / "bin" / "python"), "-c", code], env=clean_env() | {"ODUFLOW_TOML": str(toml)}, cwd=venv
    )
    assert out.split() == ["ExampleHostsRouter", "https://feat.dev.example.com", "example-tmpfs"]
    found = plugins(venv, ODUFLOW_TOML=str(toml))
    assert found["example"]["settings"] == {"scheme": "https", "port": 0, "prefer_for_new_templates": True}
