"""``OUTREACH_ORGS``: org names, each org's view of the environment and its fallbacks."""

import pytest

from outreach_assets.client import StoredToken, open_token_store
from outreach_assets.client.token_store import fingerprint
from outreach_assets.config import ConfigError, client_settings_from_env
from outreach_assets.config.deployment import deployment_settings_from_env
from outreach_assets.config.orgs import choose_org, environments, org_environment, orgs_from_env

SHARED = {
    "OUTREACH_ORGS": "acme,globex",
    "OUTREACH_CLIENT_ID": "shared-id",
    "OUTREACH_CLIENT_SECRET": "shared-secret",
    "OUTREACH_REDIRECT_URI": "https://example.com/callback",
    "OUTREACH_REFRESH_TOKEN": "shared-token",
    "OUTREACH_PAGE_SIZE": "200",
    "OUTREACH_START_DATE": "2024-01-01",
}


def test_an_org_reads_its_own_variable_first_then_the_shared_one() -> None:
    environ = {**SHARED, "OUTREACH_ACME_CLIENT_ID": "acme-id", "OUTREACH_ACME_PAGE_SIZE": "50"}
    acme = client_settings_from_env(org_environment(environ, "acme"))
    globex = client_settings_from_env(org_environment(environ, "globex"))
    assert (acme.client_id, acme.page_size) == ("acme-id", 50)
    assert (globex.client_id, globex.page_size) == ("shared-id", 200)
    assert acme.client_secret == globex.client_secret == "shared-secret"
    globex_start = {**environ, "OUTREACH_GLOBEX_START_DATE": "2024-02-01"}
    starts = {
        org: deployment_settings_from_env(org_environment(globex_start, org)).start_date.date()
        for org in ("acme", "globex")
    }
    assert {org: d.isoformat() for org, d in starts.items()} == {
        "acme": "2024-01-01",
        "globex": "2024-02-01",
    }


def test_an_empty_org_variable_falls_back_like_an_unset_one() -> None:
    view = org_environment({**SHARED, "OUTREACH_ACME_PAGE_SIZE": " "}, "acme")
    assert client_settings_from_env(view).page_size == 200


def test_data_folders_and_token_stores_are_per_org_when_shared_or_unset() -> None:
    views = {v.org: v for v in environments(SHARED)}
    assert views["acme"]["OUTREACH_DATA_DIR"] == "data/outreach/acme"
    assert views["globex"]["OUTREACH_DATA_DIR"] == "data/outreach/globex"
    assert "OUTREACH_TOKEN_STORE" not in views["acme"]  # the default file, named by org
    shared = {**SHARED, "OUTREACH_DATA_DIR": "s3://bucket/x/", "OUTREACH_TOKEN_STORE": "/t/s.json"}
    views = {v.org: v for v in environments(shared)}
    assert views["acme"]["OUTREACH_DATA_DIR"] == "s3://bucket/x/acme"
    assert views["globex"]["OUTREACH_TOKEN_STORE"] == "/t/globex/s.json"
    own = {**shared, "OUTREACH_ACME_DATA_DIR": "/acme-data"}
    assert org_environment(own, "acme")["OUTREACH_DATA_DIR"] == "/acme-data"


@pytest.mark.parametrize(
    "variable", ["OUTREACH_{}_DATA_DIR", "OUTREACH_{}_TOKEN_STORE"], ids=["data", "tokens"]
)
def test_two_orgs_given_the_same_folder_or_store_are_refused(variable: str) -> None:
    environ = {**SHARED, **{variable.format(o): "/same/place.json" for o in ("ACME", "GLOBEX")}}
    with pytest.raises(ConfigError, match="orgs acme and globex would share files"):
        environments(environ)


