import pytest

from paperradar.core.config import load_config
from paperradar.core.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "paperradar.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_relative_paths_resolve_against_the_config_file(config, tmp_path):
    assert config.database == (tmp_path / "db" / "paperradar.db").resolve()
    assert config.output_dir == (tmp_path / "out").resolve()


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match="paperradar init"):
        load_config(tmp_path / "nope.toml")


def test_bad_value_names_file_key_and_expectation(tmp_path):
    p = write(tmp_path, "[prefilter]\nshortlist_size = 'many'\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert str(p) in msg
    assert "prefilter.shortlist_size" in msg
    assert "valid integer" in msg and "'many'" in msg


def test_unknown_key_is_an_error_not_ignored(tmp_path):
    p = write(tmp_path, "[profile]\nauthor = ['x']\n")
    with pytest.raises(ConfigError, match="profile.author: unknown key"):
        load_config(p)


def test_bad_seed_id(tmp_path):
    p = write(tmp_path, "[profile]\nseed_papers = ['not-an-id']\n")
    with pytest.raises(ConfigError, match="not an arXiv id"):
        load_config(p)


def test_invalid_toml(tmp_path):
    p = write(tmp_path, "[profile\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_arxiv_delay_cannot_go_below_three_seconds(tmp_path):
    p = write(tmp_path, "[arxiv]\ndelay_seconds = 0.5\n")
    with pytest.raises(ConfigError, match="arxiv.delay_seconds"):
        load_config(p)


def test_template_is_valid(tmp_path):
    from paperradar.core.config import TEMPLATE

    cfg = load_config(write(tmp_path, TEMPLATE))
    assert cfg.profile.topics[0].name == "Training dynamics"
