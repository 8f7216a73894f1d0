"""Delivery channels: what one is, and the registered ones in plugin order.

A channel (e-mail, Slack, a webhook, the RSS feed, the static site, or one an
installed plugin adds) answers the ``register_delivery_channels`` hook; the
deliver stage sends on every channel the configuration turns on, in the
order of :data:`paperradar.core.plugins.DEFAULT_PLUGINS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..core.config import Config
from ..core.digest import Digest
from ..core.plugins import collect
from ..core.store import Store

Status = Literal["sent", "failed", "skipped", "written"]


@dataclass
class DeliveryResult:
    channel: str
    target: str
    status: Status
    attempts: int = 0
    response: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}" if self.attempts else ""
        answer = f" ({self.response})" if self.response else ""
        return f"{self.channel} → {self.target}: {self.status}{tries}{answer}"


@dataclass(frozen=True)
class DeliveryChannel:
    name: str
    configured: Callable[[Config], bool]
    deliver: Callable[[Store, Config, Digest, bool], list[DeliveryResult]]
    # What to set when the channel is asked for by name but not configured;
    # None: it can run when asked for even if the configuration leaves it off.
    how_to_configure: str | None
    # A push channel sends a message, so an empty day is skipped unless send_when_empty.
    push: bool = True


def delivery_channels(config: Config) -> list[DeliveryChannel]:
    return collect("register_delivery_channels", config=config)
