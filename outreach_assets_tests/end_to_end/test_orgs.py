"""Two Outreach orgs in one deployment (``OUTREACH_ORGS``), each against its own sandbox.

Each org's sandbox has its own seed, record count, client id, secret and refresh token,
so an org that read the other's credentials, sent a request to the other's server or wrote
into the other's folder shows as a refused token, a stray request or a file that does not
match its own sandbox's truth.
"""

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pyarrow.parquet as pq
import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.cli import main
from outreach_assets.config import ConfigError
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer

DAYS = 3  # partitions, today included
STREAMS = {"acme": ("prospects", "accounts"), "globex": ("prospects", "calls")}
SANDBOXES = {"acme": {"seed": 11, "records": 24}, "globex": {"seed": 22, "records": 37}}


def _days() -> list[str]:
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=DAYS - 1 - n)).isoformat() for n in range(DAYS)]


def _org_variables(org: str, sb: SandboxServer) -> dict[str, str]:
    """The sandbox's OUTREACH_* settings as org ``org``'s own variables."""
    prefix = f"OUTREACH_{org.upper()}_"
    return {prefix + k.removeprefix("OUTREACH_"): v for k, v in sb.environment().items()}


def _start(factory: Callable[..., SandboxServer], org: str) -> SandboxServer:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return factory(
        start=f"{_days()[0]}T00:00:00Z",
        end=now,
        client_id=f"{org}-client-id",
        client_secret=f"{org}-client-secret",
        refresh_token=f"{org}-refresh-token",
        **SANDBOXES[org],
    )