def test_orgs_sharing_one_database_token_store_keep_their_own_rows(postgres_server) -> None:
    """Two orgs of one OAuth app (same token URL and client id) in one database: each org's
    settings carry the org, so each saves and loads its own row."""
    environ = {**SHARED, "OUTREACH_TOKEN_STORE": postgres_server.create_database()}
    acme, globex = (client_settings_from_env(view) for view in environments(environ))
    assert (acme.org, globex.org) == ("acme", "globex")
    assert acme.token_store_path == globex.token_store_path
    stores = [
        open_token_store(s.token_store_path, s.token_url, s.client_id, s.org)
        for s in (acme, globex)
    ]
    token = StoredToken("acme-refresh", "acme-access", 1.0, 2.0, fingerprint("shared-token"))
    stores[0].save(token)
    assert stores[0].load() == token
    assert stores[1].load() is None
    assert client_settings_from_env({**SHARED, "OUTREACH_ORGS": ""}).org == ""  # one org


@pytest.mark.parametrize(
    ("orgs", "says"),
    [
        ("Acme", "'Acme' is not an org name"),
        ("acme,glo-bex", "'glo-bex' is not an org name"),
        ("acme,", "'' is not an org name"),
        ("acme, acme", "acme named more than once"),
        ("x,x_min", "org 'x_min' would read OUTREACH_X_MIN_PAGE_SIZE"),
        ("exclude", "OUTREACH_EXCLUDE_STREAMS, which is already the shared setting"),
    ],
)
def test_bad_org_names_are_refused_in_one_line_naming_the_variable(orgs: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        orgs_from_env({"OUTREACH_ORGS": orgs})
    message = str(err.value)
    assert "OUTREACH_ORGS" in message and says in message
    assert "\n" not in message


def test_names_are_trimmed_and_unset_means_one_org() -> None:
    assert orgs_from_env({"OUTREACH_ORGS": " acme , globex_2 "}) == ("acme", "globex_2")
    assert orgs_from_env({"OUTREACH_ORGS": ""}) == ()
    (single,) = environments({"OUTREACH_PAGE_SIZE": "7"})
    assert single.org == "" and dict(single) == {"OUTREACH_PAGE_SIZE": "7"}


def test_messages_name_the_variable_the_org_read() -> None:
    view = org_environment({**SHARED, "OUTREACH_ACME_PAGE_SIZE": "0"}, "acme")
    with pytest.raises(ConfigError) as err:
        client_settings_from_env(view)
    said = view.say(str(err.value))
    assert said.startswith("org acme: ") and "OUTREACH_ACME_PAGE_SIZE" in said
    fallback = org_environment(SHARED, "globex")
    assert "OUTREACH_PAGE_SIZE" in fallback.say("fix OUTREACH_PAGE_SIZE")  # read from there
    assert "OUTREACH_GLOBEX_USER_AGENT" in fallback.say("set OUTREACH_USER_AGENT")  # unset


def test_choosing_an_org_for_a_command() -> None:
    assert choose_org(SHARED, "globex").org == "globex"
    with pytest.raises(ConfigError, match="choose one with --org"):
        choose_org(SHARED, None)
    with pytest.raises(ConfigError, match="not in OUTREACH_ORGS"):
        choose_org(SHARED, "initech")
    assert choose_org({**SHARED, "OUTREACH_ORGS": "acme"}, None).org == "acme"
    without = {k: v for k, v in SHARED.items() if k != "OUTREACH_ORGS"}
    assert choose_org(without, None).org == ""
    with pytest.raises(ConfigError, match="--org acme needs OUTREACH_ORGS"):
        choose_org(without, "acme")


def test_orgs_with_different_step_processes_are_refused_in_one_line() -> None:
    from outreach_assets.definitions import build_defs

    environ = {**SHARED, "OUTREACH_STEP_PROCESSES": "3"}
    build_defs(environ)  # the same for both: one executor
    with pytest.raises(ConfigError, match="the orgs' STEP_PROCESSES differ"):
        build_defs({**environ, "OUTREACH_GLOBEX_STEP_PROCESSES": "2"})
