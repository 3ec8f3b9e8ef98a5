"""An alert as an analyst reads it: plain text, Slack mrkdwn, email HTML.

Everything that comes from an article is escaped for its target: Slack control
sequences (``<!channel>``, ``<@U…>``, ``*bold*``) become inert text, HTML is
escaped, only http(s) links are linked, and subjects lose line breaks.
"""

from __future__ import annotations

import html
import re
from typing import Any

SEVERITY_MARK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}
_SLACK_SPECIAL = re.compile(r"[&<>]")
_SLACK_FORMAT = re.compile(r"([*_~`|])")


def subject(alert: dict[str, Any]) -> str:
    """One line: severity, rule title, headline. No CR/LF can reach a mail header."""
    article = alert.get("article", {})
    line = f"[{alert['severity'].upper()}] {alert['title']}: {article.get('title') or ''}"
    return " ".join(line.split())[:200]


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE) else None


def _also(alert: dict[str, Any]) -> list[str]:
    first = alert.get("article", {}).get("source")
    return [o.get("source") or o.get("url") or "?" for o in alert.get("outlets", [])[1:] if (o.get("source") or o.get("url")) != first]


def _pieces(alert: dict[str, Any], evidence: dict[str, Any]) -> list[tuple[str, bool]]:
    """The evidence sentence cut into (text, is_matched_term) pieces."""
    text, base = evidence["text"], evidence["start"]
    pieces, pos = [], 0
    for term in sorted(evidence.get("terms", []), key=lambda t: t["start"]):
        s, e = term["start"] - base, term["end"] - base
        if s < pos or e > len(text):
            continue
        pieces += [(text[pos:s], False), (text[s:e], True)]
        pos = e
    pieces.append((text[pos:], False))
    return [(t, m) for t, m in pieces if t]


def plain(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    lines = [subject(alert), f"Actors: {', '.join(alert.get('actors', [])) or '-'}"]
    for e in alert.get("evidence", [])[:3]:
        lines.append("> " + "".join(f"[{t}]" if m else t for t, m in _pieces(alert, e)))
    lines.append(f"Outlet: {article.get('source') or '-'}   Published: {article.get('published') or '-'}")
    if article.get("url"):
        lines.append(f"Link: {article['url']}")
    if also := _also(alert):
        lines.append(f"Also reported by: {', '.join(also)}")
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    text = _SLACK_SPECIAL.sub(lambda m: {"&": "&amp;", "<": "&lt;", ">": "&gt;"}[m.group()], text)
    return _SLACK_FORMAT.sub("\u200b\\1\u200b", text)  # a zero-width space defuses formatting


def slack(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    mark = SEVERITY_MARK.get(alert["severity"], "")
    lines = [f"{mark} *{alert['severity'].upper()}* · *{_slack_escape(alert['title'])}*"]
    lines.append(f"*{_slack_escape(article.get('title') or '')}*")
    for e in alert.get("evidence", [])[:3]:
        body = "".join(f"*{_slack_escape(t)}*" if m else _slack_escape(t) for t, m in _pieces(alert, e))
        lines.append("> " + body.replace("\n", " "))
    meta = [f"Actors: {_slack_escape(', '.join(alert.get('actors', [])) or '-')}", _slack_escape(article.get("source") or "-")]
    if article.get("published"):
        meta.append(_slack_escape(str(article["published"])))
    if url := _safe_url(article.get("url")):
        meta.append(f"<{url.replace('|', '%7C').replace('>', '%3E')}|link>")
    lines.append(" · ".join(meta))
    if also := _also(alert):
        lines.append(f"Also reported by: {_slack_escape(', '.join(also))}")
    return "\n".join(lines)


def email_html(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    esc = html.escape
    parts = [f"<h3>{esc(alert['severity'].upper())}: {esc(alert['title'])}</h3>", f"<p><b>{esc(article.get('title') or '')}</b></p>"]
    for e in alert.get("evidence", [])[:3]:
        body = "".join(f"<mark><b>{esc(t)}</b></mark>" if m else esc(t) for t, m in _pieces(alert, e))
        parts.append(f"<blockquote>{body}</blockquote>")
    parts.append(f"<p>Actors: {esc(', '.join(alert.get('actors', [])) or '-')}<br>")
    parts.append(f"Outlet: {esc(article.get('source') or '-')} · Published: {esc(str(article.get('published') or '-'))}<br>")
    if url := _safe_url(article.get("url")):
        parts.append(f'<a href="{esc(url, quote=True)}">{esc(url)}</a>')
    elif article.get("url"):
        parts.append(f"Link (not a web address): {esc(article['url'])}")
    parts.append("</p>")
    if also := _also(alert):
        parts.append(f"<p>Also reported by: {esc(', '.join(also))}</p>")
    return "".join(parts)


def digest(alerts: list[dict[str, Any]]) -> tuple[str, str]:
    """(title, plain-text body) of a digest of several alerts."""
    title = f"tocsin digest: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    lines = []
    for a in alerts:
        article = a.get("article", {})
        lines.append(f"- {subject(a)} ({article.get('source') or '-'}) {article.get('url') or ''}".rstrip())
    return title, "\n".join(lines)
