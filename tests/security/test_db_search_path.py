"""Attack: a team's own functions named like built-ins, run by the superuser inside the team's
database (CVE-2018-1058 pattern). Oduflow's superuser sessions pin ``search_path`` to
``pg_catalog, pg_temp`` and qualify the built-ins they call, so the hijack never fires."""

from __future__ import annotations

from collections.abc import Callable

from oduflow.app import App
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.fixtures.instance import GitRemote, Instance

ATTACK = (
    "CREATE TABLE public.pwned (who text, super bool)",
    """
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO public.pwned
    SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
  BEGIN
    EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', session_user);
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN pg_catalog.format($1, $2, $3);
END $f$
""",
    """
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE sql AS $f$
  INSERT INTO public.pwned SELECT current_user, true RETURNING NULL::regclass
$f$
""",
)


def superusers(app: App) -> list[str]:
    return [r[0] for r in app.db().query("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1")]


def test_functions_named_like_builtins_never_run_as_superuser(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    before = superusers(app)
    branches = ("sp-attacker", "sp-victim")
    try:
        call(app, "create_environment", branch_name="sp-attacker", template_name="none",
             repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
        for statement in ATTACK:
            call(app, "run_db_query", branch_name="sp-attacker", query=statement)
        db_name = app.names.env_db(TEAM, "sp-attacker")
        # the owner may also put its schema first for every later session in its database
        call(app, "run_db_query", branch_name="sp-attacker",
             query=f'ALTER DATABASE "{db_name}" SET search_path = public, pg_catalog')  # fmt: skip
        call(app, "save_as_template", branch_name="sp-attacker", template_name="sp-hijack")
        call(app, "create_environment", branch_name="sp-victim", template_name="sp-hijack",
             repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
        for branch in branches:
            rows = call(app, "run_db_query", branch_name=branch, query="SELECT who, super FROM public.pwned")
            assert rows["rows"] == [], (branch, rows)
            me = call(app, "run_db_query", branch_name=branch,
                      query="SELECT rolsuper FROM pg_roles WHERE rolname = current_user")  # fmt: skip
            assert me["rows"] == [[False]]
        assert superusers(app) == before
    finally:
        delete_if_present(app, *branches)
        if (app.team_dir(TEAM) / "templates" / "sp-hijack").exists():
            call(app, "delete_template", template_name="sp-hijack")
