"""Typed results of the tools agents use most.

These TypedDicts describe what the services really return; the catalog turns them into the
MCP ``outputSchema`` (MCP clients validate structured results against it) and the tools
reference. Keys a service adds only in some cases are ``NotRequired``; nested parts whose
shape belongs to another module (log issues, change plans) stay ``dict[str, Any]``.
"""

from typing import Any

from typing_extensions import NotRequired, TypedDict


class EnvironmentSummary(TypedDict):
    """One environment of ``list_environments``."""

    branch: str
    status: str
    url: str
    template: str
    odoo_image: str
    repo_url: str
    protected: bool
    container: str


class ContainerStats(TypedDict, total=False):
    cpu_percent: float
    memory_mb: float
    memory_limit_mb: float


class ExtraAddonMount(TypedDict):
    """One extra addons repository mounted in an environment, pinned to ``commit``."""

    name: str
    branch: str
    commit: str
    mount: NotRequired[str]


class EnvironmentInfo(EnvironmentSummary):
    """``get_environment_info``: the summary, the stored parameters (no secrets) and the container."""

    slug: str
    run_image: str
    db_name: str
    db_role: str
    storage: str
    uid: int
    gid: int
    sanitize: bool
    conf_source: str
    branch_created: bool
    workspace: str
    container_status: str
    filestore_healthy: bool
    created_at: Any
    extra_addons: list[ExtraAddonMount]
    clone_strategy: str
    """How the database was made from the template (``reflink``, ``pool``, ``file_copy``; "" for an
    empty one or an environment older than the record)."""
    stats: NotRequired[ContainerStats]


class CreatedEnvironment(TypedDict):
    """``create_environment``."""

    branch: str
    url: str
    database: str
    template: str
    odoo_image: str
    image: str
    repo_url: str
    storage: str
    branch_created_from_default: bool
    odoo_conf: str
    container: str
    extra_addons: list[ExtraAddonMount]
    clone_strategy: str
    """How the database was made from the template: ``reflink`` (blocks shared, no copy), ``pool``
    (a spare clone renamed), ``file_copy`` (a full copy); "" for an empty database."""
    status: str


class PullResult(TypedDict):
    """``pull_and_apply``: ``plan`` and ``changed_files_total`` only when something changed."""

    branch: str
    dry_run: bool
    old_commit: str
    new_commit: str
    changed_files: list[Any]
    actions: list[dict[str, Any]]
    summary: str
    changed_files_total: NotRequired[int]
    plan: NotRequired[dict[str, Any]]
    remote_branch: NotRequired[str]
    extra_addons: NotRequired[list[dict[str, Any]]]


class RestartOutcome(TypedDict):
    ok: bool
    status: NotRequired[str]
    error: NotRequired[str]


class ModuleOperationResult(TypedDict):
    """``install_odoo_modules`` / ``upgrade_odoo_modules``."""

    ok: bool
    exit_code: int | None
    modules: list[str]
    modules_loaded: list[str]
    modules_not_loaded: list[str]
    error: dict[str, Any] | None
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    warnings_total: int
    excerpt: str
    command: str
    timed_out: bool
    log: str
    restart: RestartOutcome
    summary: str


class TestRunResult(TypedDict):
    """``run_odoo_tests``."""

    ok: bool
    passed: int
    failed: int
    errors: int
    skipped: int
    total: int
    exit_code: int | None
    failures: list[dict[str, Any]]
    failures_omitted: int
    load_errors: list[dict[str, Any]]
    summary_line: str | None
    modules: list[str]
    tail: str
    summary: str
    command: str
    timed_out: bool
    log: str


class LogsResult(TypedDict):
    """``get_environment_logs``."""

    branch: str
    status: str
    lines: int
    logs: str
    truncated: NotRequired[bool]


