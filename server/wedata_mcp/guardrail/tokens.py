"""Confirmation tokens: HMAC-signed, bound to one exact request, its credential, region and endpoint.

A token is `wdc1.<payload>.<mac>` where payload is base64url JSON `{"b": binding, "e": expiry, "n": nonce,
"p": principal digest, ...}` and mac is HMAC-SHA256 over the payload with the server's secret. Replicas that
share the secret accept each other's tokens; a per-process random secret (the default) means a restart voids
every token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREFIX = "wdc1"


class TokenError(Exception):
    """The confirmation token cannot authorize this request; `str()` says why and what to do."""


class PrincipalMismatchError(TokenError):
    """The token was previewed for another principal (DESIGN.md invariant 7)."""


@dataclass(frozen=True, slots=True)
class Totals:
    """What the dry run resolved, signed into the token so that the confirmation question states it without a
    look-up: instances that rerun, selected and downstream, by project, and how many were not found."""

    total: int
    selected: int  # found, whether or not they rerun themselves
    downstream: int
    by_project: tuple[tuple[str, int], ...]  # of the total
    not_found: int
    reruns_selection: bool = True  # False for RerunType 3: only the downstream reruns
    waiting: int | None = 0  # instances outside the rerun that wait on it (Resolution.waiting); None: not checked


def _pack(totals: Totals) -> list[Any]:
    projects = [list(p) for p in totals.by_project]
    t = totals
    return [t.total, t.selected, t.downstream, projects, t.not_found, t.reruns_selection, t.waiting]


def _unpack(data: Any) -> Totals:
    # Five fields: a token of the previous release (a replica during a rolling deploy). It gave RerunType 3's
    # selected count as 0, and no token was ever minted for an empty selection.
    # Six: a token of the release before this one, whose preview did not look for instances waiting on the rerun.
    if len(data) == 5:
        data = [*data, data[1] != 0]
    if len(data) == 6:
        data = [*data, None]  # not looked for: unknown, never "nothing waits"
    total, selected, downstream, projects, not_found, reruns_selection, waiting = data
    by_project = tuple((str(p), int(n)) for p, n in projects)
    counts = int(total), int(selected), int(downstream), by_project, int(not_found)
    return Totals(*counts, bool(reruns_selection), None if waiting is None else int(waiting))


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    token_id: str
    expires_at: float
    state_digest: str | None = None  # the selected instances' states at the dry run, for the stale check
    asked: str | None = None  # a resolved SearchCondition: the binding of the request as asked, before resolution
    totals: Totals | None = None
    generation: str = ""  # the token store's generation at the dry run (see guardrail/redis_store.py)


def principal_digest(principal: str) -> str:
    """What a token carries of the person it was previewed for: a digest, so the token (which the model sees)
    names nobody, and a principal that stands for a bearer token (a hash already) is hashed once more."""
    return _b64(hashlib.sha256(b"wedata-mcp principal\0" + principal.encode()).digest()[:18])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mismatch(minted: dict[str, str], now: dict[str, str] | None) -> str:
    """Why a token does not fit this request, naming the arguments that differ when both sides say."""
    again = "; run a new dry run with exactly these arguments"
    if not minted or now is None:
        return (
            "ConfirmationToken was issued for a different request (arguments, credentials, region or endpoint "
            "changed)" + again
        )
    changed = sorted(k for k in minted.keys() & now.keys() if minted[k] != now[k])
    added = sorted(now.keys() - minted.keys())
    dropped = sorted(minted.keys() - now.keys())
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("changed", changed), ("added", added), ("left out", dropped))
        if names
    ]
    if not parts:
        return (
            "ConfirmationToken was issued for a different request: the same arguments, but other credentials, "
            "region or endpoint" + again
        )
    return "ConfirmationToken was issued for a different request (" + "; ".join(parts) + ")" + again


class TokenAuthority:
    """Mints and checks tokens with one secret and one time-to-live."""

    def __init__(self, secret: bytes, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenAuthority(ttl_seconds={self.ttl_seconds}, <secret redacted>)"

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def mint(
        self,
        binding: str,
        state_digest: str | None = None,
        asked: str | None = None,
        totals: Totals | None = None,
        *,
        principal: str,
        generation: str,
        fingerprints: tuple[tuple[str, str], ...] = (),
    ) -> Token:
        expires_at = round(self._clock() + self.ttl_seconds, 3)
        nonce = secrets.token_urlsafe(12)
        fields: dict[str, object] = {"b": binding, "e": expires_at, "n": nonce, "g": generation}
        fields["p"] = principal_digest(principal)
        if state_digest is not None:
            fields["s"] = state_digest
        if asked is not None:
            fields["a"] = asked
        if totals is not None:
            fields["t"] = _pack(totals)
        if fingerprints:
            fields["f"] = dict(fingerprints)
        payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
        value = f"{PREFIX}.{payload}.{self._mac(payload)}"
        return Token(value, nonce, expires_at, state_digest, asked, totals, generation)

    def open(
        self,
        value: str,
        binding: str | None,
        *,
        principal: str,
        asked: str | None = None,
        fingerprints: tuple[tuple[str, str], ...] | None = None,
    ) -> Token:
        """The token's identity if it is authentic, previewed for `principal`, bound to `binding` (None:
        authenticity only) and, if `asked` is given, minted for a request asked exactly so; expiry is checked
        separately. With the request's `fingerprints`, a mismatch names the arguments that differ."""
        parts = value.split(".")
        # Tokens are ASCII; compare_digest raises TypeError on a str with anything else (a crash, not a refusal).
        if not value.isascii() or len(parts) != 3 or parts[0] != PREFIX:
            raise TokenError(
                "ConfirmationToken is not a token issued by this server; run a dry run "
                "(omit ConfirmationToken) to get one"
            )
        _, payload, mac = parts
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise TokenError(
                "ConfirmationToken failed verification (forged, altered, or from a server with "
                "another secret); run a new dry run"
            )
        try:
            fields = json.loads(_unb64(payload))
            bound, expires_at, nonce = str(fields["b"]), float(fields["e"]), str(fields["n"])
            digest = str(fields["s"]) if "s" in fields else None
            minted_for = str(fields["a"]) if "a" in fields else None
            totals = _unpack(fields["t"]) if "t" in fields else None
            previewed_for = str(fields["p"])
            generation = str(fields["g"])
            minted_fields = {str(k): str(v) for k, v in dict(fields.get("f") or {}).items()}
        except (ValueError, KeyError, TypeError):
            raise TokenError("ConfirmationToken is malformed; run a new dry run") from None
        # Checked before the binding: another person's token is refused as such, whatever its arguments.
        if not hmac.compare_digest(previewed_for, principal_digest(principal)):
            raise PrincipalMismatchError(
                "ConfirmationToken was issued to another person (the one who ran its dry run); only they can "
                "confirm it. Nothing was sent: run your own dry run to get a token of your own"
            )
        mismatch = binding is not None and not hmac.compare_digest(bound, binding)
        if asked is not None and (minted_for is None or not hmac.compare_digest(minted_for, asked)):
            mismatch = True
        if mismatch:
            raise TokenError(_mismatch(minted_fields, dict(fingerprints) if fingerprints is not None else None))
        return Token(value, nonce, expires_at, digest, minted_for, totals, generation)

    def check_unexpired(self, token: Token) -> None:
        if self._clock() >= token.expires_at:
            raise TokenError(
                f"ConfirmationToken has expired; run a new dry run and confirm within {int(self.ttl_seconds)} seconds"
            )


def principal_of(actor: dict[str, Any]) -> str:
    """The principal a call is made for. Required, never defaulted: a caller that forgot to say who is asking
    must not get the local user's tokens."""
    principal = actor["principal"]
    if not isinstance(principal, str) or not principal:
        raise TypeError("actor['principal'] must name who is asking")
    return principal
