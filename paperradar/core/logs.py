"""Where log records go: short text lines for a person, or one JSON object per line for a log collector.

``[paperradar] log_format`` (or ``paperradar --log-format``) picks one. Text is
what a terminal wants: warnings and errors only, the progress bars say the rest.
JSON is what journald, Docker and Loki want from a service: every record from
INFO up, each a line with ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``
and ``message``, plus whatever fields the code attached with ``extra=`` (the
daily run adds ``day``, ``stage``, ``seconds`` and ``run_id``; a worker adds its
``job``; the web server's access lines add ``method``, ``path`` and
``status``). Every record is redacted first, fields included.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, Literal, TextIO

from .redact import RedactingFilter, redact

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else on a record came from ``extra=`` and becomes a field.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# uvicorn's access line: '%s - "%s %s HTTP/%s" %d' % (client, method, path, http version, status).
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
# uvicorn's copy of a message with terminal colours: noise in a log collector.
_DROPPED = frozenset({"color_message"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES | _DROPPED and not name.startswith("_") and name not in entry:
                entry[name] = _plain(value)
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return redact(str(value))


class _Handler(logging.StreamHandler):
    """paperradar's own handler, so configuring again replaces it instead of adding a second."""


def configure_logging(
    log_format: str = "text", *, loggers: tuple[str, ...] = ("paperradar",), stream: TextIO | None = None
) -> None:
    """Send ``loggers``' records to stderr (or ``stream``) in ``log_format``, redacted."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: use one of {', '.join(LOG_FORMATS)}")
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    for name in loggers:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
        # Text is for a person at a terminal: warnings only. JSON is a service's record of what it did.
        logger.setLevel(logging.INFO if log_format == "json" else logging.NOTSET)
