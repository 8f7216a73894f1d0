"""Whether an LLM stage runs: its ``enabled`` mode and, in ``auto``, the API key."""

from __future__ import annotations

from ..core.config import Config


def judge_wanted(config: Config) -> tuple[bool, str]:
    import os

    mode = config.judge.enabled
    if mode == "off":
        return False, "[judge] enabled = off"
    if mode == "auto" and config.llm.backend == "openai" and not os.environ.get(config.llm.api_key_env):
        return False, f"{config.llm.api_key_env} is not set"
    return True, ""


def tournament_wanted(config: Config) -> tuple[bool, str]:
    mode = config.tournament.enabled
    if mode == "off":
        return False, "[tournament] enabled = off"
    if mode == "auto":
        return judge_wanted(config)
    return True, ""
