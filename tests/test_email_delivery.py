"""E-mail delivery against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import subprocess
import tomllib
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from paperradar.core.config import parse_config
from paperradar.core.store import Store
from paperradar.outputs.deliver import deliver_all, deliveries

from .sample_digest import DAY, sample_digest

RECIPIENTS = ["ada@lab.example", "alan@lab.example"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Handler:
    """Accepts mail, or answers DATA with a fixed failure for the first ``fail_times`` tries."""

    reply: str | None = None
    fail_times: int = 10**9
    received: list = field(default_factory=list)
    data_calls: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.reply and self.data_calls <= self.fail_times:
            return self.reply
        self.received.append(envelope)
        return "250 2.0.0 Ok: queued as TEST123"


@pytest.fixture
def smtp():
    servers = []

    def start(handler: Handler, **kwargs) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        servers.append(controller)
        return port

    yield start
    for c in servers:
        c.stop()


def make_config(tmp_path, port: int, extra: str = "", security: str = "none"):
    text = f"""
[paperradar]
database = "db/paperradar.db"
output_dir = "out"

[email]
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "{security}"
sender = "paperradar <radar@lab.example>"
recipients = {RECIPIENTS!r}
subject = "Radar {{day}}: {{count}} papers, top: {{top}}"

[delivery]
attempts = 3
retry_wait_seconds = 0
{extra}
""".replace("'", '"')
    path = tmp_path / "paperradar.toml"
    path.write_text(text)
    return parse_config(tomllib.loads(text), path)


def parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_sends_multipart_digest_to_each_recipient_once(tmp_path, smtp):
    handler = Handler()
    config = make_config(tmp_path, smtp(handler))
    digest = sample_digest()
    with Store(config.database) as store:
        results = deliver_all(store, config, digest, channels=["email"])
        assert [(r.target, r.status, r.attempts) for r in results] == [(a, "sent", 1) for a in RECIPIENTS]
        assert all("250" in r.response and "TEST123" in r.response for r in results)

        # One envelope per recipient: nobody sees the other addresses.
        assert [e.rcpt_tos for e in handler.received] == [[a] for a in RECIPIENTS]
        assert all(e.mail_from == "radar@lab.example" for e in handler.received)
        msg = parse(handler.received[0])
        assert msg["To"] == RECIPIENTS[0]
        assert msg["Subject"].startswith(f"Radar {DAY}: 4 papers, top: Grokking")
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg.get_content_type() == "multipart/alternative"
        plain = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]

        # Both parts carry the papers; the plain part has no markup of its own.
        for part in (plain, html):
            assert "Grokking Is a Phase Transition in Sharpness" in part
            assert "https://arxiv.org/abs/2602.11111" in part
        # Plain text has no markup of ours, and hostile text stays as readable text there.
        assert "<div" not in plain and "<a " not in plain and "&lt;" not in plain
        assert 'Attention <script>alert("x")</script>' in plain
        assert "relevance 9/10" in plain and "Directly about training dynamics" in plain

        # Hostile paper text is inert in HTML: escaped, never markup.
        assert "<script" not in html.lower()
        assert "onerror=alert(1)>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "Eve &lt;eve@evil.example&gt;" in html
        assert "\\frac{1}{2" in html  # broken LaTeX stays readable text
        # Mail-client safe: no stylesheet, no external assets, no scripts.
        for bad in ("<style", "<link", "<img", "<script", "src="):
            assert bad not in html.replace("&lt;img src=x", "")

        rows = deliveries(store, DAY)
        assert {(r.target, r.status, r.attempts) for r in rows} == {(a, "sent", 1) for a in RECIPIENTS}
        assert all(r.sent_at for r in rows)

        # A rerun of the day sends nothing ...
        again = deliver_all(store, config, digest, channels=["email"])
        assert [r.status for r in again] == ["skipped", "skipped"]
        assert "already sent" in again[0].response
        assert len(handler.received) == 2
        # ... unless forced.
        forced = deliver_all(store, config, digest, channels=["email"], force=True)
        assert [r.status for r in forced] == ["sent", "sent"]
        assert len(handler.received) == 4
        assert len(deliveries(store, DAY)) == 4


def test_only_configured_channels_are_used(tmp_path, smtp):
    handler = Handler()
    config = make_config(tmp_path, smtp(handler), extra="[site]\nenabled = false\n[feed]\nenabled = false\n")
    with Store(config.database) as store:
        results = deliver_all(store, config, sample_digest())
    assert {r.channel for r in results} == {"email"}
    assert len(handler.received) == 2


def test_transient_failure_is_retried_then_reported(tmp_path, smtp):
    handler = Handler(reply="451 4.3.0 Mailbox temporarily unavailable")
    config = make_config(tmp_path, smtp(handler))
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert result.status == "failed"
        assert result.attempts == 3 and handler.data_calls == 3
        assert "451 4.3.0 Mailbox temporarily unavailable" in result.response
        [row] = deliveries(store, DAY)
        assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
        assert "451 4.3.0" in row.response

        # A failed send is not "already sent": the next run tries again and succeeds.
        handler.reply = None
        [retry] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert retry.status == "sent" and len(handler.received) == 1


def test_recovers_within_the_retries(tmp_path, smtp):
    handler = Handler(reply="421 4.7.0 Try again later", fail_times=1)
    config = make_config(tmp_path, smtp(handler))
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
    assert (result.status, result.attempts) == ("sent", 2)
    assert len(handler.received) == 1


def test_permanent_rejection_is_reported_without_retrying(tmp_path, smtp):
    handler = Handler(reply="554 5.7.1 Message rejected as spam")
    config = make_config(tmp_path, smtp(handler))
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
    # 5xx is final per RFC 5321: repeating it would only look like spam.
    assert (result.status, result.attempts, handler.data_calls) == ("failed", 1, 1)
    assert result.response == "554 5.7.1 Message rejected as spam"
    assert "554 5.7.1 Message rejected as spam" in str(result)


def test_closed_port_is_retried_and_reported(tmp_path):
    config = make_config(tmp_path, free_port())  # nothing listens there
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert (result.status, result.attempts) == ("failed", 3)
        assert "ConnectionRefusedError" in result.response
        assert deliveries(store, DAY)[0].status == "failed"


def test_missing_password_is_reported_before_connecting(tmp_path, smtp, monkeypatch):
    monkeypatch.delenv("PAPERRADAR_SMTP_PASSWORD", raising=False)
    handler = Handler()
    config = make_config(tmp_path, smtp(handler), extra="")
    config.email.username = "radar"
    with Store(config.database) as store:
        results = deliver_all(store, config, sample_digest(), channels=["email"])
    assert all(r.status == "failed" and "PAPERRADAR_SMTP_PASSWORD" in r.response for r in results)
    assert handler.data_calls == 0


def test_empty_day_is_not_sent_by_default(tmp_path, smtp):
    handler = Handler()
    config = make_config(tmp_path, smtp(handler))
    empty = sample_digest(n_extra=0, sections={}).model_copy(update={"entries": []})
    with Store(config.database) as store:
        results = deliver_all(store, config, empty, channels=["email"])
        assert [r.status for r in results] == ["skipped"] and handler.data_calls == 0
        config.delivery.send_when_empty = True
        results = deliver_all(store, config, empty, channels=["email"])
    assert [r.status for r in results] == ["sent", "sent"]
    assert "No papers matched" in parse(handler.received[0]).get_body(("plain",)).get_content()


def test_header_injection_from_a_title_is_impossible(tmp_path, smtp):
    handler = Handler()
    config = make_config(tmp_path, smtp(handler))
    config.email.recipients = RECIPIENTS[:1]
    digest = sample_digest()
    digest.entries[0].paper.title = "Nice title\r\nBcc: victim@example.org\r\n\r\nbody"
    with Store(config.database) as store:
        [result] = deliver_all(store, config, digest, channels=["email"])
    assert result.status == "sent"
    msg = parse(handler.received[0])
    assert msg["Bcc"] is None and handler.received[0].rcpt_tos == RECIPIENTS[:1]
    assert "\n" not in msg["Subject"]


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_starttls_and_login(tmp_path, smtp, tls_files, monkeypatch):
    import ssl

    key, cert = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        # handled=False: let the server send the standard 535 on failure.
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = Handler()
    port = smtp(handler, tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True)
    # The client verifies the server certificate against the default store; point it at ours.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("PAPERRADAR_SMTP_PASSWORD", "s3cret")
    config = make_config(tmp_path, port, security="starttls")
    config.email.username = "radar"
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert result.status == "sent", result.response
        assert logins == [(b"radar", b"s3cret")] and len(handler.received) == 1

        monkeypatch.setenv("PAPERRADAR_SMTP_PASSWORD", "wrong")
        [bad] = deliver_all(store, config, sample_digest(), channels=["email"], force=True)
    assert bad.status == "failed" and bad.attempts == 1
    assert bad.response.startswith("535")


def test_a_send_in_progress_is_not_duplicated_and_a_stale_one_is_retried(tmp_path, smtp):
    handler = Handler()
    config = make_config(tmp_path, smtp(handler))
    config.email.recipients = RECIPIENTS[:1]
    with Store(config.database) as store:
        # Another run claimed the target a moment ago and is still sending.
        store.conn.execute(
            "INSERT INTO deliveries (day, channel, target, status, attempts, started_at) "
            "VALUES (?, 'email', ?, 'sending', 0, ?)",
            (DAY.isoformat(), RECIPIENTS[0], dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        )
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert result.status == "skipped" and "another run" in result.response
        assert handler.data_calls == 0
        # A claim from an hour ago belongs to a run that died: it is closed and the mail goes out.
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(timespec="seconds")
        store.conn.execute("UPDATE deliveries SET started_at = ?", (old,))
        [result] = deliver_all(store, config, sample_digest(), channels=["email"])
        assert result.status == "sent" and len(handler.received) == 1
        statuses = [r.status for r in deliveries(store, DAY)]
    assert statuses == ["sent", "failed"]
