"""Exceptions with messages a user can act on.

Every library error derives from :class:`PaperradarError`; the CLI prints its
message in one short line (set ``PAPERRADAR_DEBUG=1`` for the traceback).
"""


class PaperradarError(Exception):
    """Base class: the message says what went wrong and how to fix it.

    The message is redacted on creation (URL credentials, key-looking strings),
    so no error text can carry a secret into a log, the store or a digest.
    """

    def __init__(self, *args):
        from .redact import redact

        if args and isinstance(args[0], str):
            args = (redact(args[0]), *args[1:])
        super().__init__(*args)


class ConfigError(PaperradarError):
    """The configuration file is missing, unreadable or invalid."""


class StoreError(PaperradarError):
    """The SQLite store cannot be opened or migrated."""


class SourceError(PaperradarError):
    """A remote source could not be reached or answered with an error."""


class FeedError(SourceError):
    """A feed was fetched but its content is malformed."""


class EmbeddingError(PaperradarError):
    """The embedding model cannot be loaded or used."""


class LLMError(PaperradarError):
    """The LLM could not be used: unreachable, refused, or misconfigured."""


class BudgetExceeded(LLMError):
    """The run's token or dollar cap would be crossed; stages keep what is done and stop asking."""


class LLMUnavailable(BudgetExceeded):
    """The circuit breaker tripped: too many LLM calls in a row failed, so the run stops asking.

    A subclass of :class:`BudgetExceeded` so every stage stops its LLM work the way it
    does at the run's cap, keeping what is done; the pipeline then marks the run failed.
    """
