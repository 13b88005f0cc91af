"""The OAuth token manager: one access token shared by every process, minted lazily.

Protocol (see ``token_store`` for why tokens are shared):

1. Use the access token already in memory while it is fresh.
2. Else read the store without locking; use its access token if it is fresh, descends from
   the configured refresh token and has not just been refused by the API.
3. Else take the store's lock and read again (another process may have minted meanwhile).
   If still nothing usable, refresh with the store's newest refresh token (or the
   configured one), write the store, and only then use the new access token.

If the configured refresh token is not the one the store descends from, the user has
re-authorized: the store's tokens are ignored and the configured token is used.

A definitive refusal (``CredentialsRejected``: a wrong client secret, a dead refresh token)
is remembered in the store, under a digest of the credentials, before it is raised: a run's
other steps, other runs and the sensor daemon then fail at once with the same message
instead of each asking the token endpoint again (a wrong secret used to cost one token
request per step, 24 in a 24-stream run). Changing any of the credentials changes the
digest, so a fixed configuration asks at once; ``mint_now`` (``outreach-assets check``)
always asks; and the memory lapses after REJECTION_MEMORY_S, in case the refusal was
lifted at Outreach (an app re-enabled) with nothing changed here.
"""

import threading
import time
from collections.abc import Callable

from outreach_assets.client.log import LoggerLike
from outreach_assets.client.oauth import TokenEndpoint
from outreach_assets.client.token_store import (
    Rejection,
    RejectionStore,
    StoredToken,
    TokenStore,
    credentials_fingerprint,
    fingerprint,
)
from outreach_assets.config.client import ClientSettings
from outreach_assets.errors import CredentialsRejected, OutreachError

REJECTION_MEMORY_S = 3600.0


class ProcessRejections:
    """Rejections remembered in this process only, for a token store that cannot keep them
    (a custom :class:`TokenStore` without ``load_rejection``); keyed by store location."""

    _lock = threading.Lock()
    _by_location: dict[str, Rejection] = {}

    def __init__(self, location: str) -> None:
        self._location = location

    def load_rejection(self) -> Rejection | None:
        with self._lock:
            return self._by_location.get(self._location)

    def save_rejection(self, rejection: Rejection | None) -> None:
        with self._lock:
            if rejection is None:
                self._by_location.pop(self._location, None)
            else:
                self._by_location[self._location] = rejection


class TokenManager:
    """Hands out access tokens; thread-safe, and safe across processes through the store."""

    def __init__(
        self,
        settings: ClientSettings,
        endpoint: TokenEndpoint,
        store: TokenStore,
        logger: LoggerLike,
        on_mint: Callable[[], None] | None = None,
    ) -> None:
        self._configured_refresh = settings.refresh_token
        self._source = fingerprint(settings.refresh_token)
        self._credentials = credentials_fingerprint(
            settings.client_id, settings.client_secret, settings.refresh_token
        )
        self._rejections: RejectionStore = (
            store if isinstance(store, RejectionStore) else ProcessRejections(store.location)
        )
        self._endpoint = endpoint
        self._store = store
        self._log = logger
        self._on_mint = on_mint
        self._lock = threading.Lock()
        self._current: StoredToken | None = None
        self._refused: str | None = None  # fingerprint of the access token the API refused

    @property
    def store_location(self) -> str:
        return self._store.location

    def access_token(self) -> str:
        """A fresh access token, minting one only if no process has a usable one."""
        with self._lock:
            current = self._current
            if current is None or not self._usable(current):
                current = self._load_or_mint()
                self._current = current
            return current.access_token

    def _load_or_mint(self) -> StoredToken:
        token = self._store.load()
        if token is not None and self._usable(token):
            return token
        with self._store.lock():
            token = self._store.load()
            if token is not None and self._usable(token):
                return token  # another process minted while we waited for the lock
            rejection = self._rejections.load_rejection()
            self._raise_if_rejected(rejection)  # a step before us (or we) were refused
            token = self._mint_remembering(token, rejection)
            self._store.save(token)  # before use: a rotated refresh token must not be lost
            return token

    def mint_now(self) -> None:
        """Mint an access token although a usable one may exist, the way a refresh does.

        A cached token proves nothing about the credentials (``outreach-assets check`` must
        catch a wrong client secret), so this always asks the token endpoint; it takes the
        same locks, starts from the same refresh token and saves before use, so a rotated
        refresh token is kept for the next run exactly as after an ordinary refresh.
        """
        with self._lock, self._store.lock():
            rejection = self._rejections.load_rejection()  # asked anyway: the user asks again
            token = self._mint_remembering(self._store.load(), rejection)
            self._store.save(token)
            self._current = token

    def refuse(self, access_token: str) -> None:
        """The API answered 401 to this token: never hand it out again."""
        with self._lock:
            self._refused = fingerprint(access_token)
            if self._current is not None and self._current.access_token == access_token:
                self._current = None

    def _raise_if_rejected(self, rejection: Rejection | None) -> None:
        """Fail as the token endpoint did for these very credentials, without asking it."""
        if rejection is None or rejection.credentials_fingerprint != self._credentials:
            return
        age = time.time() - rejection.rejected_at
        if not 0 <= age < REJECTION_MEMORY_S:
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(rejection.rejected_at))
        raise CredentialsRejected(
            f"{rejection.message} [refused at {when}, remembered in the token store "
            f"{self._store.location}; no token was requested now. Changing the credentials "
            "asks again at once, as does `outreach-assets check`]"
        )

    def _mint_remembering(self, stored: StoredToken | None, seen: Rejection | None) -> StoredToken:
        """Mint; remember a definitive refusal before raising it, forget one on success."""
        try:
            token = self._mint(stored)
        except CredentialsRejected as exc:
            self._remember(Rejection(self._credentials, str(exc), time.time()))
            raise
        if seen is not None:
            self._remember(None)  # these credentials work: the refusal was for others
        return token

    def _remember(self, rejection: Rejection | None) -> None:
        """Best effort: a store that cannot record it must not hide the error being raised."""
        try:
            self._rejections.save_rejection(rejection)
        except OutreachError as exc:
            self._log.warning(f"could not record the token refusal in the store: {exc}")

    def _usable(self, token: StoredToken) -> bool:
        return (
            token.source_fingerprint == self._source
            and token.is_fresh(time.time())
            and fingerprint(token.access_token) != self._refused
        )

    def _mint(self, stored: StoredToken | None) -> StoredToken:
        if stored is not None and stored.source_fingerprint == self._source:
            refresh_token = stored.refresh_token  # the newest one, perhaps rotated since
        else:
            refresh_token = self._configured_refresh
        if stored is not None and stored.source_fingerprint != self._source:
            self._log.info(
                "the configured Outreach refresh token differs from the one the token store "
                f"{self._store.location} descends from; starting from the configured one"
            )
        issued_at = time.time()
        response = self._endpoint.refresh(refresh_token)
        if self._on_mint is not None:
            self._on_mint()
        rotated = response.refresh_token is not None and response.refresh_token != refresh_token
        self._log.info(
            f"minted an Outreach access token valid for {response.expires_in:.0f} s"
            f"{' (refresh token rotated)' if rotated else ''}; saved to {self._store.location}"
        )
        return StoredToken(
            refresh_token=response.refresh_token or refresh_token,
            access_token=response.access_token,
            issued_at=issued_at,
            expires_at=issued_at + response.expires_in,
            source_fingerprint=self._source,
        )
