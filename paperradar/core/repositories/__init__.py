"""The store's repositories: every SQL statement outside the migrations lives here.

One module per kind of record (works, library, feedback, judgments, …). Each
repository is a class built on :class:`paperradar.core.db.Database`, returns
typed records (dataclasses or pydantic models, never bare tuples), and is
reached from the store as an attribute (``store.works``, ``store.feedback``).
Stages, signals and outputs call these methods and never write SQL, so a
second database backend changes this package and ``db.py``, not them.
Repositories import ``db``, ``clock``, ``models``, ``errors`` and each other
only, never the store, so there is no cycle between the store and its parts.
"""
