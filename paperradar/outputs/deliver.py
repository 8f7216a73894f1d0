"""Delivering a day's digest: e-mail, Slack, a JSON webhook, the feeds and the static site.

The digest is on disk before anything here runs, so a failed delivery loses
nothing: it is retried (tenacity), recorded with the server's answer in the
``deliveries`` table and reported. Pushes (e-mail, Slack, webhook) are
recorded per target, and a target that already got a day's digest is skipped
on a rerun unless ``force`` is set; a ``sending`` row claims the target first
so two overlapping runs do not both send. Files (feeds, site) are simply
rewritten every time, which is always safe.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import Retrying

from ..core.config import Config
from ..core.context import Stage
from ..core.digest import Digest
from ..core.errors import PaperradarError
from ..core.hookspecs import hookimpl
from ..core.repositories.deliveries import Delivery
from ..core.retry import Backoff, retrying
from ..core.store import Store, utcnow
from .channels import DeliveryChannel, DeliveryResult, delivery_channels
from .html import authors_text, clean, judgment_view, reason_text, truncate

# A 'sending' row older than this belongs to a run that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=30)


class DeliveryError(PaperradarError):
    """A delivery could not be made; the message carries the server's answer."""


# -- bookkeeping ---------------------------------------------------------------


def _claim(store: Store, day: dt.date, channel: str, target: str, force: bool) -> tuple[int | None, str]:
    """Insert a 'sending' row unless the target already has (or is getting) this day."""
    now = dt.datetime.now(dt.UTC)
    stale = (now - STALE_CLAIM).isoformat(timespec="seconds")
    # One transaction: two overlapping runs must not both see the target free and both claim it.
    with store.transaction():
        store.deliveries.fail_stale_claims(stale)
        current = store.deliveries.current(day, channel, target)
        if current and not force:
            if current.status == "sent":
                return None, f"already sent at {current.sent_at}; pass --force to send again"
            return None, f"another run has been sending it since {current.started_at}"
        return store.deliveries.claim(day, channel, target, utcnow()), ""


def _finish(store: Store, row_id: int, result: DeliveryResult) -> None:
    store.deliveries.finish(
        row_id,
        result.status,
        result.attempts,
        result.response[:2000],
        utcnow() if result.status == "sent" else None,
    )


def deliveries(store: Store, day: dt.date | None = None) -> list[Delivery]:
    """Recorded deliveries, newest first (all days, or one)."""
    return store.deliveries.recorded(day)


def _retrying(config: Config, should_retry: Callable[[BaseException], bool]) -> Retrying:
    d = config.delivery
    # Mail and webhook servers rarely send Retry-After; a plain doubling back-off is enough.
    wait = Backoff(d.retry_wait_seconds, max(60.0, d.retry_wait_seconds))
    return retrying(attempts=d.attempts, retry_if=should_retry, wait=wait)


def _push(
    store: Store,
    config: Config,
    day: dt.date,
    channel: str,
    target: str,
    send: Callable[[], str],
    should_retry: Callable[[BaseException], bool],
    describe: Callable[[BaseException], str],
    force: bool,
) -> DeliveryResult:
    row_id, why = _claim(store, day, channel, target, force)
    if row_id is None:
        return DeliveryResult(channel, target, "skipped", 0, why)
    attempts = 0
    try:
        for attempt in _retrying(config, should_retry):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                answer = send()
        result = DeliveryResult(channel, target, "sent", attempts, answer)
    except Exception as exc:
        result = DeliveryResult(channel, target, "failed", attempts, describe(exc))
    _finish(store, row_id, result)
    return result


# -- e-mail --------------------------------------------------------------------


def _smtp_answer(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{addr}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in exc.recipients.items()
        )
    return f"{type(exc).__name__}: {exc}"


def _smtp_should_retry(exc: BaseException) -> bool:
    # 4xx is "try again later"; 5xx is final (RFC 5321 §4.2.1): repeating a
    # rejected message only gets the sender flagged.
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, ssl.SSLCertVerificationError | smtplib.SMTPNotSupportedError):
        return False
    # Refused or dropped connections, timeouts: the server may be restarting.
    return isinstance(exc, OSError)


