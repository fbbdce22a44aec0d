"""Pure naming helpers: validation, slugs and every Docker/PostgreSQL resource name.

Every resource name of an instance comes from here, so that an instance with another
``[server].name_prefix`` (the test suite's) never touches resources it did not create.
PostgreSQL truncates identifiers at 63 bytes: long names end in a digest of the full
name, so two names can never collide after truncation.

Every name is injective: its parts are joined by separators that none of the parts can
contain (team ids are ``[A-Za-z0-9-]``, slugs ``[a-z0-9-]``, template names ``[a-z0-9_-]``,
the prefix ``[a-z][a-z0-9-]``), so that team ``a`` with branch ``b-x`` and team ``a-b`` with
branch ``x``, or template ``x__build`` and the build database of template ``x``, never share a
resource. Containers read ``{prefix}_{team}_{kind}.{name}``; database names of kinds that
older versions did not have start with ``oduflow.`` (``.`` appears in no part).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from oduflow.errors import ValidationError

PG_MAX_IDENT = 63
NO_TEMPLATE = "none"

_BRANCH_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def validate_branch(branch: str) -> str:
    """Return ``branch`` if it is a safe git branch name, else raise ``ValidationError``."""
    if (
        not isinstance(branch, str)
        or not _BRANCH_RE.fullmatch(branch)
        or ".." in branch
        or "//" in branch
        or branch.endswith(("/", ".", ".lock"))
        or "/." in branch
        or "@{" in branch
    ):
        raise ValidationError(
            f"invalid branch name {branch!r}: use letters, digits and . _ / + - "
            "(no '..', no leading '-', at most 200 characters)"
        )
    return branch


def validate_name(kind: str, name: str) -> str:
    """Validate a template, service or repository name (``[a-z0-9][a-z0-9_-]*``)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValidationError(
            f"invalid {kind} name {name!r}: use lowercase letters, digits, '_' and '-' "
            "(1-63 characters, starting with a letter or digit)"
        )
    return name


def validate_template_name(name: str) -> str:
    validate_name("template", name)
    if name == NO_TEMPLATE:
        raise ValidationError(f"'{NO_TEMPLATE}' is reserved: it means 'no template'")
    return name


def slugify(text: str) -> str:
    """Lowercase ``text`` to ``[a-z0-9-]`` (``Feature/Login_2`` -> ``feature-login-2``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug:
        raise ValidationError(f"{text!r} has no letters or digits to build a name from")
    return slug


def digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit(name: str, limit: int = PG_MAX_IDENT, *, mark: str = "_") -> str:
    """Shorten ``name`` to ``limit`` bytes, keeping it unique with a digest of the full name.

    ``mark`` starts the digest. With ``"."`` (a character no part of a name holds) a shortened
    name can never equal a short one; ``"_"`` is what older versions used (names that keep it
    stay as they were: their parts cannot end in ``_<digest>``).
    """
    if len(name.encode()) <= limit:
        return name
    tail = mark + digest(name, 10 if mark == "_" else 20)
    return name.encode()[: limit - len(tail)].decode(errors="ignore").rstrip("_-.") + tail


def branch_slug(branch: str) -> str:
    """The slug that names a branch's environment resources (long branches get a digest)."""
    validate_branch(branch)
    slug = slugify(branch)
    if len(slug) > 48:
        slug = slug[:39].rstrip("-") + "-" + digest(branch)
    return slug


