"""Delivery channels: apprise URLs from the watch list, and the default JSONL + console channel.

A channel's URL is a secret (it carries tokens and passwords): it is resolved
only when sending, and every error message is redacted before it is logged or
stored.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import httpx
from pydantic import SecretStr

from extractors.watchlist import PrefectSecret, Rule, Watchlist
from flows.deliver import messages
from flows.settings import tocsin_home

DEFAULT = "default"


def channels_for(watchlist: Watchlist, rule: Rule) -> list[str]:
    """Where a rule's alerts go: its ``notify``, else every channel; the default channel if none."""
    return watchlist.channels_for(rule) if watchlist.channels else [DEFAULT]


class DeliveryError(Exception):
    """A send that failed; the message is safe to log (no URL, no secret)."""


@dataclass
class Channel:
    name: str
    url: str | None  # None: the default JSONL + console channel
    actor_names: dict[str, str] = field(default_factory=dict)  # actor id -> name, for messages

    def send(self, alerts: list[dict[str, Any]], *, digest: bool = False) -> None:
        alerts = [messages.named(a, self.actor_names) for a in alerts]
        if self.url is None:
            _send_default(alerts, digest=digest)
            return
        with _captured_apprise_log() as log:  # apprise logs URLs (and their tokens) at debug level
            try:
                _send(self.url, alerts, digest)
            except DeliveryError as exc:
                raise DeliveryError(f"channel {self.name!r}: {redact(str(exc), self.url)}") from None
            except _Refused:
                reason = log.records[-1].getMessage() if log.records else "the service refused the message"
                raise DeliveryError(f"channel {self.name!r}: {redact(reason, self.url)}") from None
            except Exception as exc:  # a network error, a URL apprise or httpx cannot use: a failed send, never a secret
                raise DeliveryError(f"channel {self.name!r}: {type(exc).__name__}: {redact(str(exc), self.url)}") from None


class _Refused(Exception):
    """apprise reported a failed send (its log says why)."""


TIMEOUT = httpx.Timeout(30.0)
SLACK_DIRECT = ("slack+http://", "slack+https://")  # a Slack-compatible incoming webhook at this URL


def _send(url: str, alerts: list[dict[str, Any]], digest: bool) -> None:
    """Send through the right path: tocsin's own Slack and webhook JSON payloads (posted with
    httpx, so what is escaped is what arrives), apprise for every other service."""
    import apprise
    from apprise.plugins.custom_json import NotifyJSON
    from apprise.plugins.slack import NotifySlack

    if url.lower().startswith(SLACK_DIRECT):
        _send_slack(url, messages.slack(alerts, digest_=digest))
        return
    target = apprise.Apprise.instantiate(url)
    if target is None:
        raise DeliveryError("not a valid apprise URL")
    if isinstance(target, NotifySlack):
        _send_slack(url, messages.slack(alerts, digest_=digest))
    elif isinstance(target, NotifyJSON):
        base = f"{'https' if target.secure else 'http'}://{target.host}" + (f":{target.port}" if target.port else "")
        auth = (target.user, target.password or "") if target.user else None
        _post(base + (target.fullpath or "/"), messages.webhook(alerts, digest_=digest), headers=target.headers, params=target.params,
              auth=auth, verify=target.verify_certificate, method=target.method)
    else:
        title, body, fmt = _render(alerts, digest, url.split(":", 1)[0].lower())
        kind = apprise.NotifyType(messages.notify_type(messages.top_severity(alerts)))
        if not target.notify(body=body, title=title, body_format=fmt, notify_type=kind):
            raise _Refused()


class SlackTarget(NamedTuple):
    endpoint: str
    headers: dict[str, str]
    channels: list[str]  # empty for an incoming webhook
    username: str | None = None  # ``slack://NAME@…``: the name the message is posted under


def slack_endpoint(url: str) -> SlackTarget:
    """Where a Slack channel URL posts. An incoming webhook (``slack://A/B/C``,
    ``https://hooks.slack.com/services/A/B/C``, or ``slack+https://URL`` for any
    Slack-compatible webhook) takes one POST; a bot token (``slack://xoxb-…/#chan``) posts to
    chat.postMessage once per channel."""
    import apprise
    from apprise.plugins.slack import NotifySlack, SlackMode

    if url.lower().startswith(SLACK_DIRECT):
        return SlackTarget(url.split("+", 1)[1], {}, [])
    target = apprise.Apprise.instantiate(url)
    if not isinstance(target, NotifySlack):
        raise DeliveryError("not a Slack URL")
    if target.mode is SlackMode.WEBHOOK:
        return SlackTarget(f"{target.webhook_url}/{target.token_a}/{target.token_b}/{target.token_c}", {}, [], target.user)
    if target.mode is not SlackMode.BOT:
        raise DeliveryError(f"Slack {target.mode} URLs are not supported; use an incoming webhook or a bot token")
    channels = [c for c in target.channels if c]
    if not channels:
        raise DeliveryError("a Slack bot URL needs a channel: slack://xoxb-…/#channel")
    return SlackTarget(target.api_url.format("chat.postMessage"), {"Authorization": f"Bearer {target.access_token}"}, channels, target.user)