@pytest.fixture
def two_orgs(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[dict[str, SandboxServer], dict[str, str], dg.DagsterInstance]]:
    """Two sandboxes and the environment of a two-org deployment.

    Shared settings (start date, streams, data folder) are unprefixed and globex overrides
    the streams; globex's client secret is only the shared OUTREACH_CLIENT_SECRET, so the
    fallback of a secret is exercised while acme's own one must win over it.
    """
    for name in [n for n in os.environ if n.startswith("OUTREACH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # the default token stores
    sandboxes = {org: _start(sandbox_factory, org) for org in STREAMS}
    env = {
        "OUTREACH_ORGS": "acme,globex",
        "OUTREACH_START_DATE": _days()[0],
        "OUTREACH_STREAMS": ",".join(STREAMS["acme"]),
        "OUTREACH_GLOBEX_STREAMS": ",".join(STREAMS["globex"]),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        **_org_variables("acme", sandboxes["acme"]),
        **_org_variables("globex", sandboxes["globex"]),
    }
    env["OUTREACH_CLIENT_SECRET"] = env.pop("OUTREACH_GLOBEX_CLIENT_SECRET")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.ephemeral() as instance:
        yield sandboxes, env, instance


def _ids_landed(folder: Path, stream: str) -> dict[int, str]:
    """id -> cursor (ISO text) over every partition file of ``stream`` in ``folder``."""
    cursor = get_stream(stream).cursor
    landed: dict[int, str] = {}
    for path in sorted((folder / stream).glob("*.parquet")):
        table = pq.read_table(path)
        ids = table.column("id").to_pylist()
        cursors = table.column(cursor).to_pylist() if cursor else [None] * len(ids)
        for record_id, moment in zip(ids, cursors, strict=True):
            assert record_id not in landed, f"{path}: id {record_id} landed twice"
            landed[record_id] = "" if moment is None else _ms(moment)
    return landed


def _ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _truth(sb: SandboxServer, stream: str) -> dict[int, str]:
    return {i: c if get_stream(stream).cursor else "" for i, c in sb.truth(stream).items()}


def _sync(defs: dg.Definitions, org: str, instance: dg.DagsterInstance) -> None:
    """The org's own sync job over every day, as ``dagster job execute`` would run it."""
    keys = _days()
    result = defs.resolve_job_def(f"outreach_sync_job__{org}").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )
    assert result.success


def test_two_orgs_sync_each_its_own_sandbox_into_its_own_files(
    two_orgs: tuple[dict[str, SandboxServer], dict[str, str], dg.DagsterInstance],
    tmp_path: Path,
) -> None:
    sandboxes, env, instance = two_orgs
    defs = build_defs(env)

    for org in STREAMS:
        _sync(defs, org, instance)

    for org, sb in sandboxes.items():
        folder = tmp_path / "data" / org
        streams = STREAMS[org]
        expected = {*streams, *(f"{s}_current" for s in streams), "custom_fields"}
        assert {p.name for p in folder.iterdir()} == expected  # nothing of the other org
        for stream in streams:
            assert _ids_landed(folder, stream) == _truth(sb, stream), (org, stream)
            current = pq.read_table(folder / f"{stream}_current" / f"{stream}_current.parquet")
            assert set(current.column("id").to_pylist()) == set(sb.truth(stream))
        # The sandbox served this org's streams and nothing else; no credential was refused.
        paths = {p for p in sb.stats.requests_by_path if p.startswith("/api/v2/")}
        served = {f"/api/v2/{get_stream(s).path}" for s in streams} | {"/api/v2/types"}
        assert paths == served, (org, paths)
        assert not {400, 401, 403} & set(sb.stats.status_counts), sb.stats.status_counts
    assert {p.name for p in (tmp_path / "data").iterdir()} == set(STREAMS)
    # The two truths differ, so landing one org's records in the other's files would show.
    assert sandboxes["acme"].truth("prospects") != sandboxes["globex"].truth("prospects")

    folder = tmp_path / "home" / "outreach_assets" / "tokens"
    stores = [p for p in folder.glob("*.json") if not p.name.endswith(".quota.json")]
    assert len(stores) == 2  # one default token store per org
    held = {json.loads(p.read_text())["refresh_token"] for p in stores}
    assert held == {sb.current_refresh_token for sb in sandboxes.values()}


def test_each_org_has_its_own_keys_names_pool_and_resources(
    two_orgs: tuple[dict[str, SandboxServer], dict[str, str], dg.DagsterInstance],
) -> None:
    _, env, _ = two_orgs
    defs = build_defs(env)
    specs = {spec.key: spec for a in defs.assets or [] for spec in a.specs}  # type: ignore[union-attr]
    keys = {k.to_user_string() for k in specs}
    assert keys == {
        f"outreach/{org}/{name}"
        for org, streams in STREAMS.items()
        for s in streams
        for name in (s, f"{s}_current", f"{s}_deletions")
    } | {"outreach/acme/custom_fields", "outreach/globex/custom_fields"}
    for key, spec in specs.items():
        org = key.path[1]
        assert spec.group_name == f"outreach_{org}"
        assert f"`{org}`" in (spec.description or "")
    assets = {a.key: a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)}
    prospects = assets[dg.AssetKey(["outreach", "globex", "prospects"])]
    assert prospects.required_resource_keys >= {"outreach_globex", "io_manager_globex"}
    # ("io_manager" is Dagster's own default, for the checks' outputs; it holds no files.)
    assert not prospects.required_resource_keys & {"outreach", "outreach_acme", "io_manager_acme"}
    assert prospects.op.pool == "outreach_api_globex"
    names = {j.name for j in defs.jobs or []}
    names |= {s.name for s in defs.schedules or []} | {s.name for s in defs.sensors or []}
    for org in STREAMS:
        for base in (
            "outreach_sync_job",
            "outreach_current_state_job",
            "outreach_reconcile_job",
            "outreach_close_out",
            "outreach_open_period_refresh",
            "outreach_reconcile",
            "outreach_change_sensor",
            "outreach_current_state_automation",
        ):
            assert f"{base}__{org}" in names
    assert not {n for n in names if "__" not in n}
    job = defs.resolve_job_def("outreach_reconcile_job__acme")
    assert "`acme`" in (job.description or "")
    resources = defs.resources or {}
    assert set(resources) == {"outreach_acme", "io_manager_acme", "outreach_globex",
                              "io_manager_globex"}  # fmt: skip
    # Secrets are references by name: acme's own, globex's the shared one it falls back to.
    acme, globex = resources["outreach_acme"], resources["outreach_globex"]
    assert acme.client_secret.env_var_name == "OUTREACH_ACME_CLIENT_SECRET"
    assert globex.client_secret.env_var_name == "OUTREACH_CLIENT_SECRET"
    assert globex.client_id.env_var_name == "OUTREACH_GLOBEX_CLIENT_ID"
    assert resources["io_manager_globex"].base_dir.endswith("/data/globex")


