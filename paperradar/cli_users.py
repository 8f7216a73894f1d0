"""``paperradar users …`` and ``paperradar profiles …``: the accounts and profiles of a lab.

The operator of the store runs these (no login): users get a password from a
hidden prompt or from an environment variable (``--password-env``), never
from the command line, where other users of the machine could read it in the
process list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from .cli_support import ConfigOption, console, handle_errors, stdout_console
from .core.accounts import AccountError, check_name, check_role, hash_password
from .core.clock import utcnow
from .core.config import Config, load_config
from .core.errors import ConfigError
from .core.profiles import config_for_profile, find_profile, profile_toml, read_profile_file
from .core.repositories.profiles import DEFAULT_PROFILE_ID
from .core.store import Store

users_app = typer.Typer(help="Accounts for the web app of a lab (admins manage users; members their own profiles).")
profiles_app = typer.Typer(help="Profiles: whose interests a day is ranked, judged and delivered for.")


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise AccountError(f"--password-env {password_env}: that environment variable is not set or empty.")
        return value
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user(store: Store, name: str):
    user = store.users.get(name)
    if user is None:
        raise AccountError(f"No user {name!r}; `paperradar users list` shows them.")
    return user


@users_app.command("add")
@handle_errors
def users_add(
    name: str = typer.Argument(..., help="Login name: lower-case letters, digits, '.', '_' or '-'."),
    admin: bool = typer.Option(False, "--admin", help="May manage users and every profile."),
    email: str = typer.Option(None, "--email", help="The user's e-mail address (the default digest recipient)."),
    password_env: str = typer.Option(
        None, "--password-env", help="Read the password from this environment variable instead of a prompt."
    ),
    config_path: Path = ConfigOption,
):
    """Add a user; the password is asked for (hidden) unless --password-env names a variable holding it."""
    config = load_config(config_path)
    check_name(name)
    with Store(config.database) as store:
        if store.users.get(name) is not None:
            raise AccountError(f"There is already a user {name!r}.")
        password_hash = hash_password(_password(password_env))
        user = store.users.add(name, password_hash, check_role("admin" if admin else "member"), email, utcnow())
    console.print(
        f"Added {user.role} {user.name} (id {user.id}). "
        f"Give them a profile: paperradar profiles add NAME --owner {user.name}"
    )


@users_app.command("list")
@handle_errors
def users_list(config_path: Path = ConfigOption):
    """The users, their role, whether they may log in, and their profiles."""
    config = load_config(config_path)
    with Store(config.database) as store:
        users = store.users.all()
        profiles = store.profiles.all()
    if not users:
        console.print("No users: the web app runs as the single-user setup (no login on localhost).")
        return
    table = Table("id", "name", "role", "e-mail", "active", "profiles")
    for u in users:
        names = ", ".join(p.name + ("" if p.active else " (disabled)") for p in profiles if p.owner_id == u.id)
        table.add_row(
            str(u.id), Text(u.name), u.role, Text(u.email or ""), "yes" if u.active else "no", Text(names or "-")
        )
    stdout_console().print(table)


@users_app.command("disable")
@handle_errors
def users_disable(name: str = typer.Argument(..., help="The user's login name."), config_path: Path = ConfigOption):
    """Stop a user from logging in (their sessions end now) and their profiles from being run."""
    config = load_config(config_path)
    with Store(config.database) as store:
        user = _user(store, name)
        store.users.set_active(user.id, False, utcnow())
    console.print(f"Disabled {name}: logged out everywhere; their profiles are no longer run.")


# -- profiles -----------------------------------------------------------------------------------


@profiles_app.command("add")
@handle_errors
def profiles_add(
    name: str = typer.Argument(..., help="The profile's name, unique per owner (e.g. vision)."),
    owner: str = typer.Option(..., "--owner", help="The user the profile belongs to."),
    file: Path = typer.Option(
        None, "--file", help="A profile TOML file (see `profiles show`); default: a copy of [profile]."
    ),
    config_path: Path = ConfigOption,
):
    """Add a profile for a user, from a TOML file or as a copy of paperradar.toml's [profile]."""
    config = load_config(config_path)
    check_name(name, "profile name")
    parsed = read_profile_file(file) if file is not None else None
    with Store(config.database) as store:
        user = _user(store, owner)
        if store.profiles.named(user.id, name) is not None:
            raise AccountError(f"{owner} already has a profile {name!r}; edit it with `paperradar profiles edit`.")
        record = store.profiles.add(
            user.id,
            name,
            parsed.profile if parsed else config.profile.model_copy(deep=True),
            utcnow(),
            max_cost_per_run=parsed.max_cost_per_run if parsed else None,
            recipients=parsed.recipients if parsed else ([user.email] if user.email else []),
        )
    console.print(f"Added profile {record.label} (id {record.id}).")


