"""An alert as an analyst reads it: plain text (console, email subject), Slack, email HTML,
webhook JSON and the Prefect alert list (markdown).

Text from an article is hostile until escaped. Each output format has exactly one
escaper here (``text``, ``mrkdwn``, ``html_text``, ``md``), applied once, to article
text only, when the message is built; nothing downstream escapes again (tocsin posts
its own Slack and webhook payloads, see ``flows/deliver/channels.py``). Every escaper
first drops control characters (ANSI/OSC terminal escapes, CR/LF) and the article's
own bidi controls; right-to-left text is then isolated (FSI…PDI, or ``dir="auto"`` in
HTML) so it cannot reorder the English labels around it. See docs/messages.md.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

SEVERITY_MARK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}
SEVERITY_TYPE = {"critical": "failure", "high": "failure", "medium": "warning", "low": "info", "info": "info"}
SEVERITY_COLOUR = {"critical": "#8b0000", "high": "#e01e5a", "medium": "#ecb22e", "low": "#439fe0", "info": "#9e9e9e"}
_RANK = ["info", "low", "medium", "high", "critical"]
QUOTES = 3  # evidence sentences shown per alert

_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_FSI, _PDI = "\u2068", "\u2069"
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'|`\\^{}]+$", re.IGNORECASE)


# ---- the escapers: one per output format -------------------------------------------------

def _clean(s: object) -> str:
    """Control characters (ESC, CR, LF, C1 …) become spaces, the text's own bidi embeddings,
    overrides and isolates are dropped, runs of white space become one space."""
    chars = (" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(s).translate(_BIDI_CONTROLS))
    return re.sub(r"\s+", " ", "".join(chars))


def _rtl(s: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in s)


def _isolate(s: str) -> str:
    """One line, trimmed; wrapped in FSI…PDI if it holds right-to-left text."""
    s = s.strip()
    return f"{_FSI}{s}{_PDI}" if _rtl(s) else s


def text(s: object) -> str:
    """Plain text and the terminal: one clean line, right-to-left text isolated."""
    return _isolate(_clean(s))


_SLACK_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _mrkdwn_piece(s: object) -> str:
    escaped = re.sub(r"[&<>]", lambda m: _SLACK_SPECIAL[m.group()], _clean(s))
    return re.sub(r"([*_~`])", "\u200b\\1\u200b", escaped)  # a zero-width space defuses formatting


def mrkdwn(s: object) -> str:
    """Slack mrkdwn: ``& < >`` as entities (so ``<!channel>``, ``<@U…>`` and ``<url|label>`` are
    text), formatting characters defused, right-to-left text isolated."""
    return _isolate(_mrkdwn_piece(s))


def html_text(s: object) -> str:
    """HTML element content and attribute values (right-to-left: ``dir="auto"`` on the element)."""
    return html.escape(_clean(s), quote=True)


def _md_piece(s: object) -> str:
    escaped = re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", _clean(s))
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace("://", ":\\/\\/")  # no autolink either


def md(s: object) -> str:
    """Markdown (the Prefect artifacts): every punctuation character that markdown or a table
    could read is backslash-escaped; ``<`` and ``&`` become entities (no raw HTML); ``://`` is
    broken up so a bare address is not turned into a link."""
    return _isolate(_md_piece(s))


def safe_url(url: object) -> str | None:
    """``url`` if it is an http(s) address that cannot break out of a link, else None."""
    return url if isinstance(url, str) and _SAFE_URL.match(url) else None


# ---- what every format shows -------------------------------------------------------------

def named(alert: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """The alert with ``actor_names`` (the watch list's names, in the order of ``actors``)."""
    return {**alert, "actor_names": [names.get(a, a) for a in alert.get("actors", [])]}


def notify_type(severity: str) -> str:
    """apprise's notification type for a severity (sets the colour/icon of most services)."""
    return SEVERITY_TYPE.get(severity, "info")


def _actors(alert: dict[str, Any]) -> str:
    return ", ".join(alert.get("actor_names") or alert.get("actors") or []) or "-"


def _headline(alert: dict[str, Any]) -> str:
    return alert.get("article", {}).get("title") or ""


def _quotes(alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The evidence to quote: not the headline again (it is shown once, on its own line)."""
    head = _clean(_headline(alert)).strip()
    return [e for e in alert.get("evidence", []) if _clean(e["text"]).strip() != head][:QUOTES]


def _headline_terms(alert: dict[str, Any]) -> dict[str, Any] | None:
    """The evidence that is the headline itself, so its matched terms are emphasized there."""
    head = _clean(_headline(alert)).strip()
    return next((e for e in alert.get("evidence", []) if head and _clean(e["text"]).strip() == head), None)


def _pieces(evidence: dict[str, Any]) -> list[tuple[str, bool]]:
    """The evidence sentence cut into (text, is_matched_term) pieces."""
    text_, base = evidence["text"], evidence["start"]
    pieces, pos = [], 0
    for term in sorted(evidence.get("terms", []), key=lambda t: t["start"]):
        s, e = term["start"] - base, term["end"] - base
        if s < pos or e > len(text_):
            continue
        pieces += [(text_[pos:s], False), (text_[s:e], True)]
        pos = e
    pieces.append((text_[pos:], False))
    return [(t, m) for t, m in pieces if t]


def _sentence(evidence: dict[str, Any] | None, plain: str, esc: Any, em: Any) -> str:
    """An evidence sentence (or ``plain`` when there is none) escaped piece by piece with
    matched terms emphasized by ``em``; not yet isolated."""
    if evidence is None:
        return esc(plain)
    return "".join(em(esc(t)) if m else esc(t) for t, m in _pieces(evidence))


def _published(article: dict[str, Any]) -> str | None:
    """The publication time as ``2026-11-23 10:00 UTC``; None when unknown."""
    value = article.get("published")
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when.tzinfo else when.strftime("%Y-%m-%d %H:%M")


def _also(alert: dict[str, Any]) -> list[str]:
    first = alert.get("article", {}).get("source")
    return [o.get("source") or o.get("url") or "?" for o in alert.get("outlets", [])[1:] if (o.get("source") or o.get("url")) != first]


def _sentence_text(evidence: dict[str, Any] | None, plain: str, em: str) -> str:
    """Plain text sentence, terms between ``em`` marks, isolated as a whole if right-to-left."""
    return _isolate(_sentence(evidence, plain, _clean, lambda t: f"{em}{t}{em}"))


# ---- plain text: console, email subject, digest ------------------------------------------

def subject(alert: dict[str, Any]) -> str:
    """One line: severity, rule title, headline. No control character can reach a mail header."""
    return f"[{_clean(alert['severity']).upper()}] {text(alert['title'][:80])}: {text(_headline(alert)[:160])}"


def plain(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    lines = [f"[{_clean(alert['severity']).upper()}] {text(alert['title'])}",
             _sentence_text(_headline_terms(alert), _headline(alert), "*"),
             f"Actors: {text(_actors(alert))}"]
    lines += ["> " + _sentence_text(e, "", "*") for e in _quotes(alert)]
    meta = [f"Outlet: {text(article.get('source') or '-')}"]
    if published := _published(article):
        meta.append(f"Published: {text(published)}")
    lines.append("   ".join(meta))
    if article.get("url"):
        lines.append(f"Link: {text(article['url'])}")
    if also := _also(alert):
        lines.append(f"Also reported by: {text(', '.join(also))}")
    return "\n".join(lines)


def digest(alerts: list[dict[str, Any]]) -> tuple[str, str]:
    """(title, plain-text body) of a digest of several alerts."""
    title = f"tocsin digest: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    lines = []
    for a in alerts:
        article = a.get("article", {})
        url = f" {text(article['url'])}" if article.get("url") else ""
        lines.append(f"- {subject(a)} ({text(article.get('source') or '-')}){url}")
    return title, "\n".join(lines)


def top_severity(alerts: Iterable[dict[str, Any]]) -> str:
    return max((a.get("severity", "info") for a in alerts), key=lambda s: _RANK.index(s) if s in _RANK else 0, default="info")


# ---- Slack (tocsin's own payload: an attachment for the colour, blocks inside) ------------

def _slack_link(url: object, label: str) -> str:
    """``<url|label>`` for an http(s) address, else the (escaped) label alone."""
    good = safe_url(url)
    return f"<{good}|{label}>" if good else label


def _slack_sentence(evidence: dict[str, Any] | None, plain: str) -> str:
    return _isolate(_sentence(evidence, plain, _mrkdwn_piece, lambda t: f"*{t}*"))


def _slack_headline(alert: dict[str, Any]) -> str:
    """The headline as the link to the article: bold, or with its matched terms bold if it matched."""
    matched = _headline_terms(alert)
    label = _slack_sentence(matched, _headline(alert)) or "(no headline)"
    link = _slack_link(alert.get("article", {}).get("url"), label)
    return link if matched else f"*{link}*"


def _slack_title(alert: dict[str, Any]) -> str:
    sev = _clean(alert["severity"])
    return f"{SEVERITY_MARK.get(sev, '')} *{sev.upper()}* · {mrkdwn(alert['title'])}"


def _slack_alert_text(alert: dict[str, Any]) -> str:
    """The headline (the link to the article), then the evidence quotes."""
    return "\n".join([_slack_headline(alert)] + ["> " + _slack_sentence(e, "") for e in _quotes(alert)])


def _slack_context(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    meta = [f"Actors: {mrkdwn(_actors(alert))}", mrkdwn(article.get("source") or "-")]
    if published := _published(article):
        meta.append(mrkdwn(published))
    if also := _also(alert):
        meta.append(f"also: {mrkdwn(', '.join(also))}")
    return " · ".join(meta)


SLACK_SECTION = 2900  # characters in one section (Slack's limit is 3000)
SLACK_DIGEST_LINES = 40  # alerts listed in a Slack digest; the rest are counted


def slack(alerts: list[dict[str, Any]], *, digest_: bool = False) -> dict[str, Any]:
    """The Slack message (webhook or chat.postMessage body) for one alert or a digest."""
    sev = top_severity(alerts)
    if not digest_:  # the message text is the title line; the coloured attachment holds the rest
        [alert] = alerts
        title = _slack_title(alert)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _slack_alert_text(alert)[:SLACK_SECTION]}},
                  {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_context(alert)[:SLACK_SECTION]}]}]
    else:
        title = f"*{digest(alerts)[0]}*"
        lines = [f"{_slack_title(a)}: " + _slack_link(a.get("article", {}).get("url"), mrkdwn(_headline(a)) or "link")
                 for a in alerts[:SLACK_DIGEST_LINES]]
        if len(alerts) > SLACK_DIGEST_LINES:
            lines.append(f"… and {len(alerts) - SLACK_DIGEST_LINES} more")
        blocks, chunk = [], ""
        for line in lines:
            if chunk and len(chunk) + len(line) + 1 > SLACK_SECTION:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = ""
            chunk = f"{chunk}\n{line}" if chunk else line[:SLACK_SECTION]
        if chunk:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return {"text": title, "attachments": [{"color": SEVERITY_COLOUR.get(sev, "#9e9e9e"), "blocks": blocks}]}


# ---- email HTML ---------------------------------------------------------------------------

# apprise writes the plain-text part from this HTML; the hidden asterisks mark matched terms there.
_EM_HTML = '<mark><b><span style="display:none;mso-hide:all">*</span>{}<span style="display:none;mso-hide:all">*</span></b></mark>'


def _html_sentence(evidence: dict[str, Any] | None, plain: str) -> str:
    return _sentence(evidence, plain, html_text, _EM_HTML.format)


def email_html(alert: dict[str, Any]) -> str:
    article = alert.get("article", {})
    sev = html_text(alert["severity"]).upper()
    colour = SEVERITY_COLOUR.get(alert["severity"], "#9e9e9e")
    headline = _html_sentence(_headline_terms(alert), _headline(alert))
    if url := safe_url(article.get("url")):
        headline = f'<a href="{html.escape(url, quote=True)}">{headline}</a>'
    parts = [f'<p style="border-left:6px solid {colour};padding-left:8px"><b>{sev}</b> · {html_text(alert["title"])}</p>',
             f'<h3 dir="auto">{headline}</h3>']
    parts += [f'<p dir="auto" style="border-left:3px solid #ccc;padding-left:8px">{_html_sentence(e, "")}</p>' for e in _quotes(alert)]
    meta = [f'Actors: <span dir="auto">{html_text(_actors(alert))}</span>', f'Outlet: <span dir="auto">{html_text(article.get("source") or "-")}</span>']
    if published := _published(article):
        meta.append(f"Published: {html_text(published)}")
    parts.append(f"<p>{' · '.join(meta)}</p>")
    if url := safe_url(article.get("url")):
        parts.append(f'<p>Link: <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></p>')
    elif article.get("url"):
        parts.append(f"<p>Link (not a web address): {html_text(article['url'])}</p>")
    if also := _also(alert):
        parts.append(f'<p>Also reported by: <span dir="auto">{html_text(", ".join(also))}</span></p>')
    return "".join(parts)


def email_digest_html(alerts: list[dict[str, Any]]) -> str:
    """A digest as email HTML: one line per alert, the headline linked to its article."""
    lines = []
    for a in alerts:
        article = a.get("article", {})
        headline = html_text(_headline(a) or "(no headline)")
        if url := safe_url(article.get("url")):
            headline = f'<a href="{html.escape(url, quote=True)}">{headline}</a>'
        lines.append(f'<li dir="auto"><b>{html_text(a["severity"]).upper()}</b> · {html_text(a["title"])}: {headline}'
                     f' ({html_text(article.get("source") or "-")})</li>')
    return f"<ul>{''.join(lines)}</ul>"


# ---- webhook JSON -------------------------------------------------------------------------

def webhook(alerts: list[dict[str, Any]], *, digest_: bool = False) -> dict[str, Any]:
    """The webhook body: the alert object itself (plus ``type`` and ``summary``), or a digest
    object listing the alerts. Structured data: a JSON encoder escapes it, nothing else."""
    if not digest_:
        [alert] = alerts
        return {**alert, "type": notify_type(alert["severity"]), "summary": subject(alert)}
    title, _ = digest(alerts)
    return {"type": notify_type(top_severity(alerts)), "digest": True, "summary": title, "alerts": alerts}


# ---- the Prefect alert list (markdown artifact) ------------------------------------------

def table_row(alert: dict[str, Any]) -> dict[str, Any]:
    """What the run's alert list keeps of an alert (``alert`` carries ``article``): plain data,
    escaped only when the list is written (``alert_list``)."""
    article = alert.get("article", {})
    return {"severity": alert["severity"], "rule": alert["rule"], "title": alert["title"], "headline": article.get("title") or "",
            "evidence": (_quotes(alert) or alert.get("evidence", []))[:1], "actors": _actors(alert),
            "outlet": article.get("source") or "", "link": safe_url(article.get("url")) or ""}


def alert_list(rows: list[dict[str, Any]]) -> str:
    """The run's alerts as markdown, most severe first, one block each: a heading with the
    severity and rule, the headline linked to the article with outlet and actors, and the
    matched sentence quoted with its terms in bold. Blocks, not a table: long headlines and
    sentences wrap at any window width instead of pushing columns off screen."""
    if not rows:
        return "No alerts."
    blocks = []
    for r in sorted(rows, key=lambda r: -_RANK.index(r["severity"]) if r["severity"] in _RANK else 0):
        headline = md(r["headline"] or "(no headline)")
        if url := safe_url(r.get("link")):
            headline = f"[{headline}]({url.replace('(', '%28').replace(')', '%29')})"
        about = " · ".join(md(x) for x in (r["outlet"], r["actors"]) if x)
        lines = [f"#### {SEVERITY_MARK.get(r['severity'], '')} {md(r['severity'].upper())} · {md(r['title'])}",
                 f"{headline}" + (f" — {about}" if about else "")]
        if r["evidence"]:
            lines.append("> " + _isolate(_sentence(r["evidence"][0], "", _md_piece, lambda t: f"**{t}**")))
        blocks.append("\n\n".join(lines))
    return "\n\n".join(blocks)
