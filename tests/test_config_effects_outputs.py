"""Each documented [email], [slack], [webhook], [delivery], [feed] and [site] key changes what is delivered.

The real delivery (tests/test_email_delivery.py's aiosmtpd server on 127.0.0.1 for e-mail,
the loopback replay server for Slack and the webhook) sends tests/sample_digest.py's digest
on every configured channel; the observation is what the servers received, the outcome of
each send, the pauses asked for between tries, and the feed and site files written.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from paperradar.core.config import parse_config
from paperradar.core.retry import retrying
from paperradar.core.store import Store
from paperradar.outputs import deliver
from paperradar.outputs.deliver import deliver_all
from paperradar.outputs.write import write_digest

from .config_lab import merge, to_toml
from .loopback import ReplayServer, Reply
from .sample_digest import DAY, sample_digest
from .test_email_delivery import free_port

PASSWORD = "s3cret"


@dataclass
class Mailbox:
    """An SMTP handler: keeps what it accepts, can refuse the first DATA, can answer slowly."""

    fail_first: bool = False
    slow: float = 0.0
    received: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    calls: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.calls += 1
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.fail_first and self.calls == 1:
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        plain = msg.get_body(("plain",)).get_content()
        self.received.append((envelope.mail_from, envelope.rcpt_tos, msg["Subject"], plain))
        return "250 2.0.0 Ok"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append(auth_data.login)
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)


def _settle(text: str) -> str:
    """Feed and page text without what changes on every build (build times, the id made of the folder's path)."""
    text = re.sub(r"<lastBuildDate>.*?</lastBuildDate>|<id>urn:uuid:[^<]*</id>", "", text)
    return re.sub(r"<updated>\d{4}-\d\d-\d\dT[^<]*</updated>", "", text, count=1)


def _anon(target: str, url: str, root: Path) -> str:
    return target.replace(url, "URL").replace(str(root), "ROOT")


def observe(root: Path, change: dict, *, mailbox: Mailbox | None = None, empty: bool = False, http_first=None):
    mailbox = mailbox or Mailbox()
    port = free_port()
    smtp = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    smtp.start()
    sleeps: list[float] = []
    try:
        with ReplayServer() as server, pytest.MonkeyPatch.context() as mp:
            for name in ("NO_PROXY", "no_proxy"):
                mp.setenv(name, "127.0.0.1,localhost")
            mp.setenv("TEST_SLACK_HOOK", f"{server.url}/slack")
            mp.setenv("TEST_HOOK_ADDRESS", f"{server.url}/hook-from-env")
            mp.setenv("PAPERRADAR_SMTP_PASSWORD", PASSWORD)
            mp.setenv("OTHER_SMTP_PASSWORD", "not-it")
            # Pauses between tries are asked of the retry helper's sleeper: recorded, not waited.
            mp.setattr(deliver, "retrying", lambda **kw: retrying(**kw, sleep=sleeps.append))
            for path in ("/slack", "/hook", "/other-hook", "/hook-from-env"):
                if http_first is not None:
                    server.add(path, http_first)
                server.always(path, Reply.text("ok"))
            base = {
                "paperradar": {"database": "radar.db", "output_dir": "out"},
                "email": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "security": "none",
                    "sender": "paperradar <radar@lab.example>",
                    "recipients": ["ada@lab.example"],
                },
                "webhook": {"url": f"{server.url}/hook"},
                "delivery": {"retry_wait_seconds": 0.5, "attempts": 3},
                "site": {"dir": "site"},
            }
            root.mkdir(parents=True, exist_ok=True)
            path = root / "paperradar.toml"
            text = to_toml(merge(base, change)).replace("@URL@", server.url)
            path.write_text(text, encoding="utf-8")
            config = parse_config(tomllib.loads(text), path)
            for back in (2, 1, 0):  # three digests on disk, for the feed and the site
                write_digest(sample_digest(DAY.fromordinal(DAY.toordinal() - back)), config.output_dir)
            digest = sample_digest(n_extra=0) if empty else sample_digest()
            if empty:
                digest.entries = []
            with Store(config.database) as store:
                results = deliver_all(store, config, digest)
            http = [(r.path, r.json()) for r in server.requests]
            # Ports and folders differ between any two runs: only what the keys decide is compared.
            results = [(r.channel, _anon(r.target, server.url, root), r.status, r.attempts) for r in results]
    finally:
        smtp.stop()
    files = {
        str(p.relative_to(root)): _settle(p.read_text(encoding="utf-8")) if p.suffix in (".xml", ".html") else ""
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".db" and "-wal" not in p.name and "-shm" not in p.name
    }
    return {
        "results": results,
        "mail": mailbox.received,
        "logins": mailbox.logins,
        "http": http,
        "sleeps": sleeps,
        "files": files,
    }


