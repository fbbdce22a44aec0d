"""Catalog tools that work inside an environment: pull, install/upgrade, tests, logs, commands,
the Odoo shell, files, HTTP and SQL. Thin wrappers over ``oduflow.services.odoo_*`` and
``oduflow.services.pull``; collected by :func:`oduflow.catalog.build_catalog`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import Field

from oduflow.results import (
    CommandResult,
    FileResult,
    LogsResult,
    ModuleOperationResult,
    PullResult,
    QueryResult,
    ShellResult,
    TestRunResult,
)
from oduflow.services import odoo_db, odoo_files, odoo_http, odoo_ops, pull
from oduflow.toolspec import Call, tool

Branch = Annotated[str, Field(description="Git branch name of the environment, e.g. 'feature-login'.")]
Modules = Annotated[
    str, Field(description="Odoo module technical names separated by commas, e.g. 'sale,crm'.")
]
ContainerPath = Annotated[
    str,
    Field(
        description="Absolute path inside the Odoo container, e.g. '/mnt/extra-addons/my_module/models.py'."
    ),
]


# --- pull ------------------------------------------------------------------------------------
@tool(lock="branch", title="Pull the branch and apply the changes", open_world=True)
def pull_and_apply(
    call: Call,
    branch_name: Branch,
    dry_run: Annotated[
        bool,
        Field(description="Only fetch and return the plan; the checkout and the server are not touched."),
    ] = False,
) -> PullResult:
    """Pull the branch into its environment and apply the minimal action the changes need.

    Fetches the remote branch, fast-forwards the environment's checkout and classifies every
    changed file: new module -> install; fields, security, data records, manifest changes ->
    upgrade; Python logic only -> restart; view archs and static assets only -> nothing (reload
    the browser); requirements.txt/apt_packages.txt -> container rebuilt. Installs and upgrades
    run in one ``odoo -i .. -u .. --stop-after-init``, then the server restarts.

    Returns ``old_commit``/``new_commit``, ``changed_files``, ``plan`` (action per file with its
    reason), ``actions`` (each step run with ``ok`` and, for install/upgrade, ``result`` with
    exit_code, error, excerpt and the full log) and a one-line ``summary``. If an install or
    upgrade failed (``ok`` false, exit code 255), read ``result.error`` and the excerpt, fix the
    code, push, and call this again. ``dry_run=true`` shows what a pull would do.

    Extra addons repositories stay on the commit the environment was created with: when
    their bare clone (update_extra_repo) has newer commits on the branch, ``extra_addons``
    lists, per repository, ``commit``, ``branch_head`` and the ``plan`` of those changes (not
    applied; recreate the environment to use them).
    """
    return cast("PullResult", pull.pull_and_apply(call.app, call.team, branch_name, dry_run, call.progress))


# --- modules and tests ----------------------------------------------------------------------------
@tool(lock="branch", title="Install Odoo modules")
def install_odoo_modules(call: Call, branch_name: Branch, modules: Modules) -> ModuleOperationResult:
    """Install Odoo modules (``odoo -i MODULES --stop-after-init``), then restart the server.

    Returns ``ok``, ``exit_code`` (0 = success; 255 = the registry failed to load: syntax error,
    invalid XML, a view on a missing field...), ``modules_loaded`` (loaded to the end),
    ``modules_not_loaded`` (failed to load, unknown, or already installed), ``error``
    (exception, file and line; for a run that died without a log record its exception or
    usage error), ``errors``,
    ``warnings``, a log ``excerpt``, the full ``log``, ``restart`` and a one-line ``summary``.
    On failure fix the module, push, pull_and_apply, and install again.
    """
    return cast(
        "ModuleOperationResult", odoo_ops.install_odoo_modules(call.app, call.team, branch_name, modules)
    )


@tool(lock="branch", title="Upgrade Odoo modules")
def upgrade_odoo_modules(call: Call, branch_name: Branch, modules: Modules) -> ModuleOperationResult:
    """Upgrade installed Odoo modules (``odoo -u MODULES --stop-after-init``), then restart the
    server.

    Returns the same fields as install_odoo_modules. pull_and_apply upgrades by itself when fields, data
    or the manifest change; use this as the fallback when a change does not show.
    """
    return cast(
        "ModuleOperationResult", odoo_ops.upgrade_odoo_modules(call.app, call.team, branch_name, modules)
    )


@tool(lock="branch", title="Run Odoo tests")
def run_odoo_tests(
    call: Call,
    branch_name: Branch,
    modules: Modules,
    test_tags: Annotated[
        str,
        Field(
            description="Optional Odoo --test-tags, e.g. '/my_module', ':TestClass.test_method', "
            "'/my_module:TestClass'. Empty: every test of the modules."
        ),
    ] = "",
) -> TestRunResult:
    """Run the tests of Odoo modules (``odoo --test-enable -i M -u M --stop-after-init``) on the
    environment's database.

    The run gets its own HTTP port (HttpCase tests need a server), so the environment's server
    keeps serving meanwhile. Returns ``ok`` (false when no test ran), ``passed``, ``failed``,
    ``errors``, ``skipped``, ``total`` (the counts of Odoo's ``odoo.tests.result`` line),
    ``exit_code``, ``failures`` (each with module, test_class, method, kind FAIL|ERROR, message,
    traceback, file and line), ``load_errors`` (the run broke outside tests: the module does not
    load, or Odoo died on an uncaught exception or a usage error), ``tail`` (the end of the output
    when the run died without a summary), the ``summary_line`` Odoo printed, a one-line
    ``summary`` and the full ``log``. Fix ERRORs first (exceptions), then FAILs (assertions).
    Tests may leave data behind in the environment's database, as with Odoo itself.
    """
    return cast(
        "TestRunResult", odoo_ops.run_odoo_tests(call.app, call.team, branch_name, modules, test_tags)
    )


@tool(title="Odoo server log", read_only=True, idempotent=True)
def get_environment_logs(
    call: Call,
    branch_name: Branch,
    lines: Annotated[int, Field(ge=1, le=5000, description="Number of last log lines (1-5000).")] = 100,
) -> LogsResult:
    """The last lines of the running Odoo server's log and the container status.

    Returns ``branch``, ``status`` (the container's), ``lines`` and ``logs`` (the text;
    ``truncated`` when it was cut). Look for ERROR, CRITICAL, WARNING and Traceback lines naming your modules.
    """
    return cast("LogsResult", odoo_ops.get_environment_logs(call.app, call.team, branch_name, lines))


# --- commands and shell -------------------------------------------------------------------------
@tool(lock="branch", title="Run a shell command in the container", destructive=True, open_world=True)
def run_odoo_command(
    call: Call,
    branch_name: Branch,
    command: Annotated[str, Field(description="Shell command run with 'sh -c' inside the container.")],
    user: Annotated[
        Literal["odoo", "root"], Field(description="'odoo' (default, the image's user) or 'root'.")
    ] = "odoo",
) -> CommandResult:
    """Run a shell command inside the environment's Odoo container (never on the server host).

    Returns ``exit_code``, ``stdout``, ``stderr``, ``timed_out`` (killed after
    [limits].exec_timeout, 120 s by default) and ``truncated``. Prefer read_file_in_odoo,
    search_in_odoo, run_db_query and run_odoo_shell for what they do; use ``user='root'`` only
    for privileged work such as ``pip3 install``.
    """
    return cast("CommandResult", odoo_ops.run_odoo_command(call.app, call.team, branch_name, command, user))


@tool(lock="branch", title="Run Python in odoo shell", destructive=True)
def run_odoo_shell(
    call: Call,
    branch_name: Branch,
    code: Annotated[str, Field(description="Python code; `env` is bound as in `odoo shell`. Print results.")],
) -> ShellResult:
    """Run Python code in ``odoo shell`` on the environment's database (``env``, ``self`` bound).

    Returns ``ok``, ``exit_code``, ``stdout`` (what your code printed), ``error`` (the
    exception line) and ``traceback`` when the code raised, and ``stderr`` (Odoo's log).
    Changes are rolled back unless the code calls ``env.cr.commit()``.
    """
    return cast("ShellResult", odoo_ops.run_odoo_shell(call.app, call.team, branch_name, code))


@tool(lock="branch", title="Set a user's password", destructive=True, idempotent=True)
def reset_admin_password(
    call: Call,
    branch_name: Branch,
    login: Annotated[str, Field(description="Login of the user, default 'admin'.")] = "admin",
    password: Annotated[str, Field(description="New password, default 'test'.")] = "test",
) -> dict[str, Any]:
    """Set a user's password (default: user 'admin', password 'test') through the ORM.

    Returns ``users_changed``; a login that matches no user is a NotFoundError. Tell the user
    the login and password you set.
    """
    return odoo_ops.reset_admin_password(call.app, call.team, branch_name, login, password)


# --- files ---------------------------------------------------------------------------------------
@tool(title="Read a file in the container", read_only=True, idempotent=True)
def read_file_in_odoo(
    call: Call,
    branch_name: Branch,
    path: ContainerPath,
    read_range: Annotated[
        str, Field(description="Optional 1-based inclusive line range 'START:END', e.g. '100:200'.")
    ] = "",
) -> FileResult:
    """Read a text file (up to 100 KB) or list a directory (like ``ls -la``) inside the container.

    Returns ``content`` with ``total_lines``, ``start_line``/``end_line`` and ``truncated``
    (then read the rest with ``read_range``), or ``listing`` for a directory. Binary files are
    refused (use run_odoo_command). Odoo's sources are under
    /usr/lib/python3/dist-packages/odoo/, your modules under /mnt/extra-addons/.
    """
    return cast(
        "FileResult", odoo_files.read_file_in_odoo(call.app, call.team, branch_name, path, read_range)
    )


@tool(lock="branch", title="Write a file in the container", destructive=True, idempotent=True)
def write_file_in_odoo(
    call: Call,
    branch_name: Branch,
    path: ContainerPath,
    content: Annotated[str, Field(description="Text content (UTF-8, at most 5 MB).")],
) -> dict[str, Any]:
    """Write a text file inside the container (CSV to import, a script, a config); missing parent
    directories are created. The file belongs to the image's user (odoo).

    Returns ``path``, ``bytes`` and ``owner``. Code changes belong in git (push +
    pull_and_apply): files under /mnt/extra-addons are the environment's checkout.
    """
    return odoo_files.write_file_in_odoo(call.app, call.team, branch_name, path, content)


@tool(title="Search files in the container", read_only=True, idempotent=True)
def search_in_odoo(
    call: Call,
    branch_name: Branch,
    pattern: Annotated[
        str, Field(description="Fixed string to find (not a regex), e.g. '_name = \"sale.order\"'.")
    ],
    path: Annotated[
        str, Field(description="Directory or file to search in the container.")
    ] = "/mnt/extra-addons",
    glob: Annotated[str, Field(description="Only files whose name matches, e.g. '*.py' or '*.xml'.")] = "",
) -> dict[str, Any]:
    """Search files inside the container for a fixed string (``grep -rnF``).

    Returns ``results`` (``file:line:text`` lines, at most 500, long lines cut), ``matches``
    and ``truncated``. Search /usr/lib/python3/dist-packages/odoo/addons for core code.
    """
    return odoo_files.search_in_odoo(call.app, call.team, branch_name, pattern, path, glob)


# --- HTTP and SQL ----------------------------------------------------------------------------------
@tool(title="HTTP request to the environment's Odoo", destructive=True)
def http_request_to_odoo(
    call: Call,
    branch_name: Branch,
    method: Annotated[
        Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], Field(description="HTTP method.")
    ] = "GET",
    path: Annotated[
        str,
        Field(description="Path and query on the environment's Odoo, starting with '/', e.g. '/web/health'."),
    ] = "/web/health",
    headers: Annotated[
        dict[str, str] | str | None,
        Field(description='Request headers as a JSON object, e.g. {"Content-Type": "application/json"}.'),
    ] = None,
    body: Annotated[str, Field(description="Request body (text, e.g. a JSON-RPC payload).")] = "",
) -> dict[str, Any]:
    """Send an HTTP request to the environment's running Odoo (controllers, /jsonrpc, REST).

    Returns ``status``, ``headers``, ``body`` (text; binary bodies are summarised) and
    ``elapsed_ms``. Redirects are returned, not followed. For JSON-RPC POST
    ``{"jsonrpc": "2.0", "method": "call", "params": {...}}`` with Content-Type application/json;
    for routes needing a login, POST /web/session/authenticate first and send the returned
    session_id cookie.
    """
    return odoo_http.http_request_to_odoo(call.app, call.team, branch_name, method, path, headers, body)


@tool(title="List Odoo modules", read_only=True, idempotent=True)
def list_installed_modules(
    call: Call,
    branch_name: Branch,
    name_filter: Annotated[str, Field(description="Substring of the technical name, e.g. 'sale'.")] = "",
    state: Annotated[
        Literal["installed", "uninstalled", "to install", "to upgrade", "to remove", "uninstallable", "all"],
        Field(description="Module state to list; 'all' for every state."),
    ] = "installed",
) -> dict[str, Any]:
    """List the Odoo modules of the environment's database with state, version and title.

    Returns ``state``, ``name_filter``, ``count`` and ``modules`` (each with ``name``,
    ``state``, ``version`` and ``title``). A module of your repository that is ``uninstalled``
    needs install_odoo_modules.
    """
    return odoo_db.list_installed_modules(call.app, call.team, branch_name, name_filter, state)


@tool(title="Run one SQL statement", destructive=True)
def run_db_query(
    call: Call,
    branch_name: Branch,
    query: Annotated[
        str, Field(description="One SQL statement, e.g. 'SELECT id, name FROM res_partner LIMIT 10'.")
    ],
) -> QueryResult:
    """Run one SQL statement on the environment's own database (as its own database role).

    Returns ``columns``, ``rows`` (at most [limits].query_max_rows, 500 by default;
    ``truncated`` says when more exist, with a ``note``), ``rowcount`` and ``status``. The
    statement timeout is [limits].query_timeout (30 s). SQL errors come back with PostgreSQL's
    message. Use it to read; writing with SQL bypasses the ORM.

    Lock: a read (SELECT, SHOW, EXPLAIN...) runs in a read-only transaction and takes no lock,
    so it works while a long install runs. A statement that writes is committed at once and
    takes the branch lock: it fails at once with BusyError while another operation on this
    branch runs.
    """
    return cast("QueryResult", odoo_db.run_db_query(call.app, call.team, branch_name, query))
