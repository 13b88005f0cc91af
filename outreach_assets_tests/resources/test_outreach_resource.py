"""OutreachResource: validation, secret hiding, EnvVar resolution, and use inside Dagster."""

import dagster as dg
import pytest
from pydantic import ValidationError

from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
from outreach_assets.config.declare import declared
from outreach_assets.errors import ConfigError
from outreach_assets.resources.outreach import OutreachResource, outreach_resource_from_env
from outreach_assets_tests.support.clients import INCREMENTAL, ListLogger

SECRET = "literal-client-secret-123"
REFRESH = "literal-refresh-token-456"


def _literal(**overrides) -> OutreachResource:
    values = {
        "client_id": "cid",
        "client_secret": SECRET,
        "redirect_uri": "https://example.com/cb",
        "refresh_token": REFRESH,
        **overrides,
    }
    return OutreachResource(**values)


def _sandbox_env(sb, monkeypatch, tmp_path) -> None:
    cfg = sb.config
    for name, value in {
        "OUTREACH_CLIENT_ID": cfg.client_id,
        "OUTREACH_CLIENT_SECRET": cfg.client_secret,
        "OUTREACH_REDIRECT_URI": cfg.redirect_uri,
        "OUTREACH_REFRESH_TOKEN": cfg.refresh_token,
        "OUTREACH_API_BASE_URL": sb.api_base_url,
        "OUTREACH_TOKEN_URL": sb.token_url,
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens.json"),
        "OUTREACH_PAGE_SIZE": "10",
    }.items():
        monkeypatch.setenv(name, value)


def test_repr_and_str_hide_secrets() -> None:
    resource = _literal()
    for text in (repr(resource), str(resource), repr(resource.to_settings())):
        assert SECRET not in text and REFRESH not in text
        assert "cid" in text


@pytest.mark.parametrize(
    ("field", "value", "env"),
    [
        ("page_size", 5000, "OUTREACH_PAGE_SIZE"),
        ("quota_limit", 0.0, "OUTREACH_QUOTA_LIMIT"),
        ("api_base_url", "api.outreach.io", "OUTREACH_API_BASE_URL"),
        ("min_page_size", 0, "OUTREACH_MIN_PAGE_SIZE"),
        ("client_secret", "", "OUTREACH_CLIENT_SECRET"),
    ],
)
def test_bad_literals_fail_at_definition_time(field, value, env) -> None:
    with pytest.raises(ValidationError) as err:
        _literal(**{field: value})
    message = str(err.value)
    assert f"{field} must be" in message and env in message
    assert SECRET not in message and REFRESH not in message


def test_envvar_fields_are_checked_when_resolved(monkeypatch) -> None:
    resource = _literal(refresh_token=dg.EnvVar("TEST_RT"), page_size=dg.EnvVar.int("TEST_PS"))
    monkeypatch.setenv("TEST_RT", REFRESH)
    monkeypatch.setenv("TEST_PS", "5000")
    with pytest.raises(ConfigError, match="page_size must be an integer from 1 to 1000"):
        resource.to_settings()
    monkeypatch.delenv("TEST_RT")
    monkeypatch.setenv("TEST_PS", "50")
    with pytest.raises(ConfigError, match="TEST_RT is not set"):
        resource.to_settings()


def test_from_env_uses_envvars_for_credentials_and_reads_knobs() -> None:
    resource = outreach_resource_from_env(
        {"OUTREACH_PAGE_SIZE": "200", "OUTREACH_QUOTA_LIMIT": "0.25", "OUTREACH_SECRET": "x"}
    )
    assert (resource.page_size, resource.quota_limit) == (200, 0.25)
    assert isinstance(resource.client_secret, dg.EnvVar)
    assert resource.client_secret.env_var_name == "OUTREACH_CLIENT_SECRET"
    with pytest.raises(ConfigError, match="OUTREACH_PAGE_SIZE"):
        outreach_resource_from_env({"OUTREACH_PAGE_SIZE": "0"})


def test_get_client_outside_dagster(sandbox_factory, tmp_path) -> None:
    sb = sandbox_factory(sizes={INCREMENTAL.name: 25})
    resource = OutreachResource(
        client_id=sb.config.client_id,
        client_secret=sb.config.client_secret,
        redirect_uri=sb.config.redirect_uri,
        refresh_token=sb.config.refresh_token,
        api_base_url=sb.api_base_url,
        token_url=sb.token_url,
        token_store_path=str(tmp_path / "tokens.json"),
    )
    logger = ListLogger()
    client = resource.get_client(logger)
    assert isinstance(client, OutreachClient) and resource.get_client() is client
    ids = [
        r["id"]
        for p in resource.get_client().iter_pages(INCREMENTAL, page_size=10)
        for r in p.records
    ]
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert logger.matching(f"{INCREMENTAL.name}: done, 3 pages, 25 records")


def test_setup_for_execution_with_an_init_context(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 12})
    _sandbox_env(sb, monkeypatch, tmp_path)
    resource = outreach_resource_from_env()
    with dg.build_init_resource_context() as context:
        resource.setup_for_execution(context)
        try:
            pages = list(resource.get_client().iter_pages(INCREMENTAL))
        finally:
            resource.teardown_after_execution(context)
    assert [p.page_size for p in pages] == [10, 10]
    assert sum(len(p.records) for p in pages) == 12


def test_materialize_an_asset_with_the_resource(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 35})
    _sandbox_env(sb, monkeypatch, tmp_path)

    @dg.asset
    def record_count(outreach: OutreachResource) -> int:
        return sum(len(page.records) for page in outreach.get_client().iter_pages(INCREMENTAL))

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [record_count], resources={"outreach": outreach_resource_from_env()}, instance=instance
        )
        assert result.success
        assert result.output_for_node("record_count") == 35
        messages = [e.message for e in instance.all_logs(result.run_id)]
    text = "\n".join(m for m in messages if m)
    assert "minted an Outreach access token" in text  # client logs go to context.log
    assert f"{INCREMENTAL.name}: done, 4 pages, 35 records" in text
    for secret in (sb.config.client_secret, sb.config.refresh_token):
        assert secret not in text


def test_resource_fields_are_the_declared_client_settings() -> None:
    """One declaration per setting: the resource's fields, defaults and help (which the UI
    shows) are generated from ``ClientSettings``, never written a second time."""
    fields = OutreachResource.model_fields
    settings = declared(ClientSettings)
    assert list(fields) == list(settings)
    for name, item in settings.items():
        described = fields[name].description or ""
        assert item.setting.help in described and item.env in described, name
        assert fields[name].is_required() is item.required, name
        if not item.required:
            assert fields[name].default == item.default, name


def test_a_bad_literal_and_a_bad_variable_get_the_same_message(monkeypatch) -> None:
    with pytest.raises(ValidationError) as literal:
        _literal(max_concurrent_slices=0)
    monkeypatch.setenv("OUTREACH_MAX_CONCURRENT_SLICES", "0")
    with pytest.raises(ConfigError) as variable:
        outreach_resource_from_env()
    rule = "max_concurrent_slices must be an integer from 1 (never slice a scan) to 8"
    assert rule in str(literal.value)
    assert rule in str(variable.value)
