"""Choosing the backend ``[llm] backend`` names, and the model a stage asks by default."""

from __future__ import annotations

from .config import LLMConfig
from .llm_local import LocalBackend, local_model_name
from .llm_openai import OpenAIBackend
from .llm_protocol import Backend


def make_backend(config: LLMConfig) -> Backend:
    return LocalBackend(config) if config.backend == "local" else OpenAIBackend(config)


def model_for(config: LLMConfig, stage: str) -> str:
    """The model ``stage`` asks: its own override, else the embedded model's name or [llm] model."""
    if config.backend == "local" and not config.stage(stage).model:
        return local_model_name(config)
    return config.model_for(stage)
