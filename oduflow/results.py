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


class DiskUsage(TypedDict):
    """Bytes on disk of some files, measured on the filesystem (copy-on-write aware)."""

    logical_bytes: int
    """Apparent sizes (``du --apparent-size``)."""
    allocated_bytes: int
    """Blocks allocated (``du``), including blocks shared with reflink copies."""
    shared_bytes: int
    """Allocated bytes whose blocks another file uses too (a template and its reflink clones)."""
    exclusive_bytes: int
    """Allocated minus shared: what deleting these files would free now."""
    files: int
    unmapped_files: int
    """Files whose extents could not be read (no FIEMAP here): all their bytes count as exclusive."""
    complete: bool
    """False when a directory or file could not be read: the numbers are then too low."""


class EnvironmentDisk(TypedDict):
    """The ``disk`` of ``get_environment_info``."""

    database: DiskUsage | None
    """The database's files in the server's data directory; null when this host cannot see them."""
    filestore: DiskUsage
    filestore_scope: str
    """``upper``: only the environment's own overlay layer (the template's files are the
    template's); ``merged``: the whole filestore directory."""
    exclusive_bytes: int | None
    """Database plus filestore exclusive bytes: what deleting the environment frees (null when
    the database could not be measured)."""
    database_unavailable: NotRequired[str]
    """Why ``database`` is null."""
    database_server_bytes: NotRequired[int]
    """With ``database`` null: ``pg_database_size``, the logical size the server counts (blocks
    shared with the template counted in full)."""


class TemplateDisk(TypedDict):
    """The ``disk`` of a template in ``list_templates``."""

    database: DiskUsage | None
    """The template database's files; null when this host cannot see them."""
    filestore: DiskUsage
    dump: DiskUsage
    exclusive_bytes: int | None
    """What deleting the template frees now (null when the database could not be measured); blocks
    its reflink clones still use are shared, not exclusive."""
    database_unavailable: NotRequired[str]
    database_server_bytes: NotRequired[int]


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
    disk: EnvironmentDisk
    """Physical bytes on disk, true under copy-on-write (see docs/environments.md)."""


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
    disk: TemplateDisk
    """Physical bytes on disk, true under copy-on-write (see docs/templates.md)."""
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


class DataFilesystem(TypedDict):
    """The filesystem of the data directory (``get_system_stats``, ``oduflow init``)."""

    path: str
    fstype: str
    """``xfs``, ``ext4``, ... ("" when the managed filesystem is not mounted)."""
    reflink: bool
    """True when files there can be copy-on-write clones (probed)."""
    size_bytes: int
    used_bytes: int
    free_bytes: int
    """What an unprivileged writer may still use."""
    managed: bool
    """True when it is Oduflow's XFS image file (``[storage].cow_image_size_gb``)."""
    mounted: bool
    """The managed filesystem is mounted (False when not managed)."""
    image: str
    image_size_bytes: int
    """The image file's apparent size (what the filesystem can hold)."""
    image_allocated_bytes: int
    """What the (sparse) image file takes on the host's disk."""


class SystemStats(TypedDict):
    """``get_system_stats``."""

    containers: list[ContainerUsage]
    host: HostUsage
    data_filesystem: DataFilesystem


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


class SnapshotSummary(TypedDict):
    """One snapshot of ``list_snapshots``."""

    snapshot: str
    status: str
    """``ready``; ``creating`` for one whose making crashed (delete_snapshot removes it)."""
    created_at: float
    """Unix time."""
    template: str
    """The environment's template (what reset_environment goes back to)."""
    clone_strategy: str
    """How the database was copied: ``reflink`` (blocks shared, instant) or ``file_copy``."""


class SnapshotTaken(SnapshotSummary):
    """``snapshot_environment``."""

    branch: str
    seconds: dict[str, float]
    """``database`` (the clone), ``filestore`` (the copy) and ``total``."""
    snapshots: int
    """How many snapshots the environment has now."""
    limit: int
    """How many it may keep."""


class SnapshotDeleted(TypedDict):
    """``delete_snapshot``."""

    branch: str
    snapshot: str
    deleted: bool
    snapshots: int
    """How many snapshots the environment has left."""


class EnvironmentSwitched(TypedDict):
    """What ``reset_environment`` and ``restore_snapshot`` share."""

    branch: str
    status: str
    url: str
    clone_strategy: str
    """How the new database was made: ``reflink``, ``pool`` (a spare renamed), ``file_copy``; ""
    for an empty database (``odoo -i base``)."""
    seconds: dict[str, float]
    """Per part: ``database``, ``filestore`` (both prepared while Odoo still served), ``stop``,
    ``swap``, ``sanitize`` or ``initialise`` (resets), ``start`` (until Odoo serves), ``cleanup``
    and ``total``."""


class EnvironmentReset(EnvironmentSwitched):
    """``reset_environment``."""

    template: str
    sanitized: bool


class SnapshotRestored(EnvironmentSwitched):
    """``restore_snapshot``."""

    snapshot: str
