"""Which token store a setting names: one function, so the client, ``outreach-assets check``
and ``outreach-assets auth exchange`` always agree on where the tokens are.

A module of its own because it knows both stores, and the database store builds on
``token_store`` (a choice made in ``token_store`` would import it back, a cycle).
"""

from urllib.parse import urlsplit

from outreach_assets.client.pg_quota_ledger import PostgresQuotaLedger
from outreach_assets.client.pg_token_store import PostgresTokenStore, is_database_url, mask_url
from outreach_assets.client.quota_ledger import (
    FileQuotaLedger,
    QuotaLedger,
    file_ledger_path,
    ledger_key,
)
from outreach_assets.client.token_store import FileTokenStore, TokenStore, default_store_path
from outreach_assets.config import ClientSettings, env
from outreach_assets.errors import ConfigError


def open_token_store(
    location: str | None, token_url: str, client_id: str, org: str = ""
) -> TokenStore:
    """The store ``OUTREACH_TOKEN_STORE`` names: unset -> the default file, a
    ``postgresql://`` (or ``postgres://``) URL -> a row in that database, else a file path.

    Nothing is opened here: a database store connects on first use, so building a client
    never waits on the database.
    """
    if location is None or not location.strip():
        return FileTokenStore(default_store_path(token_url, client_id, org))
    if is_database_url(location):
        return PostgresTokenStore(location, token_url, client_id, org)
    scheme = urlsplit(location.strip()).scheme
    if "://" in location and len(scheme) > 1:  # "C:\\..." has a one-letter "scheme"
        raise ConfigError(
            f"{env('token_store_path')}={mask_url(location.strip())} is a URL the token store "
            "does not support; use a postgresql://user@host:port/db URL or a file path"
        )
    return FileTokenStore(location)


def open_quota_ledger(store: TokenStore, settings: ClientSettings) -> QuotaLedger | None:
    """Where the processes sharing ``store`` pool their rate-limit view: a file beside a
    file store, a table in a database store's database; ``None`` (this process only) for a
    store of another kind."""
    s = settings
    key = ledger_key(s.api_base_url, s.token_url, s.client_id, s.org, store.location)
    if isinstance(store, FileTokenStore):
        return FileQuotaLedger(file_ledger_path(store.path), key)
    if isinstance(store, PostgresTokenStore):
        return PostgresQuotaLedger(store.url, key)
    return None