def _smtp_send_one(config: Config, message, recipient: str, password: str | None) -> str:
    cfg = config.email
    context = ssl.create_default_context()
    if cfg.security == "ssl":
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.port, timeout=cfg.timeout_seconds, context=context)
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.port, timeout=cfg.timeout_seconds)
    with smtp:
        smtp.ehlo()
        if cfg.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if cfg.username:
            smtp.login(cfg.username, password or "")
        # MAIL/RCPT/DATA by hand rather than send_message(): it keeps the
        # server's final answer (often a queue id) for the deliveries table.
        code, resp = smtp.mail(cfg.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, resp, cfg.sender)
        code, resp = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})
        # data() neither fixes bare LFs in bytes nor checks the final reply.
        # Headers unfolded up to RFC 5322's 998: a folded Subject can start with a blank.
        code, resp = smtp.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n", max_line_length=998)))
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)
        return f"{code} {resp.decode('utf-8', 'replace')}"


def deliver_email(store: Store, config: Config, digest: Digest, *, force: bool = False) -> list[DeliveryResult]:
    """One message per recipient, so nobody sees the others' addresses and a refusal affects one."""
    from .email import build_message

    cfg = config.email
    password = os.environ.get(cfg.password_env) if cfg.username else None
    results = []
    for recipient in cfg.recipients:
        if cfg.username and password is None:
            results.append(
                DeliveryResult(
                    "email",
                    recipient,
                    "failed",
                    0,
                    f"email.username is set but ${cfg.password_env} is empty; export the SMTP password there",
                )
            )
            continue
        message = build_message(digest, config, recipient)
        results.append(
            _push(
                store,
                config,
                digest.day,
                "email",
                recipient,
                lambda m=message, r=recipient: _smtp_send_one(config, m, r, password),
                _smtp_should_retry,
                _smtp_answer,
                force,
            )
        )
    return results


# -- Slack and webhooks -------------------------------------------------------------


class HTTPStatusFailure(Exception):
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.text = response.text[:500].strip()
        super().__init__(f"HTTP {self.status_code} {self.text}".strip())


def _http_should_retry(exc: BaseException) -> bool:
    if isinstance(exc, HTTPStatusFailure):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, httpx.TransportError)


def _http_answer(exc: BaseException) -> str:
    if isinstance(exc, HTTPStatusFailure):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _post_json(config: Config, url: str, payload: dict) -> str:
    with httpx.Client(timeout=config.delivery.timeout_seconds, follow_redirects=False) as client:
        response = client.post(url, json=payload, headers={"User-Agent": "paperradar"})
    if not response.is_success:
        raise HTTPStatusFailure(response)
    return f"HTTP {response.status_code} {response.text[:200]}".strip()


def slack_escape(text: str) -> str:
    """Slack mrkdwn: only &, < and > are special; escaping them makes <!channel> and links inert."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _top(digest: Digest, n: int):
    return sorted(digest.entries, key=lambda e: e.rank)[:n]


def slack_payload(digest: Digest, config: Config) -> dict:
    from .email import web_url

    url = web_url(config, digest)
    head = f"{config.site.title}: {len(digest.entries)} papers for {digest.day:%a %d %b %Y}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(head, 140)}},
    ]
    if url:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{url}|Full digest>"}]})
    for e in _top(digest, config.delivery.top):
        p = e.paper
        lines = [f"*{e.rank}. <{p.abs_url}|{slack_escape(truncate(p.title, 200))}>*"]
        lines.append(slack_escape(truncate(authors_text(p, 6), 200)))
        j = judgment_view(e.judgment)
        if j and (j["scores"] or j["text"]):
            scores = f"_{slack_escape(' · '.join(j['scores']))}_ " if j["scores"] else ""
            lines.append(scores + slack_escape(truncate(j["text"] or "", 400)))
        elif e.reasons:
            lines.append("Why: " + slack_escape(truncate("; ".join(reason_text(r) for r in e.reasons[:2]), 300)))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    if not digest.entries:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No papers matched your profile."}})
    return {"text": slack_escape(head), "blocks": blocks, "unfurl_links": False}


def webhook_payload(digest: Digest, config: Config) -> dict:
    from .email import web_url

    return {
        "day": digest.day.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "counts": digest.counts,
        "ranked_by": digest.ranked_by,
        "url": web_url(config, digest),
        "papers": [
            {
                "rank": e.rank,
                "arxiv_id": e.paper.arxiv_id,
                "title": clean(e.paper.title),
                "authors": e.paper.authors,
                "abs_url": e.paper.abs_url,
                "pdf_url": e.paper.pdf_url,
                "score": e.score,
                "reasons": [reason_text(r) for r in e.reasons],
                "judgment": e.judgment,
                "signals": e.signals,
            }
            for e in _top(digest, config.delivery.top)
        ],
    }


def redact_url(url: str) -> str:
    """What is safe to store of a URL: no credentials, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _deliver_http(
    store: Store, config: Config, digest: Digest, channel: str, url: str | None, target: str, payload: dict, force: bool
) -> DeliveryResult:
    if not url:
        return DeliveryResult(channel, target, "failed", 0, f"{target} is not set; export the webhook URL there")
    return _push(
        store,
        config,
        digest.day,
        channel,
        target,
        lambda: _post_json(config, url, payload),
        _http_should_retry,
        _http_answer,
        force,
    )