# key -> keyword arguments of observe() (``change`` plus what the scene needs); the same scene without the change
# is the baseline.
PROBES: dict[str, dict] = {
    "email.smtp_host": {"change": {"email": {"smtp_host": "127.0.0.2"}}},
    "email.smtp_port": {"change": {"email": {"smtp_port": free_port()}}},
    "email.security": {"change": {"email": {"security": "starttls"}}},
    "email.username": {"change": {"email": {"username": "radar"}}},
    "email.password_env": {
        "change": {"email": {"password_env": "OTHER_SMTP_PASSWORD"}},
        "context": {"email": {"username": "radar"}},
    },
    "email.sender": {"change": {"email": {"sender": "Radar Bot <bot@lab.example>"}}},
    "email.recipients": {"change": {"email": {"recipients": ["alan@lab.example", "grace@lab.example"]}}},
    "email.subject": {"change": {"email": {"subject": "{count} new: {top}"}}},
    "email.timeout_seconds": {"change": {"email": {"timeout_seconds": 0.2}}, "mailbox": lambda: Mailbox(slow=0.8)},
    "slack.webhook_url_env": {"change": {"slack": {"webhook_url_env": "TEST_SLACK_HOOK"}}},
    "webhook.url": {"change": {"webhook": {"url": "@URL@/other-hook"}}},
    "webhook.url_env": {"change": {"webhook": {"url_env": "TEST_HOOK_ADDRESS"}}},
    "delivery.top": {"change": {"delivery": {"top": 1}}},
    "delivery.attempts": {"change": {"delivery": {"attempts": 1}}, "mailbox": lambda: Mailbox(fail_first=True)},
    "delivery.retry_wait_seconds": {
        "change": {"delivery": {"retry_wait_seconds": 3.0}},
        "mailbox": lambda: Mailbox(fail_first=True),
    },
    "delivery.send_when_empty": {"change": {"delivery": {"send_when_empty": True}}, "empty": True},
    "delivery.timeout_seconds": {
        "change": {"delivery": {"timeout_seconds": 0.2}},
        "http_first": Reply.text("late", delay=0.8),
    },
    "feed.enabled": {"change": {"feed": {"enabled": False}}},
    "feed.days": {"change": {"feed": {"days": 1}}},
    "feed.per_day": {"change": {"feed": {"per_day": 1}}},
    "feed.title": {"change": {"feed": {"title": "My radar"}}},
    "site.enabled": {"change": {"site": {"enabled": False}}},
    "site.dir": {"change": {"site": {"dir": "public"}}},
    "site.base_url": {"change": {"site": {"base_url": "https://me.example.io/radar/"}}},
    "site.title": {"change": {"site": {"title": "My radar"}}},
}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_output_key_changes_what_is_delivered(key, tmp_path):
    how = PROBES[key]
    scene = {k: how[k] for k in ("empty", "http_first") if k in how}
    make_mailbox = how.get("mailbox", Mailbox)
    context = how.get("context", {})
    before = observe(tmp_path / "before", context, mailbox=make_mailbox(), **scene)
    after = observe(tmp_path / "after", merge(context, how["change"]), mailbox=make_mailbox(), **scene)
    assert before != after
