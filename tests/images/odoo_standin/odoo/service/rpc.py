"""JSON-RPC for the stand-in: version info, authentication and the ``db``/``common``/``object`` services."""

from __future__ import annotations

import base64
import datetime
import io
import json
import threading
import traceback
from collections.abc import Callable
from typing import Any

from odoo import SUPERUSER_ID, api, release
from odoo.exceptions import AccessDenied, AccessError
from odoo.service import db as db_service
from odoo.tools import config

_registry_lock = threading.RLock()
Reply = tuple[int, dict[str, str], bytes]


def version_info() -> dict[str, Any]:
    """What ``/web/webclient/version_info`` and ``common.version`` answer."""
    return {
        "server_version": release.version,
        "server_version_info": list(release.version_info),
        "server_serie": release.serie,
        "protocol_version": 1,
    }


def registry_for(db: str) -> Any:
    """The registry of ``db``, (re)loaded when missing or signaled as changed by another process."""
    from odoo.modules.registry import Registry

    with _registry_lock:
        registry = Registry.registries.get(db)
        # a registry still loading in this process (HttpCase tests at install) is used as it is
        if registry is not None and registry.ready and registry.current_signal() != registry.signal:
            Registry.delete(db)
            registry = None
        if registry is None:
            threading.current_thread().dbname = db  # type: ignore[attr-defined]
            registry = Registry.new(db)
        return registry


def authenticate(db: str, login: str, password: str) -> int | bool:
    """The uid of ``login`` when ``password`` is right, else False."""
    if not db or db not in db_service.db_filter([db]):
        return False
    registry = registry_for(db)
    if "res.users" not in registry.models:
        return False
    with registry.cursor() as cr:
        return api.Environment(cr, SUPERUSER_ID, {})["res.users"]._login(login, password)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "_ids"):
        return list(value._ids)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%Y-%m-%d %H:%M:%S" if isinstance(value, datetime.datetime) else "%Y-%m-%d")
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def jsonrpc_reply(body: bytes, call: Callable[[dict[str, Any]], Any]) -> Reply:
    """Run ``call(params)`` for a JSON-RPC 2.0 request; errors are answered like Odoo's."""
    request_id = None
    try:
        request = json.loads(body or b"{}")
        request_id = request.get("id")
        result: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": request_id,
            "result": _jsonable(call(request.get("params") or {})),
        }
    except Exception as exc:  # noqa: BLE001  (every error becomes a JSON-RPC error)
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        message = str(exc.args[0]) if exc.args else str(exc)
        code = 100 if isinstance(exc, AccessDenied) and "session" in name else 200
        result = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {
                "code": code,
                "message": "Odoo Server Error",
                "data": {
                    "name": name,
                    "debug": traceback.format_exc(),
                    "message": message,
                    "arguments": [_jsonable(a) for a in exc.args],
                    "context": {},
                },
            },
        }
    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()


def dispatch(params: dict[str, Any]) -> Any:
    """``/jsonrpc``: ``{"service": ..., "method": ..., "args": [...]}``."""
    service, method, args = params.get("service"), params.get("method"), list(params.get("args") or [])
    if service == "db":
        return _db(method or "", args)
    if service == "common":
        if method == "version":
            return version_info()
        if method in ("login", "authenticate"):
            return authenticate(args[0], args[1], args[2])
        if method == "about":
            return "See http://openerp.com"
    if service == "object" and method in ("execute", "execute_kw"):
        return _object(method, args)
    raise NameError(f"{method!r} is not a valid method of the {service!r} service")


def _db(method: str, args: list[Any]) -> Any:
    if method == "list":
        if not config["list_db"]:
            raise AccessDenied()
        return db_service.list_dbs()
    if method == "server_version":
        return release.version
    if method == "db_exist":
        return db_service.exp_db_exist(args[0])
    if method == "list_lang":
        return [["en_US", "English (US)"]]
    if method == "dump":
        db_service.check_super(args[0])
        out = io.BytesIO()
        db_service.dump_db(args[1], out, args[2] if len(args) > 2 else "zip")
        return base64.b64encode(out.getvalue()).decode()
    raise NameError(f"{method!r} is not a valid method of the 'db' service")


def _object(method: str, args: list[Any]) -> Any:
    db, uid, password, model, name = args[:5]
    if method == "execute_kw":
        call_args, call_kwargs = (args[5] if len(args) > 5 else []), (args[6] if len(args) > 6 else {})
    else:
        call_args, call_kwargs = args[5:], {}
    registry = registry_for(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        user = env["res.users"].browse(uid).exists()
        if not user or env["res.users"]._login(user.login, password) != uid:
            raise AccessDenied()
        if name.startswith("_"):
            raise AccessError(f"Private methods (such as {model}.{name}) cannot be called remotely.")
        records = env(user=uid)[model]
        if name in ("read", "write", "unlink", "exists") or (
            name
            not in (
                "create",
                "search",
                "search_read",
                "search_count",
                "fields_get",
                "default_get",
                "name_search",
            )
            and call_args
            and isinstance(call_args[0], list)
        ):
            records, call_args = records.browse(call_args[0]), list(call_args[1:])
        result = getattr(records, name)(*call_args, **call_kwargs)
        if name == "create" and call_args and isinstance(call_args[0], dict):
            result = result.id
        return result
