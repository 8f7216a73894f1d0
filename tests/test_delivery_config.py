"""The delivery settings reject mistakes with a message naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from paperradar.core.config import parse_config
from paperradar.core.errors import ConfigError
from paperradar.outputs.deliver import configured_channels


def load(text: str):
    return parse_config(tomllib.loads(text), Path("/tmp/cfg/paperradar.toml"))


def test_defaults_write_only_files():
    cfg = load("")
    assert configured_channels(cfg) == ["rss", "site"]
    assert cfg.email.port == 587 and cfg.site.dir == Path("/tmp/cfg/paperradar-data/site")


def test_all_channels():
    cfg = load(
        '[email]\nsmtp_host = "smtp.example.org"\nsecurity = "ssl"\nsender = "r@example.org"\n'
        'recipients = ["a@example.org"]\n[slack]\nwebhook_url_env = "SLACK_URL"\n'
        '[webhook]\nurl = "http://127.0.0.1:9/hook"\n[feed]\nenabled = false\n'
    )
    assert configured_channels(cfg) == ["email", "slack", "webhook", "site"]
    assert cfg.email.port == 465


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[email]\nsmtp_host = "h"\nrecipients = ["a@b.org"]\n', "sender is required"),
        ('[email]\nrecipients = ["a@b.org, c@d.org"]\n', "is not one e-mail address"),
        ('[email]\nsubject = "{date} digest"\n', "not a valid template"),
        ('[email]\nsecurity = "tls"\n', "email.security"),
        ('[slack]\nwebhook_url = "https://hooks.slack.com/x"\n', "slack.webhook_url: unknown key"),
    ],
)
def test_mistakes_are_reported(text, message):
    with pytest.raises(ConfigError, match=message):
        load(text)
