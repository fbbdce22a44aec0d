"""HTML of the few pages the stand-in serves (login, web client shell, database manager)."""

from __future__ import annotations

import html

from odoo import release

_HEAD = (
    '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="utf-8"/>\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n<title>{title}</title>\n</head>\n'
)


def login_page(db: str, error: str = "", login: str = "") -> str:
    """The ``/web/login`` page of database ``db``."""
    alert = f'<p class="alert alert-danger" role="alert">{html.escape(error)}</p>\n' if error else ""
    return (
        _HEAD.format(title="Login | Odoo")
        + f'<body class="bg-100">\n<main class="o_database_{html.escape(db)}">\n'
        '<form class="oe_login_form" role="form" action="/web/login" method="post">\n'
        f'<input type="hidden" name="db" value="{html.escape(db)}"/>\n'
        f'<input type="text" name="login" id="login" value="{html.escape(login)}" required="required"/>\n'
        '<input type="password" name="password" id="password" required="required"/>\n'
        f'{alert}<button type="submit" class="btn btn-primary">Log in</button>\n'
        '<input type="hidden" name="redirect" value=""/>\n</form>\n'
        f"<p>Powered by Odoo {release.version}</p>\n"
        "</main>\n</body>\n</html>\n"
    )


def webclient_page(db: str, user: str) -> str:
    """The web client shell served at ``/odoo`` for a logged-in user."""
    return (
        _HEAD.format(title="Odoo")
        + f'<body class="o_web_client">\n<script>odoo.__session_info__ = {{"db": "{html.escape(db)}", '
        f'"username": "{html.escape(user)}", "server_version": "{release.version}"}};</script>\n'
        "</body>\n</html>\n"
    )


def database_manager(databases: list[str], list_db: bool, error: str = "") -> str:
    """The database manager / selector page."""
    body = []
    if error:
        body.append(f'<div class="alert alert-danger">{html.escape(error)}</div>')
    if not list_db:
        body.append(
            '<div class="alert alert-danger">The database manager has been disabled by the '
            "administrator</div>"
        )
    else:
        items = "".join(
            f'<li><a class="o_database_action" href="/odoo?db={html.escape(db)}">{html.escape(db)}</a></li>'
            for db in databases
        )
        body.append(f'<ul class="list-group o_database_list">{items}</ul>')
    return (
        _HEAD.format(title="Odoo")
        + '<body class="o_database_list">\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def not_found() -> str:
    """The 404 page."""
    return (
        _HEAD.format(title="404 Not Found")
        + "<body>\n<h1>Not Found</h1>\n<p>The requested URL was not found "
        "on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
        "</body>\n</html>\n"
    )


def server_error() -> str:
    """The 500 page."""
    return (
        _HEAD.format(title="500 Internal Server Error") + "<body>\n<h1>Internal Server Error</h1>\n<p>The "
        "server encountered an internal error and was unable to complete your request.</p>\n"
        "</body>\n</html>\n"
    )