def deliver_slack(store: Store, config: Config, digest: Digest, *, force: bool = False) -> DeliveryResult:
    env = config.slack.webhook_url_env
    url = os.environ.get(env) or None
    return _deliver_http(store, config, digest, "slack", url, f"${env}", slack_payload(digest, config), force)


def deliver_webhook(store: Store, config: Config, digest: Digest, *, force: bool = False) -> DeliveryResult:
    cfg = config.webhook
    if cfg.url_env:
        url, target = os.environ.get(cfg.url_env) or None, f"${cfg.url_env}"
    else:
        url, target = cfg.url, redact_url(cfg.url)
    return _deliver_http(store, config, digest, "webhook", url, target, webhook_payload(digest, config), force)


# -- all channels --------------------------------------------------------------


def configured_channels(config: Config) -> list[str]:
    return [c.name for c in delivery_channels(config) if c.configured(config)]


def deliver_all(
    store: Store,
    config: Config,
    digest: Digest,
    *,
    force: bool = False,
    channels: Iterable[str] | None = None,
) -> list[DeliveryResult]:
    """Deliver ``digest`` on every configured channel (or only ``channels``).

    Never raises for a failed send: each outcome is a :class:`DeliveryResult`,
    so one broken channel does not keep the others from delivering.
    """
    known = {c.name: c for c in delivery_channels(config)}
    wanted = list(channels) if channels is not None else [n for n, c in known.items() if c.configured(config)]
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise DeliveryError(f"Unknown delivery channel {', '.join(unknown)}; use one of {', '.join(known)}.")
    results: list[DeliveryResult] = []
    empty = not digest.entries and not config.delivery.send_when_empty
    for name in wanted:
        channel = known[name]
        if channel.push and empty:
            why = "no papers today (delivery.send_when_empty = true sends anyway)"
            results.append(DeliveryResult(name, "-", "skipped", 0, why))
            continue
        if channel.how_to_configure and not channel.configured(config):
            raise DeliveryError(channel.how_to_configure)
        results += channel.deliver(store, config, digest, force)
    return results


@hookimpl
def register_delivery_channels(config):
    return [
        DeliveryChannel(
            "email",
            lambda c: c.email.configured,
            lambda store, c, digest, force: deliver_email(store, c, digest, force=force),
            "E-mail is not configured: set smtp_host, sender and recipients in [email].",
        ),
        DeliveryChannel(
            "slack",
            lambda c: bool(c.slack.webhook_url_env),
            lambda store, c, digest, force: [deliver_slack(store, c, digest, force=force)],
            "Slack is not configured: set webhook_url_env in [slack].",
        ),
        DeliveryChannel(
            "webhook",
            lambda c: bool(c.webhook.url or c.webhook.url_env),
            lambda store, c, digest, force: [deliver_webhook(store, c, digest, force=force)],
            "The webhook is not configured: set url or url_env in [webhook].",
        ),
    ]


def stage_deliver(ctx) -> dict:
    """Pipeline stage (after "digest"): deliver the digest the run just wrote."""
    results = deliver_all(ctx.store, ctx.config, ctx.digest)
    for r in results:
        if not r.ok:
            ctx.reporter.info(f"Delivery failed: {r}")
    return {
        "sent": sum(r.status == "sent" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "written": sum(r.status == "written" for r in results),
        "failed": [str(r) for r in results if not r.ok],
    }


@hookimpl
def register_stages(config):
    return [Stage("deliver", stage_deliver)]


def deliver_day(
    config: Config,
    day: dt.date,
    *,
    channels: Iterable[str] | None = None,
    force: bool = False,
) -> list[DeliveryResult]:
    """Deliver the digest written for ``day`` (writing it first if only the store has the day)."""
    from .archive import load_digest

    digest = load_digest(config.output_dir, day)
    with Store(config.database) as store:
        if digest is None:
            if store.profile_hash_for_day(day) is None:
                raise DeliveryError(
                    f"There is no digest for {day} in {config.output_dir}; run `paperradar run --date {day}` first."
                )
            from ..core.pipeline import run_day

            digest = run_day(config, day, store=store, stages=["digest"], command="digest").digest
        return deliver_all(store, config, digest, force=force, channels=channels)