class CommandResult(TypedDict):
    """``run_odoo_command``."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    error: NotRequired[str]


class ShellResult(TypedDict):
    """``run_odoo_shell``."""

    ok: bool
    exit_code: int | None
    stdout: str
    error: str | None
    traceback: str | None
    stderr: str
    timed_out: bool
    truncated: NotRequired[bool]


class QueryResult(TypedDict):
    """``run_db_query``."""

    columns: list[str]
    rows: list[list[Any]]
    rowcount: int | None
    status: str
    truncated: bool
    note: NotRequired[str]


class FileResult(TypedDict):
    """``read_file_in_odoo``: ``content`` and line numbers for a file, ``listing`` for a directory."""

    path: str
    type: str
    listing: NotRequired[str]
    size: NotRequired[int | None]
    total_lines: NotRequired[int]
    start_line: NotRequired[int | None]
    end_line: NotRequired[int | None]
    truncated: NotRequired[bool]
    content: NotRequired[str]
    note: NotRequired[str]


class OutputPage(TypedDict):
    """``read_output``: a page of a cached output (mode ``info``: its metadata)."""

    output_id: str
    mode: str
    tool: str | None
    created: Any
    total_lines: int | None
    start: NotRequired[int | None]
    end: NotRequired[int | None]
    text: NotRequired[str]
    truncated: NotRequired[bool]
    next_start: NotRequired[int | None]
    matches: NotRequired[int]
    chars: NotRequired[int | None]
    modes: NotRequired[list[str]]


class TemplateSummary(TypedDict):
    """One template profile of ``list_templates``."""

    name: str
    status: str
    database: str
    dump: str | None
    dump_mb: float
    filestore_mb: float
    storage: str
    metadata: dict[str, Any]
    error: NotRequired[str]


class ProtectionResult(TypedDict):
    """``protect_environment`` / ``unprotect_environment``."""

    branch: str
    protected: bool


class ContainerUsage(ContainerStats):
    """One running environment container of ``get_system_stats``."""

    branch: str
    container: str


class HostUsage(TypedDict):
    """The host of ``get_system_stats``."""

    load_average: list[float]
    cpu_count: int
    memory_total_mb: float
    memory_available_mb: float
    memory_used_percent: float


class SystemStats(TypedDict):
    """``get_system_stats``."""

    containers: list[ContainerUsage]
    host: HostUsage


class GuideSummary(TypedDict):
    """One guide of ``list_agent_guides``."""

    filename: str
    title: str
    size: int
    source: str


class GuideContent(TypedDict):
    """``get_agent_guide``."""

    filename: str
    content: str


class ServicePreset(TypedDict):
    """A saved service configuration (``list_service_presets``); env values masked."""

    name: str
    image: str
    port: int
    hostname: str
    env_vars: dict[str, str]
    """Variable names; every value shown as ``***`` (they are secrets)."""


class ServiceSummary(ServicePreset):
    """One auxiliary service (``list_services``, ``create_service``...)."""

    status: str
    url: str
    host_port: int | None
    address: str
    """``alias:port`` the team's Odoo containers reach it at."""
    container: str
    image_id: str


class CredentialInfo(TypedDict):
    """One stored git credential of ``list_repo_credentials`` (never the secret)."""

    host: str
    scheme: str
    username: str
    """The user name; masked (``ghp_****``) when the token was given as the user name."""
    token: str
    """The token, masked: ``ghp_****``."""
    token_only: bool


class CredentialSetup(CredentialInfo):
    """``setup_repo_auth``: the credential kept, and the repository it was verified with."""

    repository: str
    verified: bool
    changed: bool
    """False when the store already held exactly this credential."""
    message: str


class CredentialValidation(CredentialInfo):
    """``validate_repo_credential``: ``status`` is ``valid``, ``invalid`` or ``unchecked``."""

    repository: str
    status: str
    message: str


class ExtraRepo(TypedDict):
    """One extra addons repository of ``list_extra_repos`` (a bare clone of the team)."""

    name: str
    repo_url: str
    default_branch: str
    branches: list[str]
    protected: bool
    used_by: list[str]


class ExtraRepoUpdate(ExtraRepo):
    """``update_extra_repo``: the repository after the fetch and what moved."""

    updated: list[dict[str, str]]
    added: list[str]
    removed: list[str]
    note: str


class ExtraRepoProtection(TypedDict):
    """``protect_extra_repo`` / ``unprotect_extra_repo``."""

    name: str
    protected: bool


class ExtraRepoDeleted(TypedDict):
    """``delete_extra_repo``."""

    name: str
    deleted: bool
