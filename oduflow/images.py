"""The labels an image may bring along: none in the namespaces that Oduflow and Traefik read.

Docker copies an image's ``LABEL``s onto every container made from it: the container's own labels
only override keys of the same name, no container (and no derived image: ``docker commit`` and
``FROM`` merge labels too) can drop one. A caller picks ``odoo_image``, so its labels are input:
``traefik.*`` ones would add routers to the shared Traefik (another team's host, with a higher
priority), ``oduflow.*`` ones would make a container pass for another team's or another
instance's resource (``oduflow.team``, ``oduflow.env``, ``oduflow.instance``).

Rule: a container carries, in :data:`RESERVED_NAMESPACES`, exactly the labels Oduflow gives it.
An image with a label there is refused before anything is made from it (:func:`check_image`),
and every container is checked once created, before it starts (:func:`check_container`), which
also covers a tag that changed in between. Labels of other namespaces (the official images'
``org.opencontainers.image.*``) are kept: no part of Oduflow reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker.errors

from oduflow.errors import PrerequisiteNotMetError, ValidationError

RESERVED_NAMESPACES = ("oduflow", "traefik")
"""First dot-separated part of the label keys only Oduflow may set (compared case-insensitively)."""

_SHOWN = 20


def is_reserved(key: str) -> bool:
    """Whether ``key`` is in a reserved namespace (``traefik``, ``Traefik.http...``, ``oduflow.team``)."""
    return key.strip().split(".", 1)[0].lower() in RESERVED_NAMESPACES


def foreign_labels(labels: Mapping[str, str] | None, own: Mapping[str, str] | None = None) -> list[str]:
    """Keys of ``labels`` in a reserved namespace that ``own`` does not set to the same value."""
    own = own or {}
    return sorted(k for k, v in (labels or {}).items() if is_reserved(k) and own.get(k) != v)


def _listing(keys: list[str]) -> str:
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def _refusal(what: str, keys: list[str]) -> ValidationError:
    return ValidationError(
        f"{what} carries labels reserved for Oduflow and Traefik: {_listing(keys)}. Docker copies an "
        "image's labels onto every container made from it (they could route another team's "
        "host or pass for another team's resource), so Oduflow refuses it. Use an image without "
        f"labels starting with {' or '.join(n + '.' for n in RESERVED_NAMESPACES)} (a derived "
        "image cannot remove them: build from a base without them)"
    )


def image_labels(client: Any, ref: str) -> dict[str, str]:
    """The labels of local image ``ref``."""
    try:
        attrs = client.images.get(ref).attrs
    except docker.errors.ImageNotFound:
        raise PrerequisiteNotMetError(f"image '{ref}' not found") from None
    return dict((attrs.get("Config") or {}).get("Labels") or {})


def check_image(client: Any, ref: str, own: Mapping[str, str] | None = None) -> None:
    """Refuse (``ValidationError``) local image ``ref`` if it has reserved labels other than ``own``.

    ``own``: labels Oduflow itself put on the image (those of its dependency images).
    """
    keys = foreign_labels(image_labels(client, ref), own)
    if keys:
        raise _refusal(f"image '{ref}'", keys)


def check_container(container: Any, own: Mapping[str, str]) -> None:
    """Refuse a created container whose reserved labels are not exactly those of ``own``."""
    labels = dict((container.attrs.get("Config") or {}).get("Labels") or {})
    keys = foreign_labels(labels, own)
    if keys:
        image = (container.attrs.get("Config") or {}).get("Image") or "?"
        raise _refusal(f"image '{image}' (container {container.name})", keys)
