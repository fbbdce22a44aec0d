"""Repository URL policy, credential masking and the credential store."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import git
from oduflow.errors import ValidationError


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