@dataclass(frozen=True)
class Names:
    """All resource names of one Oduflow instance (``prefix`` = ``[server].name_prefix``)."""

    prefix: str = "oduflow"

    # --- shared infrastructure -------------------------------------------------
    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def db_container(self) -> str:
        return f"{self.prefix}-db"

    @property
    def db_volume(self) -> str:
        return f"{self.prefix}-db-data"

    @property
    def traefik_container(self) -> str:
        return f"{self.prefix}-traefik"

    @property
    def traefik_volume(self) -> str:
        return f"{self.prefix}-traefik-acme"

    # --- labels ------------------------------------------------------------------
    label_managed = "oduflow.managed"
    label_instance = "oduflow.instance"
    label_team = "oduflow.team"
    label_role = "oduflow.role"

    def labels(self, role: str, team: str | None = None, **extra: str) -> dict[str, str]:
        out = {self.label_managed: "true", self.label_instance: self.prefix, self.label_role: role}
        if team is not None:
            out[self.label_team] = str(team)
        out.update({f"oduflow.{k}": v for k, v in extra.items()})
        return out

    def instance_filter(self, **extra: str) -> dict[str, list[str]]:
        """A docker-py ``filters`` value selecting this instance's resources."""
        labels = [f"{self.label_managed}=true", f"{self.label_instance}={self.prefix}"]
        labels += [f"oduflow.{k}={v}" for k, v in extra.items()]
        return {"label": labels}

    # --- per environment ---------------------------------------------------------
    def _container(self, team: str, kind: str, name: str) -> str:
        # neither the prefix nor a team id holds "_", no kind holds ".": the parts are recoverable
        return f"{self.prefix}_{team}_{kind}.{name}"

    def env_container(self, team: str, slug: str) -> str:
        return self._container(team, "env", slug)

    def template_container(self, team: str, template: str) -> str:
        """The template editor's container (``template_up``)."""
        return self._container(team, "template", template)

    def job_container(self, team: str, purpose: str) -> str:
        """A one-off container: unique per call, since jobs of parallel operations overlap."""
        return self._container(team, "job", f"{purpose}.{secrets.token_hex(4)}")

    def service_container(self, team: str, service: str) -> str:
        """An auxiliary service's container (``create_service``)."""
        return self._container(team, "svc", service)

    def service_alias(self, service: str) -> str:
        """The name a team's containers reach a service by, on the team's network only."""
        return f"{self.prefix}-svc-{service}"

    def team_network(self, team: str) -> str:
        """The team's own network: its services and its environments' containers, no other team's."""
        return f"{self.prefix}_{team}_net"

    def legacy_env_container(self, team: str, slug: str) -> str:
        """The container name of environments made by earlier versions (not injective:
        use it only together with the container's ``oduflow.team``/``oduflow.env`` labels)."""
        return f"{self.prefix}-{team}-{slug}-odoo"

    def legacy_template_container(self, team: str, template: str) -> str:
        """The editor's container name of older versions (see :meth:`legacy_env_container`)."""
        return f"{self.prefix}-{team}-template-{template}-odoo"

    def router(self, team: str, slug: str) -> str:
        """Traefik router and service name (``.`` is Traefik's label separator: not used)."""
        return f"{self.prefix}_{team}_{slug}"

    def deps_image(self, key: str) -> str:
        return f"{self.prefix}-deps:{key}"

    # --- PostgreSQL ----------------------------------------------------------------
    def env_db(self, team: str, slug: str) -> str:
        return fit(f"oduflow_{team}_{slug}")

    def env_role(self, team: str, slug: str) -> str:
        return fit(f"oduflow_u_{team}_{slug}")

    def template_role(self, team: str) -> str:
        """The role owning a team's template databases and their objects (never a superuser)."""
        return fit(f"oduflow_t_{team}")

    def template_db(self, team: str, template: str) -> str:
        return fit(f"oduflow_template_{team}_{template}", mark=".")

    def template_build_db(self, team: str, template: str) -> str:
        """Where a new version of template ``template`` is built before it is swapped in."""
        return fit(f"{BUILD_DB}{team}_{template}", mark=".")

    def template_old_db(self, team: str, template: str) -> str:
        """Where the previous version of ``template`` waits while the new one is swapped in."""
        return fit(f"{OLD_DB}{team}_{template}", mark=".")

    def template_of_work_db(self, team: str, name: str) -> str | None:
        """The template whose build or old database ``name`` is (None: not one, or too long to say)."""
        for start, make in ((BUILD_DB, self.template_build_db), (OLD_DB, self.template_old_db)):
            template = name.removeprefix(f"{start}{team}_")
            if template != name and _NAME_RE.fullmatch(template) and make(team, template) == name:
                return template
        return None

    def env_snapshot_db(self, team: str, slug: str, snapshot: str) -> str:
        """Snapshot ``snapshot`` of an environment's database (``snapshot_environment``).

        Its short form has one ``.``; a shortened one two (``fit``'s mark): never the same.
        """
        return fit(f"{SNAPSHOT_DB}{team}_{slug}_{snapshot}", mark=".")

    def env_next_db(self, team: str, slug: str) -> str:
        """The database a reset or a restore builds before it takes the environment's name."""
        return fit(f"{NEXT_DB}{team}_{slug}", mark=".")

    def env_prev_db(self, team: str, slug: str) -> str:
        """The environment's previous database while a reset or a restore finishes."""
        return fit(f"{PREV_DB}{team}_{slug}", mark=".")


BUILD_DB = "oduflow.build_"
OLD_DB = "oduflow.old_"
SNAPSHOT_DB = "oduflow.snap_"
NEXT_DB = "oduflow.next_"
PREV_DB = "oduflow.prev_"


def under(root: Path, *parts: str) -> Path:
    """Join ``parts`` to ``root`` and refuse any result outside ``root`` (path traversal)."""
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise ValidationError(f"path {'/'.join(parts)!r} leaves {root}")
    return path