def test_without_orgs_the_single_org_names_stay_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("OUTREACH_")]:
        monkeypatch.delenv(name)
    defs = build_defs({"OUTREACH_STREAMS": "prospects"})
    keys = {k.to_user_string() for a in defs.assets or [] for k in a.keys}  # type: ignore[union-attr]
    assert keys == {
        "outreach/prospects",
        "outreach/prospects_current",
        "outreach/prospects_deletions",
        "outreach/custom_fields",
    }
    assert set(defs.resources or {}) == {"outreach", "io_manager"}
    assert "outreach_sync_job" in {j.name for j in defs.jobs or []}
    assert "outreach_change_sensor" in {s.name for s in defs.sensors or []}
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    stream = next(a for a in assets if a.key.path[-1] == "prospects")
    assert stream.op.pool == "outreach_api"
    assert stream.specs_by_key[stream.key].group_name == "outreach"
    resource = (defs.resources or {})["outreach"]
    assert resource.client_secret.env_var_name == "OUTREACH_CLIENT_SECRET"
    assert resource.token_store_path is None  # the default file, as before


def test_orgs_sharing_one_oauth_app_get_separate_default_token_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    env = {"OUTREACH_ORGS": "acme,globex", "OUTREACH_CLIENT_ID": "one-app"}
    resources = build_defs(env).resources or {}
    stores = {org: resources[f"outreach_{org}"].token_store_path for org in ("acme", "globex")}
    assert stores["acme"] != stores["globex"]
    assert all(s.startswith(str(tmp_path)) for s in stores.values())


def test_a_bad_org_setting_fails_the_load_naming_the_org_and_its_variable() -> None:
    env = {"OUTREACH_ORGS": "acme,globex", "OUTREACH_GLOBEX_START_DATE": "someday"}
    with pytest.raises(ConfigError) as err:
        build_defs(env)
    message = str(err.value)
    assert message.startswith("org globex: OUTREACH_GLOBEX_START_DATE='someday'"), message
    assert "\n" not in message
    with pytest.raises(ConfigError, match=r"^OUTREACH_ORGS='Acme'"):
        build_defs({"OUTREACH_ORGS": "Acme"})


# ##### COMMANDS


@pytest.fixture
def cli_orgs(
    two_orgs: tuple[dict[str, SandboxServer], dict[str, str], dg.DagsterInstance],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, SandboxServer]:
    """The two-org environment, in an empty working folder (no .env), two streams each."""
    monkeypatch.chdir(tmp_path)
    return two_orgs[0]


def test_check_reads_the_chosen_orgs_variables(
    cli_orgs: dict[str, SandboxServer], capsys: pytest.CaptureFixture[str]
) -> None:
    acme, globex = cli_orgs["acme"], cli_orgs["globex"]
    acme.reset_stats()
    globex.reset_stats()

    assert main(["check", "--org", "acme"]) == 0

    out = capsys.readouterr().out
    assert "0 failed" in out.splitlines()[-1]
    assert "org acme:" in out
    assert acme.stats.token_requests > 0 and globex.stats.api_requests == 0
    checked = {p for p in acme.stats.requests_by_path if p.startswith("/api/v2/")}
    assert checked == {f"/api/v2/{get_stream(s).path}" for s in STREAMS["acme"]}
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == 2
    assert "OUTREACH_ORGS names acme, globex: choose one with --org" in capsys.readouterr().err


def test_check_names_the_orgs_own_variable_in_a_failure(
    cli_orgs: dict[str, SandboxServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_GLOBEX_PAGE_SIZE", "0")
    assert main(["check", "--org", "globex"]) == 1
    out = capsys.readouterr().out
    assert "OUTREACH_GLOBEX_PAGE_SIZE" in out
    assert "OUTREACH_PAGE_SIZE" not in out.replace("OUTREACH_GLOBEX_PAGE_SIZE", "")


def test_auth_url_uses_the_chosen_orgs_app(
    cli_orgs: dict[str, SandboxServer], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["auth", "url", "--org", "globex"]) == 0
    query = parse_qs(urlsplit(capsys.readouterr().out.strip()).query)
    assert query["client_id"] == [cli_orgs["globex"].config.client_id]
    scopes = set(query["scope"][0].split())
    assert scopes == {get_stream(s).scope for s in STREAMS["globex"]}  # globex's own streams
