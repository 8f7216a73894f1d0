"""Keeping secrets out of everything paperradar writes: logs, errors, the store and the outputs.

Two kinds of secret reach text by accident: credentials inside URLs
(``http://user:password@host/v1`` in a ``base_url``) and API keys pasted where
a name was expected. :func:`redact` replaces both wherever they appear; it is
applied where text leaves the program (error messages, the ``runs`` and
``llm_calls`` error columns, log records) so no caller has to remember it.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# scheme://user:password@ or scheme://token@ (userinfo of any URL)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
# Well-known key shapes: OpenAI/Anthropic sk-..., GitHub, Slack, AWS, Google, Hugging Face, Bearer tokens.
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{30,}"
    r"|hf_[A-Za-z0-9]{20,})"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-]{8,}")
# ?api_key=...&token=... in URLs
_SECRET_PARAM = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|secret|password)=)[^&\s#\"']+")
# A long unbroken run of key characters (32+) mixing letters and digits: what a pasted key looks like.
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}\b")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mask_token(m: re.Match) -> str:
    # Random keys have long stretches of letters and digits without a separator; a name made of
    # words (a folder ``test_an_unknown_key_in_any_table_0``, an ENV_VAR_NAME) has none, and must
    # stay readable in the errors that name it.
    token = m.group(0)
    return MASK if any(_mixed(run) for run in re.findall(r"[A-Za-z0-9]{20,}", token)) else token


def _mixed(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.isalpha() for c in run)


def redact(text: str | None) -> str | None:
    """``text`` with URL credentials and key-looking strings replaced by ``***``."""
    if not text:
        return text
    text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\1{MASK}", text)
    text = _BEARER.sub(rf"\1{MASK}", text)
    text = _KEY_SHAPES.sub(MASK, text)
    return _LONG_TOKEN.sub(_mask_token, text)


def looks_like_key(value: str) -> bool:
    """True when ``value`` is a secret rather than the name of an environment variable."""
    return bool(_KEY_SHAPES.search(value) or _BEARER.search(value)) or not _ENV_NAME.fullmatch(value)


def safe_url(url: str) -> str:
    """A URL fit for messages: its user and password removed."""
    return redact(url) or url


class RedactingFilter(logging.Filter):
    """Redacts every record a handler emits (message and arguments merged first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
