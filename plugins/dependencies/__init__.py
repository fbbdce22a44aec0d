"""Dependencies of a repository: ``apt_packages.txt`` and ``requirements.txt`` at its root.

The steps run as root in a container of the environment's image; the resulting image
is cached by the core under a hash of the base image, the steps and these files.
"""

from __future__ import annotations

import re

from oduflow import hookimpl
from oduflow.contracts import DependencyContext, DependencyStep
from oduflow.errors import ValidationError
from oduflow.fsutil import UnsafePathError, read_nofollow

APT_FILE = "apt_packages.txt"
PIP_FILE = "requirements.txt"
_APT_NAME = re.compile(r"[a-z0-9][a-z0-9+.:=~-]*")


def apt_packages(text: str) -> list[str]:
    """Package names of ``apt_packages.txt`` (comments and blank lines ignored)."""
    names: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        for name in line.split():
            if not _APT_NAME.fullmatch(name):
                raise ValidationError(f"{APT_FILE}: {name!r} is not a Debian package name")
            names.append(name)
    return names


def _repo_text(ctx: DependencyContext, rel: str) -> str | None:
    """The repository file ``rel`` read once without following links (``None``: absent)."""
    try:
        data = read_nofollow(ctx.repo_dir, rel)
    except UnsafePathError as exc:
        raise ValidationError(f"{rel} refused: {exc}") from None
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{rel} is not UTF-8 text") from None


@hookimpl
def oduflow_install_dependencies(ctx: DependencyContext) -> list[DependencyStep] | None:
    """apt-get install the packages of ``apt_packages.txt``; pip install ``requirements.txt``."""
    steps: list[DependencyStep] = []
    apt_text = _repo_text(ctx, APT_FILE)
    if apt_text is not None:
        names = apt_packages(apt_text)
        if names:
            steps.append(
                DependencyStep(
                    name="apt packages",
                    argv=(
                        "sh",
                        "-c",
                        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                        'apt-get install -y -qq --no-install-recommends "$@"',
                        "apt",
                        *names,
                    ),
                    inputs=(APT_FILE,),
                )
            )
    pip_text = _repo_text(ctx, PIP_FILE)
    if pip_text is not None and pip_text.strip():
        steps.append(
            DependencyStep(
                name="python requirements",
                argv=(
                    "sh",
                    "-c",
                    "pip3 install --no-cache-dir -r /mnt/repo/requirements.txt "
                    "|| pip3 install --no-cache-dir --break-system-packages "
                    "-r /mnt/repo/requirements.txt",
                ),
                inputs=(PIP_FILE,),
            )
        )
    return steps or None
