"""What every LLM backend speaks: a chat request in, a :class:`RawCompletion` out.

Both backends (``llm_openai``, ``llm_local``) and the client (``llm``) import
this module and not each other, so adding a backend touches only the factory
in ``llm_backends``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .errors import LLMError


class MissingAPIKey(LLMError):
    pass


class TransientError(LLMError):
    """A failure worth retrying (rate limit, server error, timeout, connection)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RawCompletion:
    text: str
    input_tokens: int
    output_tokens: int


class Backend(Protocol):
    name: str

    def chat(self, model: str, messages: list[dict], options: dict, json_schema: dict | None) -> RawCompletion: ...


def estimate_tokens(text: str) -> int:
    """Rough count for servers that do not report usage: ~4 characters per token."""
    return max(1, len(text) // 4)
