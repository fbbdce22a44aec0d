"""What changed in an Odoo XML data file: only view architectures, or records an upgrade must load.

With ``--dev=xml`` Odoo re-reads the architecture of an existing view from its file
(``ir.ui.view`` records and QWeb ``<template>`` elements that have an xml id) each time
the view is used. Nothing else is re-read: new or removed views, view attributes
(``inherit_id``, ``priority``, ``mode``, ``groups``...), actions, menus, crons, rules,
``<function>``, ``<delete>`` and other records only change with an upgrade.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: N817 - the usual name
from dataclasses import dataclass, field

from oduflow.changes import Action

WRAPPERS = frozenset({"odoo", "openerp", "data"})
VIEW_MODEL = "ir.ui.view"


@dataclass
class _Records:
    views: dict[str, tuple[str, str]] = field(default_factory=dict)
    """xml id → (normalised attributes and non-arch fields, exact architecture)."""
    others: list[tuple[str, str]] = field(default_factory=list)
    """(description, normalised element) of every other element, in file order."""


def _normalised(elem: ET.Element) -> str:
    attrs = " ".join(f"{k}={v!r}" for k, v in sorted(elem.attrib.items()))
    children = "".join(_normalised(c) + (c.tail or "").strip() for c in elem)
    return f"<{elem.tag} {attrs}>{(elem.text or '').strip()}{children}</{elem.tag}>"


def _exact_content(elem: ET.Element) -> str:
    return (elem.text or "") + "".join(ET.tostring(c, encoding="unicode") for c in elem)


def _describe(elem: ET.Element) -> str:
    name = elem.get("id") or elem.get("name") or elem.get("model") or ""
    model = f" {elem.get('model')}" if elem.tag == "record" and elem.get("model") else ""
    return f"<{elem.tag}{model}{' ' + name if name else ''}>"


def _view(elem: ET.Element, context: str) -> tuple[str, str] | None:
    """(meta, architecture) of a hot-reloadable view element, else ``None``."""
    if not elem.get("id"):
        return None
    if elem.tag == "template":
        return context + _normalised(ET.Element("template", elem.attrib)), _exact_content(elem)
    if elem.tag != "record" or elem.get("model") != VIEW_MODEL:
        return None
    meta = [context, _normalised(ET.Element("record", elem.attrib))]
    arch = ""
    for child in elem:
        if child.tag == "field" and child.get("name") == "arch":
            meta.append(_normalised(ET.Element("field", child.attrib)))
            arch = _exact_content(child)
        else:
            meta.append(_normalised(child))
    return "".join(meta), arch


def _collect(elem: ET.Element, records: _Records, context: str) -> None:
    for child in elem:
        if child.tag == "data":
            _collect(child, records, context + _normalised(ET.Element("data", child.attrib)))
            continue
        view = _view(child, context)
        if view is not None:
            records.views[child.get("id", "")] = view
        else:
            records.others.append((_describe(child), context + _normalised(child)))


def records_of(text: str) -> _Records:
    """The records of an XML data file. Raises :class:`xml.etree.ElementTree.ParseError`."""
    root = ET.fromstring(text)
    records = _Records()
    if root.tag in WRAPPERS:
        _collect(root, records, _normalised(ET.Element(root.tag, root.attrib)))
    else:
        records.others.append((_describe(root), _normalised(root)))
    return records


def _listing(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def compare_xml(old_text: str, new_text: str) -> tuple[Action, str]:
    """The action and reason for an XML data file present in both revisions."""
    try:
        old, new = records_of(old_text), records_of(new_text)
    except ET.ParseError as exc:
        return Action.UPGRADE, f"XML does not parse ({exc}); an upgrade reports the error"
    if old.others != new.others:
        old_set, new_set = set(old.others), set(new.others)
        changed = sorted(
            {d for d, n in old.others if (d, n) not in new_set}
            | {d for d, n in new.others if (d, n) not in old_set}
        )
        detail = _listing(changed) if changed else "order of records"
        return Action.UPGRADE, f"records other than views changed ({detail}); --dev=xml reloads only views"
    if old.views.keys() != new.views.keys():
        added = sorted(new.views.keys() - old.views.keys())
        removed = sorted(old.views.keys() - new.views.keys())
        what = [f"added {_listing(added)}"] * bool(added) + [f"removed {_listing(removed)}"] * bool(removed)
        return Action.UPGRADE, f"views {' and '.join(what)}; only an upgrade creates or deletes views"
    meta = sorted(k for k in new.views if old.views[k][0] != new.views[k][0])
    if meta:
        return Action.UPGRADE, f"view attributes changed ({_listing(meta)}); --dev=xml reloads only the arch"
    arch = sorted(k for k in new.views if old.views[k][1] != new.views[k][1])
    if arch:
        return Action.REFRESH, f"view architecture changed ({_listing(arch)}); hot-reloaded by --dev=xml"
    return Action.NOTHING, "only comments or formatting outside records changed"
