"""Why a confirmed rerun was not sent, beside the token's and the policy's own errors (tokens.TokenError,
policy.PolicyError): each means nothing new went out."""

from __future__ import annotations


class RefusedError(Exception):
    """The request cannot be sent as it is (e.g. too many instances with downstream to split)."""


class ReplayedError(Exception):
    """A reused token whose first use failed: the same failure, and nothing new sent."""

    def __init__(self, first_error: str) -> None:
        super().__init__(f"This ConfirmationToken was already used and nothing new was sent. First use: {first_error}")


class StalePreviewError(Exception):
    """The selection changed since the dry run in a way that matters; a new dry run is needed."""
