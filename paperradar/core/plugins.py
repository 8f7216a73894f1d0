"""The plugin manager: the built-in plugins in one fixed order, then installed ones.

As in simonw/llm's ``llm/plugins.py``, the built-ins are listed by module name
(:data:`DEFAULT_PLUGINS`) and answer the same hooks as third-party plugins
(entry points in the ``paperradar`` group). That list's order is the order of
the pipeline's built-in stages, of the prefilter's score boosters and of the
digest's enrichers, whatever the order in which modules were imported.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import entry_points

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "paperradar.stages.ingest",  # stage: ingest
    "paperradar.stages.embed",  # stage: embed
    "paperradar.stages.prefilter",  # stage: prefilter
    "paperradar.stages.citations",  # score booster; digest: papers citing yours
    "paperradar.stages.learn",  # score booster: the feedback classifier
    "paperradar.stages.judge",  # stage: judge; digest: order, scores, usage
    "paperradar.signals.collect",  # stage: signals
    "paperradar.signals.huggingface",  # signal source: Hugging Face Daily Papers
    "paperradar.signals.hackernews",  # signal source: Hacker News
    "paperradar.stages.tournament",  # stage: tournament; digest: leaderboard, assessments
    # The personal board may reorder the shortlist: after the judge ordered it.
    "paperradar.stages.group_tournament",
    # Trending ranks name each paper's place in the digest: after every reorder.
    "paperradar.signals.trending",
    "paperradar.outputs.write",  # stage: digest
    "paperradar.outputs.deliver",  # stage: deliver; channels: e-mail, Slack, webhook
    "paperradar.outputs.feed",  # channel: RSS/Atom
    "paperradar.outputs.site",  # channel: static site
)


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """Built once per process: DEFAULT_PLUGINS in order, then entry points by name."""
    pm = pluggy.PluginManager("paperradar")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    for ep in sorted(entry_points(group="paperradar"), key=lambda e: e.name):
        pm.register(ep.load(), name=f"entrypoint:{ep.name}")
    return pm


def collect(hook: str, **kwargs) -> list:
    """One hook's results, flattened, in registration order.

    pluggy calls the last registered implementation first, so its list of
    results is reversed here to follow DEFAULT_PLUGINS.
    """
    results = getattr(plugin_manager().hook, hook)(**kwargs)
    return [item for result in reversed(results) for item in (result or [])]
