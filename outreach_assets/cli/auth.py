"""The ``auth`` commands: from an Outreach app's settings to a refresh token runs can use.

``auth url`` prints the page to approve; ``auth exchange`` trades the code from the redirect
for tokens and puts them where the resource looks: the env file and the shared token store.
"""

import argparse
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from outreach_assets.cli.support import PROG, CommandError, log

if TYPE_CHECKING:
    from outreach_assets.client import TokenResponse
    from outreach_assets.config import ClientSettings


def cmd_auth_url(args: argparse.Namespace) -> int:
    from outreach_assets.client import authorize_url
    from outreach_assets.config import deployment_settings_from_env, env
    from outreach_assets.config.client import DEFAULT_AUTHORIZE_URL
    from outreach_assets.config.orgs import choose_org

    view = choose_org(os.environ, args.org)  # the org's variables, else the shared ones
    variables = (env("client_id"), env("redirect_uri"))
    missing = [view.source(v) for v in variables if not view.get(v)]
    if missing:
        raise CommandError(f"set {' and '.join(missing)} first (your Outreach app's values)")
    print(
        authorize_url(
            view[variables[0]],
            view[variables[1]],
            sorted({s.scope for s in deployment_settings_from_env(view).selected_streams()}),
            base=args.authorize_url or DEFAULT_AUTHORIZE_URL,
            state=args.state,
        )
    )
    return 0


def cmd_auth_exchange(args: argparse.Namespace) -> int:
    """Trade the code, then put the tokens where the resource looks for them.

    The refresh token goes to the env file the user loads; the access token and refresh token
    go to the token store under the fingerprint of that same refresh token, so the first run
    with it reuses the access token instead of minting one (Outreach allows one a minute,
    and each mint counts towards the 100 after which a refresh token dies).
    """
    from outreach_assets.client import exchange_code
    from outreach_assets.config import ConfigError, client_settings_from_env, env
    from outreach_assets.config.orgs import choose_org
    from outreach_assets.resources import with_org_token_store

    view = with_org_token_store(choose_org(os.environ, args.org))  # the org's runs' store
    refresh_var = view.own(env("refresh_token"))  # an org's token goes to its own variable
    try:
        settings = client_settings_from_env(view, for_code_exchange=True)
    except ConfigError as exc:
        raise ConfigError(view.say(str(exc))) from None
    env_file = Path(args.env_file)
    _check_writable(env_file)  # before the exchange: a code works once
    issued_at = time.time()
    tokens = exchange_code(settings, args.code, logger=log)
    if not tokens.refresh_token:
        raise CommandError("Outreach answered without a refresh token; check the app's scopes")
    refresh_token = tokens.refresh_token
    store = _save_tokens(settings, tokens, refresh_token, issued_at)
    _write_env_line(env_file, refresh_var, refresh_token)
    scopes = f" (scopes: {tokens.scope})" if tokens.scope else ""
    print(f"Authorized{scopes}. {refresh_var} written to {env_file} (mode 0600).")
    if store is not None:
        print(f"Access and refresh tokens saved to the token store {store}.")
    print(f"{env_file} needs these lines ({refresh_var} is there already):")
    for line in env_lines(view, refresh_token, store, show_token=args.print_token):
        print(line)
    return 0


def _save_tokens(
    settings: "ClientSettings", tokens: "TokenResponse", refresh_token: str, issued_at: float
) -> str | None:
    """Write the fresh tokens to the store the client will use; returns its location.

    The refresh token is already in the env file, so a store that cannot be written costs
    one token mint on the first run, not the authorization: warn and carry on.
    """
    from outreach_assets.client import StoredToken, open_token_store
    from outreach_assets.client.token_store import fingerprint
    from outreach_assets.errors import ConfigError

    token = StoredToken(
        refresh_token=refresh_token,
        access_token=tokens.access_token,
        issued_at=issued_at,
        expires_at=issued_at + tokens.expires_in,
        source_fingerprint=fingerprint(refresh_token),
    )
    try:  # opening may fail too (no database driver): the code is spent, warn and go on
        store = open_token_store(
            settings.token_store_path, settings.token_url, settings.client_id, settings.org
        )
        with store.lock():
            store.save(token)
    except ConfigError as exc:
        print(f"{PROG}: warning: {exc}; the first run will mint a new token", file=sys.stderr)
        return None
    return store.location


def env_lines(
    environ: Mapping[str, str], refresh_token: str, store: str | None, *, show_token: bool
) -> list[str]:
    """The ``.env`` lines for the client: settings in full, secrets as placeholders.

    Required settings always, optional ones when set. The token store's path is spelled
    out so runs find the tokens whatever their ``DAGSTER_HOME`` (``dagster dev`` without one
    uses a temporary folder). An org's view (``config.orgs``) names the org's own variables.
    """
    from outreach_assets.config import ClientSettings
    from outreach_assets.config.client import SECRETS
    from outreach_assets.config.declare import declared
    from outreach_assets.config.orgs import OrgEnvironment

    lines = []
    for name, item in declared(ClientSettings).items():
        var = item.env
        shown = environ.own(var) if isinstance(environ, OrgEnvironment) else var
        if name == "refresh_token":
            value = refresh_token if show_token else "<written to the env file; see --print-token>"
        elif name in SECRETS:
            value = f"<your {name.replace('_', ' ')}>"
        elif name == "token_store_path" and store is not None:
            value = store
        elif item.required or environ.get(var):
            value = environ.get(var, "")
        else:
            continue
        lines.append(f"{shown}={value}")
    return lines


def _check_writable(path: Path) -> None:
    if path.is_dir() or not os.access(path.parent, os.W_OK | os.X_OK):
        raise CommandError(f"cannot write --env-file {path}: not a file in a writable folder")


def _write_env_line(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in a dotenv file, keeping its other lines; readable by owner only."""
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{name}=")] + [f"{name}={value}"]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
