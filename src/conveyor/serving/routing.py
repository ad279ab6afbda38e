"""Which runtime answers a request: the primary, a canary share of traffic, and a shadow that only listens.

`Router.pick()` is a counter, not a coin: with `canary_percent=10` exactly 10 of every 100 requests go
to the canary (spread evenly), so splits are exact and testable. A shadow runtime scores a copy of
every request after the answer is sent; its predictions go to the prediction log only. `swap()`
replaces a runtime in one assignment: requests already running finish on the runtime they picked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor.serving.runtime import ModelRuntime

__all__ = ["Router"]

PRIMARY = "primary"
CANARY = "canary"
SHADOW = "shadow"


class Router:
    """Holds the primary runtime and optional canary and shadow runtimes."""

    def __init__(
        self,
        primary: ModelRuntime,
        *,
        canary: ModelRuntime | None = None,
        canary_percent: float = 0.0,
        shadow: ModelRuntime | None = None,
    ) -> None:
        if not 0 <= canary_percent <= 100:
            raise ValueError("canary_percent must be within 0..100")
        self.primary = primary
        self.canary = canary
        self.canary_percent = canary_percent if canary is not None else 0.0
        self.shadow = shadow
        self._count = 0
        self.swaps = 0

    def pick(self) -> tuple[ModelRuntime, str]:
        """The runtime for the next request and its variant label."""
        if self.canary is None or self.canary_percent <= 0:
            return self.primary, PRIMARY
        n = self._count
        self._count = n + 1
        # Request n goes to the canary when the running share would otherwise fall behind the target.
        share = self.canary_percent / 100
        if int((n + 1) * share) > int(n * share):
            return self.canary, CANARY
        return self.primary, PRIMARY

    def swap(self, primary: ModelRuntime) -> None:
        """Serve `primary` from the next request on (an alias moved)."""
        self.primary = primary
        self.swaps += 1

    def runtimes(self) -> list[tuple[str, ModelRuntime]]:
        out = [(PRIMARY, self.primary)]
        if self.canary is not None:
            out.append((CANARY, self.canary))
        if self.shadow is not None:
            out.append((SHADOW, self.shadow))
        return out
