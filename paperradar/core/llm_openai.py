"""The OpenAI-compatible backend: the openai SDK against ``[llm] base_url``."""

from __future__ import annotations

import json
import os
from typing import Any

from .config import LLMConfig
from .errors import LLMError
from .llm_protocol import MissingAPIKey, RawCompletion, TransientError, estimate_tokens
from .redact import safe_url
from .retry import retry_after_seconds


def response_format(kind: str, schema_name: str, json_schema: dict | None) -> dict | None:
    if kind == "none" or json_schema is None:
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": json_schema, "strict": False}}


class OpenAIBackend:
    """The openai SDK against ``base_url``; retries are ours (SDK retries off) so each is logged."""

    name = "openai"

    def __init__(self, config: LLMConfig):
        key = os.environ.get(config.api_key_env)
        if not key:
            raise MissingAPIKey(
                f"No API key for the LLM at {safe_url(config.base_url)}: set the environment variable "
                f'{config.api_key_env} (named by api_key_env in [llm]), or set [judge] enabled = "off".'
            )
        import openai

        self._openai = openai
        self.structured_output = config.structured_output
        self.client = openai.OpenAI(
            api_key=key, base_url=config.base_url, max_retries=0, timeout=config.timeout_seconds
        )

    def chat(self, model, messages, options, json_schema):
        openai = self._openai
        kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": options["temperature"]}
        if options.get("max_tokens"):
            kwargs["max_tokens"] = options["max_tokens"]
        fmt = response_format(self.structured_output, options.get("schema_name", "answer"), json_schema)
        if fmt:
            kwargs["response_format"] = fmt
        try:
            resp = self.client.chat.completions.create(**kwargs)
        except openai.APITimeoutError as exc:
            raise TransientError(f"timed out: {exc}") from exc
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {exc}") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            body = (exc.response.text or "")[:300] if exc.response is not None else ""
            if status == 429 or status >= 500:
                raise TransientError(f"HTTP {status}: {body}", retry_after_seconds(exc.response)) from exc
            hint = {401: "check the key in the variable named by api_key_env", 404: "check model and base_url"}
            raise LLMError(f"The LLM API refused the request (HTTP {status}: {body}); {hint.get(status, '')}") from exc
        if isinstance(resp, str) or not hasattr(resp, "choices"):
            # A proxy's login page or a wrong base_url answers 200 with HTML: the SDK hands back the text.
            start = " ".join(str(resp)[:80].split())
            raise LLMError(
                f"The LLM at {safe_url(str(self.client.base_url))} answered with something that is not a chat "
                f"completion (it starts with {start!r}); check [llm] base_url (it usually ends in /v1)."
            )
        if not resp.choices:
            raise TransientError("the answer had no choices")
        text = resp.choices[0].message.content or ""
        usage = resp.usage
        return RawCompletion(
            text=text,
            input_tokens=usage.prompt_tokens if usage else estimate_tokens(json.dumps(messages)),
            output_tokens=usage.completion_tokens if usage else estimate_tokens(text),
        )
