"""A real OpenAI-compatible HTTP server on loopback that replays scripted answers.

Built on :mod:`tests.loopback`: each POST to ``/v1/chat/completions`` is
recorded and answered by the next scripted response, or by
``default(request)`` once the script is used up. A response may ``hang``
until the test ends, which the client sees as a timeout.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable

from paperradar.core.config import LLMConfig

from .loopback import ReplayServer, Reply, Request

PATH = "/v1/chat/completions"
PAPER_ID = re.compile(r'<paper id="([^"]+)">')


def completion(content: str, prompt_tokens: int = 100, completion_tokens: int = 20, model: str = "fake") -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1771900000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def ok(content: str | dict | list, **kw) -> dict:
    text = content if isinstance(content, str) else json.dumps(content)
    return {"status": 200, "body": completion(text, **kw)}


def error(status: int, message: str = "slow down", headers: dict | None = None) -> dict:
    return {"status": status, "body": {"error": {"message": message, "type": "error"}}, "headers": headers or {}}


HANG = {"hang": True}


def ids_in(request: dict) -> list[str]:
    """Paper ids in a request's user message, in order."""
    return PAPER_ID.findall(request["messages"][-1]["content"])


def scores(ids, relevance=7, novelty=6, **extra) -> dict:
    return {
        "papers": [
            {
                "id": i,
                "relevance": relevance,
                "novelty": novelty,
                "criterion": "Training dynamics",
                "comment": f"Matches Training dynamics ({i}).",
                **extra,
            }
            for i in ids
        ]
    }


def judge_everything(request: dict) -> dict:
    """Default answer: a valid judgment for every paper in the batch (title pass: relevance only)."""
    return ok(scores(ids_in(request)))


class FakeOpenAI:
    """An OpenAI-compatible endpoint on :class:`tests.loopback.ReplayServer`.

    ``requests`` are the parsed JSON bodies received, in order; ``queue``
    scripts the next answers and ``default(request)`` answers the rest.
    """

    def __init__(self, default: Callable[[dict], dict] | None = judge_everything):
        self.script: deque[dict] = deque()
        self.default = default
        self._lock = threading.Lock()
        self.replay = ReplayServer()
        self.replay.always(PATH, self._respond, method="POST")

    def llm_config(self, monkeypatch, **settings) -> LLMConfig:
        """An ``[llm]`` section for this server: a test key in the environment, no waits between retries."""
        monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
        defaults = {"api_key_env": "TEST_LLM_KEY", "retry_wait_seconds": 0, "max_retries": 1, "timeout_seconds": 5}
        return LLMConfig(base_url=self.base_url, **{**defaults, **settings})

    @property
    def requests(self) -> list[dict]:
        return [r.json() for r in self.replay.requests_to(PATH)]

    def _respond(self, request: Request) -> Reply:
        with self._lock:
            spec = self.script.popleft() if self.script else None
        if spec is None:
            spec = self.default(request.json()) if self.default else error(500, "no scripted response left")
        if spec.get("hang"):
            # Held until the test ends (the server gives up on stop); the client has timed out long before.
            return Reply(200, b"{}", delay=60)
        body = spec["body"] if isinstance(spec["body"], str) else json.dumps(spec["body"])
        return Reply(
            spec.get("status", 200), body.encode(), {"Content-Type": "application/json", **spec.get("headers", {})}
        )

    @property
    def base_url(self) -> str:
        return f"{self.replay.url}/v1"

    def queue(self, *responses: dict) -> FakeOpenAI:
        self.script.extend(responses)
        return self

    def __enter__(self) -> FakeOpenAI:
        self.replay.start()
        return self

    def __exit__(self, *exc) -> None:
        self.replay.stop()
