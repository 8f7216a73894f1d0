"""Exceptions with messages a user can act on.

Every library error derives from :class:`PaperradarError`; the CLI prints its
message in one short line (set ``PAPERRADAR_DEBUG=1`` for the traceback).
"""


class PaperradarError(Exception):
    """Base class: the message says what went wrong and how to fix it."""


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
