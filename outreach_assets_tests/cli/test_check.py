"""``outreach-assets check``, run as a user would against the sandbox over real HTTP."""

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.cli import main
from outreach_assets.client import OutreachClient
from outreach_assets.config import client_settings_from_env
from outreach_assets.sandbox import SandboxServer

STREAMS = ("prospects", "accounts", "calls")
CHECK_NAMES = ("client settings", "deployment settings", "stream selection", "data folder")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited OUTREACH_* variable or DAGSTER_HOME (the token store would land in the
    developer's home), and a temporary working folder."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("OUTREACH_")] + ["DAGSTER_HOME"]:
        monkeypatch.delenv(name, raising=False)


class Setup:
    """A sandbox and the environment that points the project at it; collects every secret
    it has seen so the output can be searched for them."""

    def __init__(self, sb: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        self.sb = sb
        self.store = tmp_path / "tokens" / "store.json"
        self._monkeypatch = monkeypatch
        cfg = sb.config
        self.secrets = {cfg.client_secret, cfg.refresh_token, cfg.auth_code}
        for name, value in sb.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OUTREACH_TOKEN_STORE", str(self.store))
        monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("OUTREACH_STREAMS", ",".join(STREAMS))

    def set(self, name: str, value: str) -> None:
        self._monkeypatch.setenv(name, value)

    def stored(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.store.read_text())
        return data

    def check(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
        """Run the command; assert no secret reached stdout or stderr."""
        rc = main(["check"])
        captured = capsys.readouterr()
        self.secrets.add(self.sb.current_refresh_token)
        if self.store.exists():
            stored = self.stored()
            # A store may hold only a remembered refusal (no tokens yet).
            self.secrets |= {
                str(stored[k]) for k in ("access_token", "refresh_token") if k in stored
            }
        output = captured.out + captured.err
        for secret in self.secrets:
            assert secret not in output, "a secret was printed"
        lines = captured.out.splitlines()
        checks = sum(x.startswith(("ok ", "FAIL ")) for x in lines[:-1])
        assert lines[-1].startswith(f"{checks} checks")
        return rc, lines


@pytest.fixture
def setup(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Setup:
    overrides = getattr(request, "param", {})
    return Setup(sandbox_factory(**overrides), tmp_path, monkeypatch)


def _line(lines: list[str], what: str) -> str:
    return next(line for line in lines if line[5:].startswith(what))


def test_every_check_passes_against_the_sandbox(setup: Setup, capsys, tmp_path: Path) -> None:
    setup.sb.reset_stats()
    rc, lines = setup.check(capsys)
    assert rc == 0, lines
    assert lines[-1] == f"{len(CHECK_NAMES) + 2 + len(STREAMS)} checks, 0 failed"
    assert all(line.startswith("ok   ") for line in lines[:-1]), lines  # no .env was read
    for what in (*CHECK_NAMES, "token store", "credentials"):
        _line(lines, what)
    assert " free" in _line(lines, "data folder")
    assert (tmp_path / "data").is_dir()
    for name in STREAMS:
        assert get_stream(name).scope in _line(lines, f"stream {name} ")
    stats = setup.sb.stats
    assert stats.token_mints == 1
    assert stats.api_requests == len(STREAMS)  # one request of one record per stream


def test_a_wrong_client_secret_fails_although_a_valid_token_is_cached(setup: Setup, capsys) -> None:
    rc, _ = setup.check(capsys)
    assert rc == 0
    cached = setup.stored()
    setup.set("OUTREACH_CLIENT_SECRET", "not-the-sandbox-secret")
    rc, lines = setup.check(capsys)
    assert rc == 1
    credentials = _line(lines, "credentials")
    assert credentials.startswith("FAIL credentials: ")
    assert "OUTREACH_CLIENT_SECRET" in credentials
    assert _line(lines, "streams").startswith("skip streams: skipped")
    assert lines[-1] == "6 checks, 1 failed, 1 skipped"
    kept = setup.stored()
    assert "rejection" in kept  # remembered for the runs, which now fail without asking
    assert {k: v for k, v in kept.items() if k != "rejection"} == cached  # kept the good token


def test_an_unwritable_data_folder_fails_naming_the_variable(
    setup: Setup, capsys, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    setup.set("OUTREACH_DATA_DIR", str(tmp_path / "afile" / "data"))
    rc, lines = setup.check(capsys)
    assert rc == 1
    assert _line(lines, "data folder").startswith("FAIL data folder: OUTREACH_DATA_DIR=")
    assert lines[-1].endswith(" checks, 1 failed")  # the other checks still ran


@pytest.mark.parametrize("setup", [{"rotate_refresh_tokens": True}], indirect=True)
def test_a_rotated_refresh_token_is_saved_for_the_next_run(setup: Setup, capsys) -> None:
    first = setup.sb.current_refresh_token
    rc, lines = setup.check(capsys)
    assert rc == 0, lines
    rotated = setup.sb.current_refresh_token
    assert rotated != first  # the configured token is dead now
    assert setup.stored()["refresh_token"] == rotated
    rc, lines = setup.check(capsys)  # mints again, from the saved token
    assert rc == 0, lines
    assert setup.stored()["refresh_token"] == setup.sb.current_refresh_token != rotated
    # A real sync afterwards, with the access token gone: it must refresh from the store.
    setup.sb.expire_access_tokens()
    settings = client_settings_from_env(os.environ)
    assert settings.refresh_token == first
    with OutreachClient(settings) as client:
        records = sum(p.count for p in client.iter_pages(get_stream("prospects")))
        assert client.stats.token_refreshes == 1
    assert records == setup.sb.config.records


@pytest.mark.parametrize("setup", [{"scopes": ["prospects.read", "accounts.read"]}], indirect=True)
def test_a_missing_scope_fails_naming_it_and_how_to_leave_the_stream_out(
    setup: Setup, capsys
) -> None:
    rc, lines = setup.check(capsys)
    assert rc == 1
    calls = _line(lines, "stream calls ")
    assert calls.startswith("FAIL stream calls (scope calls.read): ")
    assert "calls.read" in calls.partition(": ")[2]
    assert "OUTREACH_EXCLUDE_STREAMS=calls" in calls
    assert _line(lines, "stream prospects ").startswith("ok   ")
    assert lines[-1].endswith(" checks, 1 failed")
    setup.set("OUTREACH_EXCLUDE_STREAMS", "calls")
    rc, lines = setup.check(capsys)
    assert rc == 0, lines


def test_a_bad_setting_fails_naming_its_variable_and_skips_what_needs_it(
    setup: Setup, capsys
) -> None:
    setup.set("OUTREACH_PAGE_SIZE", "lots")
    setup.set("OUTREACH_PARTITION_CADENCE", "hourly")
    rc, lines = setup.check(capsys)
    assert rc == 1
    assert "OUTREACH_PAGE_SIZE" in _line(lines, "client settings")
    assert "OUTREACH_PARTITION_CADENCE" in _line(lines, "deployment settings")
    skipped = [line.split(":")[0] for line in lines if line.startswith("skip")]
    assert skipped == ["skip data folder", "skip token store", "skip credentials", "skip streams"]
    assert lines[-1] == "2 checks, 2 failed, 4 skipped"
    assert setup.sb.stats.token_requests == 0


def test_a_token_store_others_can_read_fails(setup: Setup, capsys) -> None:
    rc, _ = setup.check(capsys)
    assert rc == 0
    setup.store.chmod(0o644)
    rc, lines = setup.check(capsys)
    assert rc == 1
    store = _line(lines, "token store")
    assert store.startswith("FAIL token store ") and f"chmod 600 {setup.store}" in store


def test_a_dotenv_file_is_read_as_dagster_reads_it(setup: Setup, capsys, tmp_path: Path) -> None:
    """A ``.env`` in the working folder overrides the shell, as for every ``dagster``
    command; the check says it read it, naming the variables but not their values."""
    (tmp_path / ".env").write_text("OUTREACH_CLIENT_SECRET=wrong-secret-from-dotenv\n")
    setup.secrets.add("wrong-secret-from-dotenv")
    rc, lines = setup.check(capsys)
    assert rc == 1
    assert lines[0] == f"     read {tmp_path / '.env'} as Dagster does (OUTREACH_CLIENT_SECRET)"
    assert "OUTREACH_CLIENT_SECRET" in _line(lines, "credentials")
    (tmp_path / ".env").unlink()
    rc, lines = setup.check(capsys)
    assert rc == 0, lines
