"""``paperradar users`` and ``paperradar profiles`` on a real store (SQLite; PostgreSQL in CI's second pass)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.core.accounts import verify_password
from paperradar.core.config import load_config
from paperradar.core.profiles import config_for_profile
from paperradar.core.store import Store

pytestmark = pytest.mark.postgres

runner = CliRunner()


@pytest.fixture
def cfg(tmp_path, store_location):
    path = tmp_path / "paperradar.toml"
    path.write_text(
        f'[paperradar]\ndatabase = "{store_location}"\n\n[llm]\nmax_cost_per_run = 2.0\n\n'
        '[email]\nrecipients = ["lab@example.org"]\n\n[profile]\nkeywords = ["transformers"]\n',
        encoding="utf-8",
    )
    return path


def invoke(cfg, *args, input=None, env=None):
    return runner.invoke(app, [*map(str, args), "--config", str(cfg)], input=input, env=env, catch_exceptions=False)


def test_users_add_list_disable(cfg):
    added = invoke(cfg, "users", "add", "ada", "--admin", "--email", "ada@lab.org", input="correct horse\n" * 2)
    assert added.exit_code == 0, added.output
    bob = invoke(cfg, "users", "add", "bob", "--password-env", "BOB_PW", env={"BOB_PW": "battery staple"})
    assert bob.exit_code == 0
    listed = invoke(cfg, "users", "list")
    assert listed.exit_code == 0
    rows = {line.split("│")[2].strip(): line for line in listed.output.splitlines() if line.count("│") > 3}
    assert "admin" in rows["ada"] and "ada@lab.org" in rows["ada"] and "member" in rows["bob"]
    with Store(load_config(cfg).database) as store:
        ada, bob = store.users.get("ada"), store.users.get("bob")
        assert ada.admin and not bob.admin and ada.email == "ada@lab.org"
        assert verify_password(ada.password_hash, "correct horse") and not verify_password(ada.password_hash, "x")
        assert "correct horse" not in ada.password_hash and ada.password_hash.startswith("$argon2id$")
    assert invoke(cfg, "users", "disable", "bob").exit_code == 0
    with Store(load_config(cfg).database) as store:
        assert not store.users.get("bob").active and store.users.get("ada").active


def test_users_add_refuses_bad_input_and_never_takes_a_password_argument(cfg):
    assert invoke(cfg, "users", "add", "Ada Lovelace", "--password-env", "PW", env={"PW": "long enough"}).exit_code == 1
    short = invoke(cfg, "users", "add", "ada", "--password-env", "PW", env={"PW": "short"})
    assert short.exit_code == 1 and "at least 8" in short.output
    unset = invoke(cfg, "users", "add", "ada", "--password-env", "NOPE_NOT_SET")
    assert unset.exit_code == 1 and "NOPE_NOT_SET" in unset.output
    assert invoke(cfg, "users", "add", "ada", "--password", "hunter22").exit_code == 2
    assert invoke(cfg, "users", "add", "ada", "--password-env", "PW", env={"PW": "long enough"}).exit_code == 0
    again = invoke(cfg, "users", "add", "ada", "--password-env", "PW", env={"PW": "long enough"})
    assert again.exit_code == 1 and "already" in again.output
    assert invoke(cfg, "users", "disable", "nobody").exit_code == 1


def test_profiles_add_show_edit_disable(cfg, tmp_path):
    invoke(cfg, "users", "add", "ada", "--email", "ada@lab.org", "--password-env", "PW", env={"PW": "long enough"})
    assert invoke(cfg, "profiles", "add", "vision", "--owner", "ada").exit_code == 0
    shown = invoke(cfg, "profiles", "show", "ada/vision")
    assert shown.exit_code == 0 and 'keywords = ["transformers"]' in shown.output  # a copy of [profile]
    assert 'recipients = ["ada@lab.org"]' in shown.output
    edited = tmp_path / "vision.toml"
    edited.write_text(
        shown.output.replace('keywords = ["transformers"]', 'keywords = ["diffusion", "segmentation"]') + "\n",
        encoding="utf-8",
    )
    edited.write_text("max_cost_per_run = 0.25\n" + edited.read_text(encoding="utf-8"), encoding="utf-8")
    assert invoke(cfg, "profiles", "edit", "vision", edited).exit_code == 0
    config = load_config(cfg)
    with Store(config.database) as store:
        record = next(p for p in store.profiles.active() if p.name == "vision")
        default = store.profiles.get(1)
    assert record.settings.keywords == ["diffusion", "segmentation"] and record.max_cost_per_run == 0.25
    run_config = config_for_profile(config, record)
    assert run_config.profile.keywords == ["diffusion", "segmentation"]
    assert run_config.llm.max_cost_per_run == 0.25 and run_config.email.recipients == ["ada@lab.org"]
    assert config.profile.keywords == ["transformers"] and config.llm.max_cost_per_run == 2.0  # not changed
    assert config_for_profile(config, default) is config  # the single-user setup, as configured
    listed = invoke(cfg, "profiles", "list")
    assert "ada/vision" in listed.output and "$0.25" in listed.output and "default" in listed.output
    assert invoke(cfg, "profiles", "disable", "ada/vision").exit_code == 0
    with Store(config.database) as store:
        assert [p.name for p in store.profiles.active()] == ["default"]


def test_profile_file_errors_name_the_file_and_the_key(cfg, tmp_path):
    invoke(cfg, "users", "add", "ada", "--password-env", "PW", env={"PW": "long enough"})
    invoke(cfg, "profiles", "add", "vision", "--owner", "ada")
    bad = tmp_path / "bad.toml"
    bad.write_text('max_cost_per_run = -1\n[profile]\nkeywordz = ["x"]\nseed_papers = ["nope"]\n', encoding="utf-8")
    result = invoke(cfg, "profiles", "edit", "ada/vision", bad)
    assert result.exit_code == 1
    assert str(bad) in result.output.replace("\n", "")
    for key in ("max_cost_per_run", "profile.keywordz: unknown key", "profile.seed_papers"):
        assert key in result.output
    default = invoke(cfg, "profiles", "edit", "default", tmp_path / "bad.toml")
    assert default.exit_code == 1
    nothing = invoke(cfg, "profiles", "show", "ghost")
    assert nothing.exit_code == 1 and "profiles list" in nothing.output
    invoke(cfg, "users", "add", "bob", "--password-env", "PW", env={"PW": "long enough"})
    invoke(cfg, "profiles", "add", "vision", "--owner", "bob")
    ambiguous = invoke(cfg, "profiles", "show", "vision")
    assert ambiguous.exit_code == 1 and "ada/vision" in ambiguous.output and "bob/vision" in ambiguous.output


def test_run_for_a_profile_and_the_lab_leaderboard(tmp_path, store_location, embedder, monkeypatch):
    from .conftest import DAY, PROFILE_TOML, SAMPLE_PAPERS

    monkeypatch.setattr("paperradar.core.context.Embedder", lambda *a, **k: embedder)
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text(PROFILE_TOML.replace('database = "db/paperradar.db"', f'database = "{store_location}"'))
    config = load_config(cfg)
    with Store(config.database) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
    invoke(cfg, "users", "add", "ada", "--password-env", "PW", env={"PW": "long enough"})
    robots = tmp_path / "robots.toml"
    robots.write_text('[profile]\nkeywords = ["warehouse robots", "crop yield"]\n', encoding="utf-8")
    assert invoke(cfg, "profiles", "add", "robots", "--owner", "ada", "--file", robots).exit_code == 0

    default = invoke(cfg, "run", "--date", "2026-02-24")
    assert default.exit_code == 0 and "3 shortlisted" in default.output
    mine = invoke(cfg, "run", "--date", "2026-02-24", "--profile", "ada/robots")
    assert mine.exit_code == 0, mine.output
    assert str(config.output_dir / "profiles" / "2-robots" / "2026-02-24" / "digest.md") in mine.output
    with Store(config.database) as store:
        assert store.count("embeddings") == len(SAMPLE_PAPERS)  # embedded by the first run only
        ours = {c.paper.arxiv_id for c in store.for_profile(2).candidates_for_day(DAY)}
        theirs = {c.paper.arxiv_id for c in store.candidates_for_day(DAY)}
    assert "2602.00004" in ours and "2602.00004" not in theirs

    monkeypatch.setenv("COLUMNS", "200")
    board = invoke(cfg, "lab", "--date", "2026-02-24", "--days", "1")
    assert board.exit_code == 0 and "2 active profiles" in board.output
    rows = [line for line in board.output.splitlines() if "2602.0000" in line]
    counts = {line.split("│")[5].split()[0]: int(line.split("│")[2]) for line in rows}
    assert counts == {a: (a in ours) + (a in theirs) for a in ours | theirs}
    assert invoke(cfg, "profiles", "disable", "ada/robots").exit_code == 0
    assert invoke(cfg, "run", "--date", "2026-02-24", "--profile", "ada/robots").exit_code == 1
