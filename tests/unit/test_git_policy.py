"""Repository URL policy, credential masking and the credential store."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from oduflow import git, urlpolicy
from oduflow.errors import ValidationError
from oduflow.giturl import parse_repo_url
from oduflow.urlpolicy import UrlPolicy


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r.git",
        "ssh://git@host.example/o/r.git",
        "git@github.com:o/r.git",
        "https://user:tok@gitlab.example/o/r",
    ],
)
def test_remote_urls_always_allowed(url: str) -> None:
    assert git.check_repo_url(url, allow_local=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "file:///srv/repo.git",
        "/srv/repo.git",
        "./repo",
        "https://localhost/r.git",
        "https://127.0.0.1:3000/r.git",
        "ssh://[::1]/r",
        "git@localhost:r.git",
        "http://example.com/r.git",
        "https://127.1/r",
        "https://2130706433/r",
        "https://0x7f000001/r",
        "https://0.0.0.0/r",
        "ssh://[::ffff:127.0.0.1]/r",
        "git@127.1:/srv/x",
        "https://LOCALHOST./r",
    ],
)
def test_local_and_plaintext_urls_need_the_operator_setting(url: str) -> None:
    with pytest.raises(ValidationError):
        git.check_repo_url(url, allow_local=False)
    assert git.check_repo_url(url, allow_local=True) == url


@pytest.mark.parametrize("url", ["", "-uhttps://x", "ftp://host/r", "https://host/r x", "https://"])
def test_malformed_urls_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        git.check_repo_url(url, allow_local=True)


def test_masking_and_stripping() -> None:
    url = "https://bob:ghp_secret@github.com/o/r.git"
    assert "ghp_secret" not in git.mask_url(url) and "bob:***@github.com" in git.mask_url(url)
    assert git.strip_credentials(url) == "https://github.com/o/r.git"


def test_credential_store_is_private_and_deduplicated(tmp_path: Path) -> None:
    store = tmp_path / ".git-credentials"
    assert git.store_credentials(store, "https://bob:tok@host.example:8443/o/r.git") is True
    assert git.store_credentials(store, "https://bob:tok@host.example:8443/other.git") is False
    assert git.store_credentials(store, "https://host.example/o/r.git") is False
    assert store.read_text() == "https://bob:tok@host.example:8443\n"
    assert store.stat().st_mode & 0o777 == 0o600


def test_git_errors_mask_credentials(tmp_path: Path) -> None:
    from oduflow.errors import ExternalCommandError

    with pytest.raises(ExternalCommandError) as err:
        git.run_git(["ls-remote", "https://bob:topsecret@127.0.0.1:1/r.git"], timeout=20)
    assert "topsecret" not in str(err.value)


# --- the address policy (oduflow.urlpolicy) -------------------------------------------------
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("192.0.2.10", "private"),
        ("2001:db8::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "loopback (embedded IPv4 127.0.0.1)"),
        ("2002:a00:1::1", "private (embedded IPv4 10.0.0.1)"),
        ("64:ff9b::a9fe:a9fe", ""),  # NAT64 of 169.254.169.254: reserved, or link-local embedded
        ("::7f00:1", ""),  # IPv4-compatible 127.0.0.1
    ],
)
def test_every_non_public_address_class_is_refused(address: str, reason: str) -> None:
    ip = urlpolicy.parse_ip(address)
    assert ip is not None
    found = urlpolicy.address_class(ip)
    assert found == reason if reason else found is not None
    with pytest.raises(ValidationError, match="allowed_hosts"):
        UrlPolicy().check_host(address, 443)
    assert UrlPolicy(allow_local=True).check_host(address, 443).trusted


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass_and_are_pinned(address: str) -> None:
    ip = urlpolicy.parse_ip(address)
    assert ip is not None and urlpolicy.address_class(ip) is None
    target = UrlPolicy().check_host(address, 443)
    assert target.addresses == (str(ip),) and not target.trusted


@pytest.mark.parametrize(
    "spelling", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "127.0.1", "[::ffff:7f00:1]"]
)
def test_ipv4_shorthands_are_read_like_inet_aton(spelling: str) -> None:
    ip = urlpolicy.parse_ip(spelling)
    assert ip is not None and urlpolicy.address_class(ip) == "loopback"
    with pytest.raises(ValidationError):
        UrlPolicy().check_host(spelling, 80)


@pytest.mark.parametrize("name", ["example.com", "deadbeef", "1e100", "a.b-c.example", "10.0.0.1.example"])
def test_names_are_not_mistaken_for_addresses(name: str) -> None:
    assert urlpolicy.parse_ip(name) is None


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST.", "api.localhost", "x.y.localhost."])
def test_localhost_names_are_loopback_whatever_the_resolver_says(name: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        UrlPolicy().check_host(name, 443)
    assert UrlPolicy(allowed_hosts=(name.rstrip(".").lower(),)).check_host(name, 443, resolve=False)


def test_the_allowlist_lifts_exactly_what_it_names() -> None:
    policy = UrlPolicy(allowed_hosts=("127.0.0.1", "10.20.0.0/16", "git.corp.example"))
    assert policy.check_host("127.0.0.1", 80).trusted
    assert policy.check_host("10.20.3.4", 80).trusted
    for refused in ("127.0.0.2", "10.21.0.1", "::1", "2130706434"):
        with pytest.raises(ValidationError):
            policy.check_host(refused, 80)
    assert policy.name_allowed("GIT.corp.example.") and not policy.name_allowed("corp.example")


def test_docker_networks_and_host_addresses_stay_refused_inside_an_allowed_range() -> None:
    gateway = ipaddress.ip_network("192.168.224.0/20")
    policy = UrlPolicy(allowed_hosts=("192.168.0.0/16",), blocked=(gateway,))
    assert policy.check_host("192.168.1.1", 80).trusted
    with pytest.raises(ValidationError, match="Docker"):
        policy.check_host("192.168.224.1", 80)
    precise = UrlPolicy(allowed_hosts=("192.168.224.7",), blocked=(gateway,))
    assert precise.check_host("192.168.224.7", 80).trusted
    with pytest.raises(ValidationError, match="Docker"):
        UrlPolicy(blocked=(ipaddress.ip_network("8.8.8.0/24"),)).check_host("8.8.8.8", 443)


def test_the_hosts_own_addresses_are_listed() -> None:
    own = urlpolicy.host_addresses()
    assert ipaddress.ip_network("127.0.0.1/32") in own


@pytest.mark.parametrize("entry", ["bad host", "10.0.0.0/33", "http://x", "a..b", ""])
def test_allowed_hosts_entries_are_validated(entry: str) -> None:
    from oduflow.config import parse
    from oduflow.errors import ConfigError

    with pytest.raises(ConfigError, match="allowed_hosts"):
        parse({"server": {"allowed_hosts": [entry]}})


# --- credentials in URLs -----------------------------------------------------------------------
def test_a_token_alone_is_a_credential() -> None:
    url = "https://ghp_abcdef123456@github.com/o/r.git"
    assert "ghp_abcdef123456" not in git.mask_url(url) and "https://***@github.com" in git.mask_url(url)
    assert git.strip_credentials(url) == "https://github.com/o/r.git"
    repo = parse_repo_url(url)
    assert (
        repo.clean == "https://github.com/o/r.git"
        and repo.store_line() == "https://ghp_abcdef123456:@github.com"
    )


def test_ssh_passwords_are_refused_without_echo() -> None:
    with pytest.raises(ValidationError) as err:
        git.check_repo_url("ssh://git:hunter2pw@host.example/o/r.git", allow_local=True)
    assert "hunter2pw" not in str(err.value) and "key" in str(err.value)
    assert git.check_repo_url("ssh://git@host.example/o/r.git") == "ssh://git@host.example/o/r.git"
    assert "git@" in git.mask_url("ssh://git@host.example/o/r.git")  # a login, not a secret


@pytest.mark.parametrize(
    "url", ["https://a@b@evil.example/r", "https://host\\@evil.example/r", "git://u@host.example/r"]
)
def test_ambiguous_user_info_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        git.check_repo_url(url, allow_local=True)


def test_masking_covers_every_line() -> None:
    text = (
        "Cloning into 'x'...\nremote: see https://bob:s3cr3t-pw@h.example/x\n"
        "fatal: https://ghp_TOKEN9876@h.example/r: denied\nnote: token ghp_TOKEN9876 again\n"
    )
    masked = git.mask_text(text, ["ghp_TOKEN9876"])
    assert "s3cr3t-pw" not in masked and "ghp_TOKEN9876" not in masked
    assert masked.count("***") == 3 and masked.splitlines()[0] == "Cloning into 'x'..."


def test_multi_line_git_errors_are_masked(tmp_path: Path) -> None:
    from oduflow.errors import ExternalCommandError

    git.run_git(["init", "-q", str(tmp_path / "w")])
    with pytest.raises(ExternalCommandError) as err:
        git.run_git(
            ["checkout", "--", "https://ghp_FIRSTTOKEN1@h.example/a", "https://u:SECONDPASS2@h.example/b"],
            cwd=tmp_path / "w",
        )
    output = err.value.output
    assert output.count("pathspec") == 2  # two lines of stderr, both masked
    assert "ghp_FIRSTTOKEN1" not in str(err.value) and "SECONDPASS2" not in str(err.value)


def test_new_credentials_replace_those_of_the_same_host(tmp_path: Path) -> None:
    store = tmp_path / ".git-credentials"
    assert git.store_credentials(store, "https://old:tok1@h.example/a.git")
    assert git.store_credentials(store, "https://other:tokX@other.example/a.git")
    assert git.store_credentials(store, "https://ghp_NEWTOKEN@h.example/b.git")
    assert store.read_text().splitlines() == [
        "https://ghp_NEWTOKEN:@h.example",
        "https://other:tokX@other.example",
    ]
    assert store.stat().st_mode & 0o777 == 0o600


def test_git_runs_without_the_servers_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = from-home\n[alias]\n\tx = !touch pwned\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'user.email'='from-env@example.invalid'")
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    proc = git.run_git(["config", "--list", "--show-origin"], check=False)
    assert "from-home" not in proc.stdout and "from-env" not in proc.stdout
    env = git.base_env()
    assert "SSH_AUTH_SOCK" not in env and env["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert env["HOME"] != str(home) and not any(Path(env["HOME"]).iterdir())
    assert Path(env["HOME"]).stat().st_mode & 0o777 == 0o700


def test_allowed_hosts_and_import_limits_from_the_file_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from oduflow.config import parse
    from oduflow.errors import ConfigError

    cfg = parse({"server": {"allowed_hosts": ["git.corp.example", "10.20.0.0/16"]}})
    assert cfg.server.allowed_hosts == ("git.corp.example", "10.20.0.0/16")
    assert (cfg.limits.import_max_mb, cfg.limits.import_timeout) == (10240, 3600)
    monkeypatch.setenv("ODUFLOW_SERVER_ALLOWED_HOSTS", "a.example, 192.0.2.7")
    assert parse({}).server.allowed_hosts == ("a.example", "192.0.2.7")
    monkeypatch.setenv("ODUFLOW_SERVER_ALLOWED_HOSTS", "not a host")
    with pytest.raises(ConfigError, match="allowed_hosts"):
        parse({})
    monkeypatch.delenv("ODUFLOW_SERVER_ALLOWED_HOSTS")
    with pytest.raises(ConfigError, match="list of strings"):
        parse({"server": {"allowed_hosts": "git.corp.example"}})
    with pytest.raises(ConfigError, match="import_max_mb"):
        parse({"limits": {"import_max_mb": 0}})
