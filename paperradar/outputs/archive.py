"""Reading back the digests written to the output folder.

The feed and the static site are built from these files rather than from the
store: they hold exactly what each day's run produced (judgments, signals and
sections included), and they outlive a deleted or moved database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import ValidationError

from ..core.digest import Digest, digest_paths
from ..core.errors import PaperradarError


class DigestFileError(PaperradarError):
    """A digest.json in the output folder cannot be read."""


def load_digest(output_dir: Path, day: dt.date) -> Digest | None:
    """The digest written for ``day``, or None when that day has none."""
    path = digest_paths(output_dir, day)["json"]
    if not path.exists():
        return None
    try:
        return Digest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise DigestFileError(
            f"{path} is not a readable digest ({str(exc).splitlines()[0]}). "
            f"Write it again with `paperradar digest --date {day}`."
        ) from None


def digest_days(output_dir: Path) -> list[dt.date]:
    """Days with a digest.json under ``output_dir``, newest first."""
    days = []
    if output_dir.is_dir():
        for child in output_dir.iterdir():
            try:
                day = dt.date.fromisoformat(child.name)
            except ValueError:
                continue
            if (child / "digest.json").is_file():
                days.append(day)
    return sorted(days, reverse=True)


def recent_digests(output_dir: Path, limit: int | None = None) -> list[Digest]:
    days = digest_days(output_dir)
    return [d for d in (load_digest(output_dir, day) for day in days[:limit]) if d is not None]
