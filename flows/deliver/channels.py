"""Delivery channels: apprise URLs from the watch list, and the default JSONL + console channel.

A channel's URL is a secret (it carries tokens and passwords): it is resolved
only when sending, and every error message is redacted before it is logged or
stored.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

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

    def send(self, alerts: list[dict[str, Any]], *, digest: bool = False) -> None:
        if self.url is None:
            _send_default(alerts, digest=digest)
            return
        import apprise

        with _captured_apprise_log() as log:  # apprise logs URLs (and their tokens) at debug level
            target = apprise.Apprise()
            if not target.add(self.url):
                raise DeliveryError(f"channel {self.name!r}: not a valid apprise URL")
            title, body, fmt = self._render(alerts, digest, urlsplit(self.url).scheme.lower())
            ok = target.notify(body=body, title=title, body_format=fmt)
        if not ok:
            reason = log.records[-1].getMessage() if log.records else "the service refused the message"
            raise DeliveryError(f"channel {self.name!r}: {redact(reason, self.url)}")

    @staticmethod
    def _render(alerts: list[dict[str, Any]], digest: bool, scheme: str) -> tuple[str, str, str]:
        """(title, body, apprise body format) for the channel's kind of service."""
        from apprise import NotifyFormat

        if digest:
            title, body = messages.digest(alerts)
            return title, body, NotifyFormat.TEXT
        [alert] = alerts
        title = messages.subject(alert)
        if scheme.startswith(("mailto", "email")):
            return title, messages.email_html(alert), NotifyFormat.HTML
        if scheme.startswith("slack"):
            return title, messages.slack(alert), NotifyFormat.MARKDOWN
        if scheme in ("json", "jsons"):
            return title, json.dumps(alert, ensure_ascii=False), NotifyFormat.TEXT
        return title, messages.plain(alert), NotifyFormat.TEXT


def resolve(watchlist: Watchlist, name: str) -> Channel:
    if name == DEFAULT and not watchlist.channels:
        return Channel(DEFAULT, None)
    spec = watchlist.channels.get(name)
    if isinstance(spec, SecretStr):
        return Channel(name, spec.get_secret_value())
    if isinstance(spec, PrefectSecret):
        from prefect.blocks.system import Secret

        try:
            return Channel(name, str(Secret.load(spec.prefect_secret).get()))
        except Exception as exc:
            raise DeliveryError(f"channel {name!r}: cannot read Prefect secret {spec.prefect_secret!r}: {type(exc).__name__}") from None
    raise DeliveryError(f"channel {name!r} is not in the watch list")


def redact(message: str, url: str) -> str:
    """``message`` with the URL and every secret-looking part of it replaced by ***."""
    parts = urlsplit(url)
    secrets = {url, parts.netloc, parts.password or "", parts.username or ""}
    secrets |= {unquote(p) for p in parts.path.split("/")}
    secrets |= {v for _, v in parse_qsl(parts.query)}
    for s in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        message = message.replace(s, "***")
    return re.sub(r"\b[a-z]+s?://\S+", "***", message)


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
    """Collect apprise's log records during a send instead of letting them reach any output."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append(record)

    def __enter__(self) -> "_captured_apprise_log":
        self._logger = logging.getLogger("apprise")
        self._saved = (self._logger.handlers[:], self._logger.propagate, self._logger.level)
        self._logger.handlers = [self]
        self._logger.propagate = False
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.handlers, self._logger.propagate, level = self._saved
        self._logger.setLevel(level)
