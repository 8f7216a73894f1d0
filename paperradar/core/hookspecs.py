"""The extension points, as pluggy hooks (modelled on simonw/llm's ``llm/hookspecs.py``).

Built-in stages implement these hooks exactly as an installed plugin would;
:mod:`paperradar.core.plugins` registers them in one fixed order, so nothing depends
on which module was imported first. Every hook receives the
:class:`~paperradar.core.config.Config` instead of reading a module global.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("paperradar")
hookimpl = pluggy.HookimplMarker("paperradar")


@hookspec
def register_stages(config):
    """Return the :class:`~paperradar.core.context.Stage` objects this plugin adds to the daily run."""


@hookspec
def register_score_boosters(config):
    """Return functions ``fn(ctx) -> {arxiv_id: (score, Reason)}`` added to the prefilter's scores."""


@hookspec
def register_digest_enrichers(config):
    """Return functions ``fn(store, digest)`` that add this plugin's part to a day's digest."""


@hookspec
def register_delivery_channels(config):
    """Return :class:`~paperradar.outputs.channels.DeliveryChannel` objects the deliver stage may send on."""


@hookspec
def register_signal_sources(config):
    """Return :class:`~paperradar.signals.client.SignalSource` objects the signals stage reads."""
