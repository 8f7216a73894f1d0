"""Profiles of a lab: the configuration a profile runs with, and its TOML file.

``config_for_profile`` is what the daily work (and the job queue) uses: the
store's Config with the profile's settings, LLM budget and e-mail recipients
swapped in, and its digests written under ``<output_dir>/profiles/<id>-<name>``.
The default profile (id 1) changes nothing, so the single-user setup runs
exactly as configured in paperradar.toml.

A profile's TOML file, as ``paperradar profiles show`` writes it and
``paperradar profiles edit`` reads it::

    max_cost_per_run = 0.5          # USD per run; omit for [llm] max_cost_per_run
    recipients = ["ada@lab.org"]    # omit for [email] recipients

    [profile]                       # the keys of [profile] in paperradar.toml
    keywords = ["diffusion"]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import Field, ValidationError

from .config import Config, ProfileConfig, Section
from .errors import ConfigError
from .repositories.profiles import DEFAULT_PROFILE_ID, ProfileRecord


class ProfileFile(Section):
    """What a profile's TOML file may hold (unknown keys are errors, as in paperradar.toml)."""

    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    max_cost_per_run: float | None = Field(None, gt=0, description="USD per run for this profile")
    recipients: list[str] = Field(default_factory=list, description="e-mail addresses for this profile's digest")


def config_for_profile(config: Config, record: ProfileRecord) -> Config:
    """``config`` as ``record`` runs with it (a copy; ``config`` is not changed)."""
    if record.id == DEFAULT_PROFILE_ID and record.settings is None:
        return config
    out = config.model_copy(deep=True)
    out.source = config.source
    # Each profile's digests, feed and site in a folder of their own, beside the default profile's.
    out.output_dir = config.output_dir / "profiles" / f"{record.id}-{record.name}"
    out.site.dir = config.site.dir / "profiles" / f"{record.id}-{record.name}"
    if record.settings is not None:
        out.profile = record.settings.model_copy(deep=True)
    if record.max_cost_per_run is not None:
        out.llm.max_cost_per_run = record.max_cost_per_run
        out.llm.budget_usd = None
    if record.recipients:
        out.email.recipients = list(record.recipients)
    return out


def _problem(err: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key (a profile file has max_cost_per_run, recipients and a [profile] table)"
    got = err.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"{where}: {err['msg']}{shown}"


def parse_profile_text(text: str, source: str | Path) -> ProfileFile:
    """Validate a profile file; errors name the file and each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    try:
        return ProfileFile.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_problem(e)}" for e in exc.errors())
        raise ConfigError(f"{source} is not a valid profile:\n{problems}") from None


def read_profile_file(path: Path) -> ProfileFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the profile file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8.") from None
    return parse_profile_text(text, path)


def profile_toml(record: ProfileRecord, config: Config) -> str:
    """The profile as a file ``paperradar profiles edit`` reads back unchanged."""
    settings = record.settings if record.settings is not None else config.profile
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"profile {record.label} (id {record.id})"))
    if record.max_cost_per_run is not None:
        doc["max_cost_per_run"] = record.max_cost_per_run
    doc["recipients"] = list(record.recipients)
    doc["profile"] = settings.model_dump(mode="json", exclude_defaults=False)
    return tomlkit.dumps(doc)


class ProfileNotFound(ConfigError):
    """A profile reference that names no profile, or more than one."""


def find_profile(profiles, ref: str) -> ProfileRecord:
    """A profile by id ("3"), owner and name ("ada/vision") or name alone when only one has it."""
    if ref.isdigit():
        record = profiles.get(int(ref))
        if record is None:
            raise ProfileNotFound(f"No profile with id {ref}; `paperradar profiles list` shows them.")
        return record
    owner, _, name = ref.rpartition("/")
    matches = [p for p in profiles.with_name(name) if not owner or p.owner == owner]
    if not matches:
        raise ProfileNotFound(f"No profile {ref!r}; `paperradar profiles list` shows them.")
    if len(matches) > 1:
        names = ", ".join(f"{p.label} (id {p.id})" for p in matches)
        raise ProfileNotFound(f"{ref!r} names {len(matches)} profiles ({names}); write OWNER/NAME or the id.")
    return matches[0]
