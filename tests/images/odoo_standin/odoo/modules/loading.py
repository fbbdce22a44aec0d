"""Install, update and load the modules of a database (``-i``/``-u``), logging like Odoo 18."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

from odoo import SUPERUSER_ID, api, sql_db
from odoo.modules import db
from odoo.modules.graph import Graph, Package
from odoo.modules.module import check_external_dependencies, initialize_sys_path, load_openerp_module
from odoo.orm import schema
from odoo.tools import config

_logger = logging.getLogger(__name__)


def load_modules(registry: Any, update_module: bool = False) -> None:
    """Load the installed modules into ``registry``; install/update the marked ones first."""
    initialize_sys_path()
    from odoo.tests.result import TestReport

    report = registry.test_result = TestReport()
    cr = registry.cursor()
    try:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if not db.is_initialized(cr):
            if not update_module:
                _logger.error("Database %s not initialized, you can force it with `-i base`", cr.dbname)
                return
            _logger.info("init db")
            db.initialize(env)
            update_module = True
            config["init"]["all"] = 1
            config["update"]["all"] = 1
        threading.current_thread().dbname = cr.dbname  # type: ignore[attr-defined]
        if "base" in config["update"] or "all" in config["update"]:
            cr.execute(
                "UPDATE ir_module_module SET state='to upgrade' WHERE name='base' AND state='installed'"
            )
        graph = Graph()
        graph.add_modules(cr, ["base"])
        if not graph:
            _logger.critical("module base cannot be loaded! (hint: verify addons-path)")
            raise ImportError("Module `base` cannot be loaded! (hint: verify addons-path)")
        processed = load_module_graph(env, graph, report)
        if update_module:
            _mark_requested(env)
        processed += load_marked(env, graph, ("installed", "to upgrade", "to remove"), report)
        if update_module:
            processed += load_marked(env, graph, ("to install",), report)
        registry.updated_modules = processed
        registry.loaded = True
        cr.commit()
        if report.failures or report.errors:
            _logger.error("At least one test failed when loading the modules.")
        else:
            _logger.info("Modules loaded.")
    except Exception:
        cr.rollback()
        reset_modules_state(cr.dbname)
        raise
    finally:
        cr.close()


def _mark_requested(env: Any) -> None:
    cr = env.cr
    Module = env["ir.module.module"]
    _logger.info("updating modules list")
    Module.update_list()
    check_module_names(cr, itertools.chain(config["init"], config["update"]))
    names = [k for k, v in config["init"].items() if v]
    if names:
        modules = Module.search([("state", "=", "uninstalled"), ("name", "in", names)])
        if modules:
            modules.button_install()
    names = [k for k, v in config["update"].items() if v]
    if names:
        modules = Module.search([("state", "=", "installed"), ("name", "in", names)])
        if modules:
            modules.button_upgrade()
    cr.execute("UPDATE ir_module_module SET state='installed' WHERE name='base'")


def check_module_names(cr: Any, names: Any) -> None:
    """Warn about requested module names that do not exist (they are ignored)."""
    wanted = set(names) - {"all"}
    if not wanted:
        return
    cr.execute("SELECT name FROM ir_module_module WHERE name = ANY(%s)", (sorted(wanted),))
    incorrect = wanted - {row[0] for row in cr.fetchall()}
    if incorrect:
        _logger.warning("invalid module names, ignored: %s", ", ".join(sorted(incorrect)))


def load_marked(env: Any, graph: Graph, states: tuple[str, ...], report: Any) -> list[str]:
    """Add the modules in ``states`` to the graph and load them."""
    processed: list[str] = []
    for _round in range(100):
        env.cr.execute("SELECT name FROM ir_module_module WHERE state = ANY(%s)", (list(states),))
        names = [row[0] for row in env.cr.fetchall() if row[0] not in graph]
        if not names or not graph.add_modules(env.cr, names):
            break
        done = load_module_graph(env, graph, report)
        processed += done
        if not done:
            break
    return processed


def load_module_graph(env: Any, graph: Graph, report: Any) -> list[str]:
    """Load every module of ``graph`` not loaded yet; install/update those marked so."""
    registry = env.registry
    _logger.info("loading %d modules...", len(graph))
    started, queries = time.time(), sql_db.sql_counter
    processed: list[str] = []
    for index, package in enumerate(graph, 1):
        if package.name in registry._init_modules:
            continue
        needs_update = package.state in ("to install", "to upgrade")
        if needs_update:
            _logger.info("Loading module %s (%d/%d)", package.name, index, len(graph))
            _install_one(env, package, report)
            processed.append(package.name)
        else:
            load_openerp_module(package.name)
            registry.load(package.name)
        registry._init_modules.add(package.name)
    dt, count = time.time() - started, sql_db.sql_counter - queries
    _logger.info("%d modules loaded in %.2fs, %d queries (+%d extra)", len(graph), dt, count, count)
    return processed


def _install_one(env: Any, package: Package, report: Any) -> None:
    from odoo.tests import loader
    from odoo.tools import convert

    registry, cr = env.registry, env.cr
    started, queries = time.time(), sql_db.sql_counter
    new_install = package.state == "to install"
    check_external_dependencies(package.name, package.info)
    load_openerp_module(package.name)
    py_module = __import__(f"odoo.addons.{package.name}", fromlist=["_"])
    if new_install and package.info.get("pre_init_hook"):
        getattr(py_module, package.info["pre_init_hook"])(env)
    model_names = registry.load(package.name)
    schema.init_models(env, model_names, package.name)
    mode = "init" if new_install else "update"
    idref: dict[str, int] = {}
    for filename in _data_files(package.info, "data"):
        convert.convert_file(env, package.name, filename, idref, mode, noupdate=False)
    demo = not config["without_demo"] and package.dbdemo is not False
    if demo and _data_files(package.info, "demo"):
        _logger.info("Module %s: loading demo", package.name)
        for filename in _data_files(package.info, "demo"):
            convert.convert_file(env, package.name, filename, idref, mode, noupdate=True)
    if new_install and package.info.get("post_init_hook"):
        getattr(py_module, package.info["post_init_hook"])(env)
    cr.execute("UPDATE ir_module_module SET demo=%s WHERE id=%s", (bool(demo), package.id))
    cr.commit()
    test_time, test_queries, result = 0.0, 0, None
    if config["test_enable"]:
        result = loader.run_module_tests(registry, package.name, "at_install")
        report.add(package.name, result)
        test_time, test_queries = result.seconds, result.queries
        if result.tests:
            logging.getLogger("odoo.addons.base.models.ir_attachment").info(
                "filestore gc 0 checked, 0 removed"
            )
    cr.execute(
        "UPDATE ir_module_module SET state='installed', latest_version=%s WHERE id=%s",
        (package.info["version"], package.id),
    )
    package.state = "installed"
    cr.commit()
    dt, count = time.time() - started, sql_db.sql_counter - queries - test_queries
    if result is not None and result.tests:
        _logger.info(
            "Module %s loaded in %.2fs (incl. %.2fs test), %d queries (+%d test, +%d other)",
            package.name,
            dt,
            test_time,
            count,
            test_queries,
            count,
        )
        if result.failures or result.errors:
            _logger.error(
                "Module %s: %d failures, %d errors of %d tests",
                package.name,
                result.failures,
                result.errors,
                result.tests,
            )
    else:
        _logger.info("Module %s loaded in %.2fs, %d queries (+%d other)", package.name, dt, count, count)


def _data_files(info: dict[str, Any], kind: str) -> list[str]:
    keys = ("demo_xml", "demo") if kind == "demo" else ("init_xml", "update_xml", "data")
    return [name for key in keys for name in info.get(key) or []]


def reset_modules_state(dbname: str) -> None:
    """Undo the transient states of a failed install/update (in its own transaction)."""
    try:
        with sql_db.Cursor(dbname) as cr:
            if not schema.table_exists(cr, "ir_module_module"):
                return
            cr.execute(
                "UPDATE ir_module_module SET state='installed' WHERE state IN ('to remove', 'to upgrade')"
            )
            cr.execute("UPDATE ir_module_module SET state='uninstalled' WHERE state='to install'")
        _logger.warning("Transient module states were reset")
    except Exception:
        _logger.exception("Could not reset the transient module states")