def _send_slack(url: str, payload: dict[str, Any]) -> None:
    target = slack_endpoint(url)
    if target.username:
        payload = {**payload, "username": target.username}
    if not target.channels:
        _post(target.endpoint, payload, headers=target.headers)
    for channel in target.channels:
        answer = _post(target.endpoint, {**payload, "channel": channel}, headers=target.headers)
        if not answer.get("ok"):
            raise DeliveryError(f"Slack refused the message: {str(answer.get('error'))[:100]}")


def _post(url: str, payload: dict[str, Any], *, headers: dict[str, str] | None = None, method: str = "POST",
          verify: bool = True, **kwargs: Any) -> dict[str, Any]:
    """POST ``payload`` as JSON; the answer's JSON object (if any). Not 2xx: a DeliveryError."""
    with httpx.Client(timeout=TIMEOUT, verify=verify, follow_redirects=False) as client:
        r = client.request(method, url, json=payload, headers={"User-Agent": "tocsin", **(headers or {})}, **kwargs)
    if not 200 <= r.status_code < 300:
        raise DeliveryError(f"HTTP {r.status_code} {r.reason_phrase}: {' '.join(r.text[:100].split())}")
    try:
        answer = r.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _render(alerts: list[dict[str, Any]], digest: bool, scheme: str) -> tuple[str, str, str]:
    """(title, body, apprise body format) for the services apprise sends to."""
    from apprise import NotifyFormat

    email = scheme.startswith(("mailto", "email"))
    if digest:
        title, body = messages.digest(alerts)
        return (title, messages.email_digest_html(alerts), NotifyFormat.HTML) if email else (title, body, NotifyFormat.TEXT)
    [alert] = alerts
    title = messages.subject(alert)
    if email:
        return title, messages.email_html(alert), NotifyFormat.HTML
    return title, messages.plain(alert), NotifyFormat.TEXT


def resolve(watchlist: Watchlist, name: str) -> Channel:
    names = {a.id: a.name for a in watchlist.actors}
    if name == DEFAULT and not watchlist.channels:
        return Channel(DEFAULT, None, names)
    spec = watchlist.channels.get(name)
    if isinstance(spec, SecretStr):
        return Channel(name, spec.get_secret_value(), names)
    if isinstance(spec, PrefectSecret):
        from prefect.blocks.system import Secret

        try:
            return Channel(name, str(Secret.load(spec.prefect_secret).get()), names)
        except Exception as exc:
            raise DeliveryError(f"channel {name!r}: cannot read Prefect secret {spec.prefect_secret!r}: {type(exc).__name__}") from None
    raise DeliveryError(f"channel {name!r} is not in the watch list")


def redact(message: str, url: str) -> str:
    """``message`` with the URL and every secret-looking part of it replaced by ***, in every
    form it can take: as written, percent-decoded and percent-encoded."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        parts, user, password = urlsplit(""), None, None
    found = {url, parts.netloc, password or "", user or "", parts.fragment}
    found |= set(parts.path.split("/")) | set(parts.fragment.split("/"))
    found |= {v for _, v in parse_qsl(parts.query)}
    forms = {f for s in found for raw in (unquote(s),) for f in (s, raw, quote(raw, safe=""), quote_plus(raw), quote(raw))}
    for s in sorted((s for s in forms if len(s) >= 4), key=len, reverse=True):
        message = message.replace(s, "***")
    return re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", "***", message)


def _send_default(alerts: list[dict[str, Any]], *, digest: bool) -> None:
    path = tocsin_home() / "alerts.jsonl"
    with path.open("a", encoding="utf-8") as f:
        for alert in alerts:
            f.write(json.dumps(alert, ensure_ascii=False) + "\n")
        f.flush()
    if digest:
        title, body = messages.digest(alerts)
        print(f"{title}\n{body}", flush=True)
    else:
        for alert in alerts:
            print(messages.plain(alert) + "\n", flush=True)


class _captured_apprise_log(logging.Handler):
    """Keep apprise's and httpx's log records from any output during a send (they log URLs, and
    the tokens in them); apprise's warnings are kept to say why a send failed."""

    LOGGERS = ("apprise", "httpx", "httpcore")

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and record.name.startswith("apprise"):
            self.records.append(record)

    def __enter__(self) -> "_captured_apprise_log":
        self._saved = []
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
            logger.handlers, logger.propagate = [self], False
            logger.setLevel(logging.DEBUG if name == "apprise" else logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger, handlers, propagate, level in self._saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
