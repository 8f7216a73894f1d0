"""Write an edited ``[profile]`` back into paperradar.toml, keeping everything else.

tomlkit round-trips the file: other sections, their comments and layout are
left exactly as they were. The new profile is validated twice: as a
:class:`~paperradar.core.config.ProfileConfig`, and the whole file as a
:class:`~paperradar.core.config.Config` before it replaces the old one, so a bad
edit never leaves a file the daily run cannot read.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path

import tomlkit
from pydantic import ValidationError

from ...core.config import Config, ProfileConfig, parse_config
from ...core.errors import ConfigError
from ...core.files import write_text_atomic


class ProfileEditError(ConfigError):
    """The submitted profile is invalid; ``problems`` lists what to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("The profile was not saved: " + "; ".join(problems))
        self.problems = problems


def lines(text: str) -> list[str]:
    """One entry per non-empty line (commas also separate keywords pasted as a list)."""
    return [x.strip() for x in text.replace("\r", "").split("\n") if x.strip()]


def validate_profile(data: dict) -> ProfileConfig:
    try:
        return ProfileConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e["loc"])
            problems.append(f"{where}: {e['msg']}")
        raise ProfileEditError(problems) from None


def _text(value: str):
    if "\n" in value:
        return tomlkit.string(value, multiline=True, literal="'''" not in value)
    return tomlkit.string(value)


def _array(values: list[str]):
    arr = tomlkit.array()
    for v in values:
        arr.append(v)
    if len(values) > 3:
        arr.multiline(True)
    return arr


def write_profile(path: Path, profile: ProfileConfig) -> Config:
    """Replace the [profile] table of ``path``; return the validated new configuration."""
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"Cannot read {path} to update the profile: {exc}") from None
    table = doc.get("profile")
    if table is None:
        table = tomlkit.table()
        doc["profile"] = table
    for key in ("authors", "keywords", "negative_keywords", "seed_papers"):
        values = getattr(profile, key)
        if values or key in table:
            table[key] = _array(values)
    topics = tomlkit.aot()
    for t in profile.topics:
        item = tomlkit.table()
        item["name"] = _text(t.name)
        item["relevant"] = _text(t.relevant)
        if t.irrelevant:
            item["irrelevant"] = _text(t.irrelevant)
        topics.append(item)
    if "topics" in table:
        del table["topics"]
    if profile.topics:
        table["topics"] = topics
    text = tomlkit.dumps(doc)
    config = parse_config(tomllib.loads(text), path)
    backup_file(path)
    write_text_atomic(path, text)
    return config


def backup_file(path: Path) -> Path:
    """Copy ``path`` to ``<name>.<YYYYmmdd-HHMMSS-micro>.bak`` beside it; the names sort by time."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    shutil.copy2(path, target)
    return target