@profiles_app.command("list")
@handle_errors
def profiles_list(
    owner: str = typer.Option(None, "--owner", help="Only this user's profiles."),
    config_path: Path = ConfigOption,
):
    """Every profile: owner, budget, recipients and what it asks for."""
    config = load_config(config_path)
    with Store(config.database) as store:
        records = store.profiles.owned_by(_user(store, owner).id) if owner else store.profiles.all()
    table = Table("id", "profile", "active", "budget/run", "recipients", "asks for")
    for p in records:
        s = p.settings if p.settings is not None else config.profile
        asks = f"{len(s.topics)} topics, {len(s.keywords)} keywords, {len(s.authors)} authors"
        if p.settings is None:
            asks += " ([profile] of paperradar.toml)"
        budget = f"${p.max_cost_per_run:g}" if p.max_cost_per_run is not None else "[llm]"
        table.add_row(
            str(p.id),
            Text(p.label),
            "yes" if p.active else "no",
            budget,
            Text(", ".join(p.recipients) or "[email]"),
            Text(asks),
        )
    stdout_console().print(table)


@profiles_app.command("show")
@handle_errors
def profiles_show(
    profile: str = typer.Argument(..., help="Id, OWNER/NAME, or a name only one profile has."),
    config_path: Path = ConfigOption,
):
    """Print a profile as TOML: save it, change it, and load it back with `profiles edit`."""
    config = load_config(config_path)
    with Store(config.database) as store:
        record = find_profile(store.profiles, profile)
    stdout_console().print(profile_toml(record, config), end="", soft_wrap=True)


@profiles_app.command("edit")
@handle_errors
def profiles_edit(
    profile: str = typer.Argument(..., help="Id, OWNER/NAME, or a name only one profile has."),
    file: Path = typer.Argument(..., help="The profile's TOML file (as `profiles show` writes it)."),
    config_path: Path = ConfigOption,
):
    """Replace a profile's settings, budget and recipients with those of a TOML file (validated first)."""
    config = load_config(config_path)
    parsed = read_profile_file(file)
    with Store(config.database) as store:
        record = find_profile(store.profiles, profile)
        if record.id == DEFAULT_PROFILE_ID:
            raise ConfigError(
                "The default profile is the [profile] of paperradar.toml (with [llm] max_cost_per_run and "
                f"[email] recipients): edit {config.source} instead."
            )
        store.profiles.update(record.id, parsed.profile, parsed.max_cost_per_run, parsed.recipients, utcnow())
    console.print(f"Saved profile {record.label} from {file}.")


@profiles_app.command("disable")
@handle_errors
def profiles_disable(
    profile: str = typer.Argument(..., help="Id, OWNER/NAME, or a name only one profile has."),
    config_path: Path = ConfigOption,
):
    """Stop running a profile (its history stays)."""
    config = load_config(config_path)
    with Store(config.database) as store:
        record = find_profile(store.profiles, profile)
        store.profiles.set_active(record.id, False, utcnow())
    console.print(f"Disabled profile {record.label}: the daily work skips it from now on.")


@contextlib.contextmanager
def profile_run(config: Config, profile: str | None) -> Iterator[tuple[Config, Store | None]]:
    """The configuration and store handle a run for ``profile`` uses (None: the default profile, as configured)."""
    if profile is None:
        yield config, None
        return
    with Store(config.database) as store:
        record = find_profile(store.profiles, profile)
        if not record.active:
            raise ConfigError(f"Profile {record.label} is disabled; it is not run.")
        yield config_for_profile(config, record), store.for_profile(record.id)


# -- the lab leaderboard (`paperradar lab`) -----------------------------------------------------


@handle_errors
def lab_leaderboard(
    date: str = typer.Option(None, "--date", help="Last day YYYY-MM-DD (default: today)."),
    days: int = typer.Option(7, "--days", min=1, max=365, help="How many days up to --date."),
    top: int = typer.Option(20, "--top", min=1, help="How many papers."),
    config_path: Path = ConfigOption,
):
    """The lab leaderboard: the papers the most active profiles picked (shortlisted or judged relevant)."""
    config = load_config(config_path)
    try:
        until = dt.date.fromisoformat(date) if date else dt.date.today()
    except ValueError:
        raise typer.BadParameter(f"{date!r} is not a date; use YYYY-MM-DD", param_hint="--date") from None
    with Store(config.database) as store:
        picks = store.lab.picks(until - dt.timedelta(days=days - 1), until, limit=top)
        profiles = len(store.profiles.active())
    if not picks:
        console.print(f"No profile picked a paper in the {days} days up to {until}.")
        return
    table = Table("#", "profiles", "shortlisted", "judge picked", "paper", title=f"{profiles} active profiles")
    for i, p in enumerate(picks, 1):
        table.add_row(str(i), str(p.profiles), str(p.shortlisted), str(p.selected), Text(f"{p.arxiv_id} {p.title}"))
    stdout_console().print(table)
