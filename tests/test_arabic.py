"""Arabic sources (docs/arabic.md): normal form, proclitics, sentences, NEAR, mixed script."""

from __future__ import annotations

import json
import pickle
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from extractors.config import ConfigError
from extractors.feedlist import load_feeds
from extractors.matcher import Matcher
from extractors.normalize import normalize
from extractors.rules import compile_watchlist
from extractors.scan import ScanResult, scan_article
from extractors.seed import parse_seed
from extractors.segment import sentence_spans
from extractors.watchlist import load_watchlist
from flows.compiled import load_compiled
from flows.pipeline import Config, BatchStats, process_batch
from flows.store import db
from flows.store.db import connect, entries
from flows.store.outbox import drain
from tests.helpers import ROOT, SEED, article, compiled_for, write_watchlist
from tests.servers import HTTPServer, SMTPServer, respond
from tests.test_db import state_url  # noqa: F401  (the fixture)


def found(text: str, *terms: str) -> list[str]:
    """The original text of every hit, in order."""
    matcher = Matcher([(t, False, t, "g") for t in terms])
    norm = normalize(text)
    return [text[norm.to_original(h.start) : norm.to_original(h.end)] for h in matcher.find(norm)]


# --- 1. The normal form: each rule, both ways (text folded to the term, term folded to the text) ---

@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("تَهْدِيدٌ", "تهديد"),  # tashkeel (fatha, sukun, kasra, dammatan)
        ("جداً", "جدا"),  # tanwin on alef, in most news copy
        ("اللّٰه", "الله"),  # shadda and the superscript alef
        ("تهديـــد", "تهديد"),  # tatweel
        ("أمريكا", "امريكا"),  # alef with hamza above
        ("إيران", "ايران"),  # alef with hamza below
        ("آمرلي", "امرلي"),  # alef with madda
        ("ٱلحشد", "الحشد"),  # alef wasla
        ("مستشفى", "مستشفي"),  # alef maqsura = ya
        ("المقاومة", "المقاومه"),  # ta marbuta = ha
        ("ایران", "ايران"),  # Persian ya
        ("کتائب", "كتائب"),  # Persian kaf
        ("١٥٢٠", "1520"),  # Arabic-Indic digits
        ("۱۵۲۰", "1520"),  # Persian digits
    ],
)
def test_each_arabic_fold_matches_both_ways(written: str, plain: str) -> None:
    assert found(f"قال {written} اليوم", plain) == [written]
    assert found(f"قال {plain} اليوم", written) == [plain]


def test_normal_form_of_a_whole_phrase_keeps_original_offsets() -> None:
    text = "أعلنَت «تنسيقيّة المقاومة العراقيّة» أنّ المصالح الأمريكيّة سيتمّ استهدافُها"
    assert found(text, "تنسيقية المقاومة العراقية", "سيتم استهداف*") == [
        "تنسيقيّة المقاومة العراقيّة", "سيتمّ استهدافُها"
    ]
    norm = normalize(text)
    assert "تنسيقيه المقاومه العراقيه" in norm.lower
    assert len(norm.lower) < len(text)


def test_marks_next_to_spaces_fold_like_spaces() -> None:
    norm = normalize("a \u064e b\u0640 \u0651  c")
    assert norm.lower == "a b c"
    assert [norm.original[norm.to_original(i)] for i in range(len(norm.lower))] == ["a", " ", "b", " ", "c"]


def test_arabic_digit_groups_are_one_word() -> None:
    assert found("قتل ١٬٥٢٠ شخصا", "1,520") == ["١٬٥٢٠"]


def test_english_text_normal_form_is_unchanged() -> None:
    text = "Kata\u2019ib  Hezbollah \u2014 Iran-backed"
    norm = normalize(text)
    assert norm.lower == "kata'ib hezbollah iran backed"


# --- 2. Proclitics: the prefixes stripped, and the ones that are not ---

GROUPS = ("كتائب حزب الله", "حزب الله", "الحشد الشعبي")


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("وكتائب حزب الله", "وكتائب حزب الله"),  # و
        ("فكتائب حزب الله", "فكتائب حزب الله"),  # ف
        ("بكتائب حزب الله", "بكتائب حزب الله"),  # ب
        ("لكتائب حزب الله", "لكتائب حزب الله"),  # ل
        ("ككتائب حزب الله", "ككتائب حزب الله"),  # ك
        ("ولكتائب حزب الله", "ولكتائب حزب الله"),  # conjunction + preposition
        ("فبكتائب حزب الله", "فبكتائب حزب الله"),
        ("والحشد الشعبي", "والحشد الشعبي"),  # و + ال
        ("فالحشد الشعبي", "فالحشد الشعبي"),  # ف + ال
        ("بالحشد الشعبي", "بالحشد الشعبي"),  # ب + ال
        ("كالحشد الشعبي", "كالحشد الشعبي"),  # ك + ال
        ("للحشد الشعبي", "للحشد الشعبي"),  # ل + ال = لل
        ("وللحشد الشعبي", "وللحشد الشعبي"),  # و + ل + ال
        ("وبالحشد الشعبي", "وبالحشد الشعبي"),  # و + ب + ال
        ("وحزب الله", "وحزب الله"),
    ],
)
def test_proclitic_before_the_first_word_is_a_mention(text: str, hit: str) -> None:
    assert found(f"قال إن {text}، اليوم", *GROUPS) == [hit]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("حزبي الله", "a suffix is not stripped"),
        ("الحزب الله", "the article is not stripped from a name that has none"),
        ("لحشد الشعبي", "ل alone before a name with ال is not a contraction"),
        ("لالحشد الشعبي", "ل + ال is written لل, not لال"),
        ("بلحزب الله", "ب + ل is not a prefix pair"),
        ("وبلحزب الله", "three prefixes are one too many"),
        ("مزحزب الله", "other letters are part of the word"),
        ("حزب والله", "nothing is stripped before a later word"),
        ("حزب اللهم", "nothing is added after the last word"),
        ("iran'حزب الله", "an apostrophe between letters joins two words into one"),
        ("iran'وحزب الله", "the same with a proclitic"),
    ],
)
def test_not_a_mention(text: str, why: str) -> None:
    assert found(f"قال {text} اليوم", "حزب الله", "الحشد الشعبي") == [], why


def test_article_is_not_stripped_from_a_name() -> None:
    """حماس (Hamas) vs الحماس (the enthusiasm)."""
    assert found("أبدى الجمهور الحماس", "حماس") == []


def test_accepted_false_match_a_word_whose_first_letter_is_a_proclitic_letter() -> None:
    """بحماس can be "with enthusiasm" as well as "with Hamas": both are taken as a mention."""
    assert found("استقبلوه بحماس", "حماس") == ["بحماس"]


def test_clitics_on_lexicon_terms_and_wildcards() -> None:
    terms = ("سيتم استهداف*", "توعد*", "نفت")
    assert found("وسيتم استهدافهم", *terms) == ["وسيتم استهدافهم"]
    assert found("فتوعدت الحركة", *terms) == ["فتوعدت"]
    assert found("ونفت الكتائب", *terms) == ["ونفت"]
    assert found("التوعد", *terms) == []  # the article is not stripped
    assert found("سيتم الاستهداف", *terms) == []


def test_wildcard_on_an_arabic_stem() -> None:
    assert found("استهدف واستهدفت واستهدافها والمستهدف", "استهدف*") == ["استهدف", "واستهدفت"]
    assert found("يستهدفون", "استهدف*") == []


def test_english_terms_get_no_proclitics() -> None:
    assert found("wIran and Iran", "Iran") == ["Iran"]


# --- 3. Sentences and words ---

def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_arabic_sentence_ends() -> None:
    text = "وقع الهجوم فجراً. وقال المتحدث إن الرد قادم! هل ستنفذ الفصائل تهديدها؟ لا أحد يعلم."
    assert sentences(text) == ["وقع الهجوم فجراً.", "وقال المتحدث إن الرد قادم!", "هل ستنفذ الفصائل تهديدها؟", "لا أحد يعلم."]


def test_arabic_comma_and_semicolon_end_no_sentence() -> None:
    text = "قالت الكتائب إنها سترد، وأضافت أن الصبر نفد؛ لكنها لم تحدد موعدا."
    assert sentences(text) == [text]


def test_single_letter_abbreviation_and_quotes() -> None:
    text = 'وقال د. علي حسن إن «الرد قادم». ثم غادر.'
    assert sentences(text) == ['وقال د. علي حسن إن «الرد قادم».', "ثم غادر."]


def test_mixed_script_sentences() -> None:
    text = "The group said it would respond. وقالت الكتائب إنها سترد. Kataib Hezbollah denied it."
    assert sentences(text) == ["The group said it would respond.", "وقالت الكتائب إنها سترد.", "Kataib Hezbollah denied it."]


def fired(tmp_path: Path, query: str, *paragraphs: str) -> list[list[str]]:
    """The evidence texts of the rule, or [] when it does not fire."""
    result = scan_article(article(*paragraphs), compiled_for(tmp_path, query))
    return [[e.text for e in a.evidence] for a in result.alerts]


def test_near_counts_arabic_words_like_english_ones(tmp_path: Path) -> None:
    # Between "الكتائب" and "سيتم": three words (وقالت is one word, the و with it).
    text = "هددت الكتائب أمس وقالت إن سيتم الرد."
    assert fired(tmp_path, 'الكتائب NEAR/3 "سيتم"', text) == [[text]]
    assert fired(tmp_path, 'الكتائب NEAR/2 "سيتم"', text) == []
    # Diacritics and tatweel are not words, and do not split one.
    marked = "هدّدت الكتائبُ أمـــس وقالَتْ إنّ سيتمّ الرد."
    assert fired(tmp_path, 'الكتائب NEAR/3 "سيتم"', marked) == [[marked]]
    assert fired(tmp_path, 'الكتائب NEAR/2 "سيتم"', marked) == []


def test_near_across_scripts(tmp_path: Path) -> None:
    text = "Kataib Hezbollah قالت في بيان إن سيتم الرد"
    assert fired(tmp_path, 'actor:kataib-hezbollah NEAR/4 "سيتم"', text) == [[text]]
    assert fired(tmp_path, 'actor:kataib-hezbollah NEAR/3 "سيتم"', text) == []


def test_sentence_scope_splits_arabic(tmp_path: Path) -> None:
    text = "تحدثت الكتائب عن الوضع. وفي خبر آخر، سيتم افتتاح جسر."
    assert fired(tmp_path, 'الكتائب NEAR/20 "سيتم"', text) == []


# --- 4. Language per article ---

@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Kataib Hezbollah threatened U.S. forces.", "en"),
        ("Kata\u2019ib Hezbollah threatened \u201cAmerican\u201d forces.", "en"),
        ("هددت كتائب حزب الله القوات الأمريكية.", "ar"),
        ("هددت Kataib Hezbollah القوات الأمريكية في العراق.", "ar"),  # mostly Arabic letters
        ("Kataib Hezbollah (كتائب حزب الله) threatened U.S. forces in Iraq on Monday.", "en"),
        ("2024 - 12 / ١٢", "und"),
    ],
)
def test_language_is_detected_from_the_script(text: str, language: str) -> None:
    assert article(text, title="").detected_language == language


def test_rule_limited_to_a_language(tmp_path: Path) -> None:
    rules = [
        {"id": "any", "title": "Any", "severity": "high", "query": "kind:armed-group"},
        {"id": "ar-only", "title": "Arabic", "severity": "high", "query": "kind:armed-group", "lang": ["ar"]},
        {"id": "en-only", "title": "English", "severity": "high", "query": "kind:armed-group", "lang": ["en"]},
    ]
    compiled = compile_watchlist(load_watchlist(write_watchlist(tmp_path, rules)))
    english = scan_article(article("Kataib Hezbollah threatened the base."), compiled)
    arabic = scan_article(article("قالت Kataib Hezbollah في بيان نشرته اليوم إنها سترد على الهجوم."), compiled)
    assert (english.language, [a.rule for a in english.alerts]) == ("en", ["any", "en-only"])
    assert (arabic.language, [a.rule for a in arabic.alerts]) == ("ar", ["any", "ar-only"])


def test_rule_lang_is_validated(tmp_path: Path) -> None:
    for bad in (["Arabic"], []):
        rule = {"id": "r", "title": "R", "severity": "high", "query": "kind:armed-group", "lang": bad}
        with pytest.raises(ConfigError):
            load_watchlist(write_watchlist(tmp_path, [rule]))


@pytest.mark.parametrize("recorded", [[1, 2, 3], [1, 2, 3, 6]], ids=["before-5", "made-at-6-before-5-landed"])
def test_version_5_adds_entry_language_in_place(state_url: str, recorded: list[int]) -> None:
    engine = sa.create_engine(state_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        db.metadata.create_all(conn)
        conn.execute(sa.text("ALTER TABLE entries DROP COLUMN language"))
        conn.execute(db.schema_version.insert(), [{"version": v} for v in recorded])
        conn.execute(sa.text("INSERT INTO entries (feed_id, identity, first_seen, fingerprint) VALUES ('f', 'i', CURRENT_TIMESTAMP, 'x')"))
    db.upgrade(engine)
    db.upgrade(engine)
    with engine.begin() as conn:
        db._entry_language(conn)  # idempotent
        assert conn.execute(sa.select(db.entries.c.identity, db.entries.c.language)).all() == [("i", None)]
        assert set(conn.execute(sa.select(db.schema_version.c.version)).scalars()) == {1, *(v for v, _ in db.MIGRATIONS)}
    engine.dispose()


def test_default_feed_list_has_arabic_outlets_marked_with_their_language(tmp_path: Path) -> None:
    feeds = load_feeds(ROOT / "deployments" / "feeds.yaml").feeds
    arabic = [f.id for f in feeds if f.language == "ar"]
    assert {"shafaq-ar", "alsumaria-ar", "baghdad-today-ar", "almayadeen-ar", "almasirah-ar"} <= set(arabic)
    bad = tmp_path / "feeds.yaml"
    bad.write_text("version: 1\nfeeds:\n  - {id: x, name: X, url: 'https://example.org/rss', language: Arabic}\n")
    with pytest.raises(ConfigError, match="feeds.yaml:3"):
        load_feeds(bad)


# --- The Arabic test articles and the default watch list ---

ARTICLES = ROOT / "tests" / "arabic"
ARABIC_SEED = ARTICLES / "100_71da078e77156709.txt"
KEY_SENTENCE = "سيتم استهدافها"


def _scan(path: Path) -> ScanResult:
    _, compiled = load_compiled(str(ROOT / "deployments" / "watchlist.yaml"))
    return scan_article(parse_seed(path.read_text(), id=path.stem, path=str(path)), compiled)


def test_default_watch_list_fires_the_expected_rules_on_every_arabic_article() -> None:
    expected = yaml.safe_load((ARTICLES / "expected.yaml").read_text())
    files = sorted(ARTICLES.glob("*.txt"))
    assert len(files) >= 40 and set(expected) == {f.stem for f in files}
    results = {f.stem: _scan(f) for f in files}
    assert {r.language for r in results.values()} == {"ar"}
    assert {stem: [a.rule for a in r.alerts] for stem, r in results.items()} == expected


def test_arabic_seed_raises_the_english_seed_alerts_with_the_arabic_sentence() -> None:
    english, arabic = _scan(SEED), _scan(ARABIC_SEED)
    assert [(a.rule, a.severity) for a in arabic.alerts] == [(a.rule, a.severity) for a in english.alerts]
    threat = next(a for a in arabic.alerts if a.rule == "armed-group-threat")
    assert threat.severity == "high"
    [sentence] = [e for e in threat.evidence if KEY_SENTENCE in e.text]
    assert sentence.text.startswith("لكنّ تنسيقية المقاومة العراقية أعلنت الآن")
    assert {"تنسيقية المقاومة العراقية", KEY_SENTENCE} <= {t.text for t in sentence.terms}
    parsed = parse_seed(ARABIC_SEED.read_text(), id="x").text  # offsets index the parsed text
    assert parsed[sentence.start : sentence.end] == sentence.text
    assert all(parsed[t.start : t.end] == t.text for t in sentence.terms)


def _config(tmp_path: Path, channels: dict[str, str] | None) -> Config:
    doc = yaml.safe_load((ROOT / "deployments" / "watchlist.yaml").read_text())
    doc.pop("channels", None)
    if channels:
        doc["channels"] = channels
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return Config(str(path), f"sqlite:///{tmp_path / 'state.db'}")


def _record_arabic_seed(config: Config) -> BatchStats:
    seed = parse_seed(ARABIC_SEED.read_text(), id=ARABIC_SEED.stem)
    seed = seed.model_copy(update={"url": "https://outlet.example/ar/1"})
    return process_batch(config, [("feed-ar", "ar-1", seed)])


def test_arabic_seed_alert_leaves_by_slack_email_and_webhook_with_the_arabic_sentence(tmp_path: Path) -> None:
    smtp, hook = SMTPServer(), HTTPServer()
    hook.routes["/hook"] = respond(b"ok")
    hook.routes["/slack"] = respond(b"ok")
    try:
        config = _config(tmp_path, {
            "mail": f"mailto://127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
            "hook": f"json://127.0.0.1:{hook.url.rsplit(':', 1)[1]}/hook",
            "slack": f"slack+{hook.url}/slack",  # a Slack-compatible incoming webhook on 127.0.0.1
        })
        stats = _record_arabic_seed(config)
        assert stats.alerts_by_severity.get("high", 0) >= 1
        report = drain(connect(config.state_url), load_watchlist(config.watchlist))
        assert not report.failed, report
        with connect(config.state_url).begin() as conn:
            assert conn.execute(sa.select(entries.c.language)).scalars().all() == ["ar"]
        high = []
        for mail in smtp.messages:
            subject = str(make_header(decode_header(mail["Subject"])))
            parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
            if subject.startswith("[HIGH]") and "القوات المدعومة من إيران" in subject:  # the Arabic headline
                high.append(parts)
        assert any(KEY_SENTENCE in p["text/html"] and KEY_SENTENCE in p["text/plain"] for p in high)
        slack = [json.loads(body) for m, p, _, body in hook.requests if m == "POST" and p == "/slack"]
        high = [json.dumps(s, ensure_ascii=False) for s in slack if s["text"].startswith("🟠 *HIGH*")]
        assert any(f"*{KEY_SENTENCE}*" in h and "*تنسيقية المقاومة العراقية*" in h for h in high)  # the evidence, terms in bold
        posted = hook.posted_json("/hook")  # the alert objects themselves
        [threat] = [a for a in posted if a["rule"] == "armed-group-threat"]
        assert threat["article"]["language"] == "ar"
        assert any(KEY_SENTENCE in e["text"] for e in threat["evidence"])
    finally:
        smtp.close()
        hook.close()


def test_arabic_seed_alert_on_the_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, None)
    _record_arabic_seed(config)
    capsys.readouterr()
    drain(connect(config.state_url), load_watchlist(config.watchlist))
    blocks = capsys.readouterr().out.split("\n\n")  # the default channel prints one block per alert
    high = [b for b in blocks if b.startswith("[HIGH]") and "القوات المدعومة من إيران" in b]  # the Arabic headline
    assert any(KEY_SENTENCE in b and "تنسيقية المقاومة العراقية" in b for b in high)


def test_arabic_text_outside_the_single_byte_code_page_matches_the_same() -> None:
    """Arabic text is scanned in cp1256; a text that cp1256 cannot hold (here a ✓) is scanned as
    UTF-8, with the same hits at the same offsets."""
    terms = ("كتائب حزب الله", "سيتم استهداف*", "Kataib Hezbollah")
    text = "قالت وكتائب حزب الله إن القواعد سيتم استهدافها، وقالت Kataib Hezbollah ذلك."
    assert found(text, *terms) == found(text + " ✓", *terms) == ["وكتائب حزب الله", "سيتم استهدافها", "Kataib Hezbollah"]
    matcher = pickle.loads(pickle.dumps(Matcher([(t, False, t, "g") for t in terms])))
    assert len(matcher.find(normalize(text))) == 3


def test_fast_mark_search_agrees_with_the_pattern() -> None:
    """``_squeezed`` finds marks with bytes.find in cp1256; on 20,000 random strings of letters,
    spaces, newlines and marks (one of them, ٰ, outside cp1256) it gives the spans of ``_SQUEEZE``."""
    import random

    from extractors import normalize as n

    rng = random.Random(1)
    alphabet = ["ب", "ا", " ", " ", "\u064e", "\u0651", "\u0640", "\u064b", "x", "\n", "\u0670"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert n._squeezed(text) == [m.span() for m in n._SQUEEZE.finditer(text)], repr(text)


def test_an_arabic_feed_is_polled_and_its_language_stands_for_items_without_letters(tmp_path: Path) -> None:
    from extractors.feedlist import Feed
    from flows.ingest.feeds import poll_feeds_sync
    from flows.ingest.fetch import Limits
    from tests import feeds_fixtures as fx
    from tests.feedserver import FeedServer, respond

    server = FeedServer()
    try:
        server.routes["/ar"] = respond(fx.rss([
            {"title": "كتائب حزب الله تتوعد القوات الأمريكية", "guid": "g1", "summary": "توعدت كتائب حزب الله القوات الأمريكية برد قاس."},
            {"title": "١٢ / ٢٠٢٦", "guid": "g2"},
        ]), headers={"Content-Type": "application/rss+xml"})
        feed = Feed(id="ar", name="وكالة الاختبار", url=server.url + "/ar", language="ar")
        limits = Limits(total_timeout=1.0, read_timeout=0.5, max_bytes=1024 * 1024, max_redirects=3)
        report = poll_feeds_sync([feed], connect(f"sqlite:///{tmp_path / 'state.db'}"), limits=limits)
    finally:
        server.close()
    by_guid = {i.identity.rsplit("/", 1)[-1]: i.article for i in report.items}
    assert (by_guid["g1"].language, by_guid["g1"].detected_language) == ("ar", "ar")
    assert (by_guid["g2"].language, by_guid["g2"].detected_language) == ("ar", "ar")  # no letters: the feed's word


def _reference(text: str, alias: str) -> list[tuple[int, int]]:
    """The proclitic rule of docs/arabic.md written plainly over words: the alias's words in a row,
    one space apart, the first one carrying an allowed prefix."""
    from extractors.matcher import WORD

    norm = normalize(text).lower
    words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(norm)]
    first, *rest = alias.split(" ")
    if first.startswith("ال"):
        forms = [(c + p + first) for c in ("", "و", "ف") for p in ("", "ب", "ك")] + [c + "لل" + first[2:] for c in ("", "و", "ف")]
    else:
        forms = [c + p + first for c in ("", "و", "ف") for p in ("", "ب", "ك", "ل")]
    found = []
    for i, (start, end, word) in enumerate(words):
        if word not in forms or i + len(rest) >= len(words) + (0 if rest else 1):
            continue
        following = words[i + 1 : i + 1 + len(rest)]
        if [w for _, _, w in following] == rest and all(
            norm[a_end:b_start] == " " for (_, a_end, _), (b_start, _, _) in zip(words[i : i + len(rest)], following)
        ):
            found.append((start, following[-1][1] if following else end))
    return found


def test_proclitic_matching_agrees_with_a_plain_reference_on_random_text() -> None:
    import random

    rng = random.Random(7)
    pieces = ["حزب", "الله", "الحزب", "و", "ف", "ب", "ك", "ل", "لل", "ال", "ي", "ه", " ", " ", " ", "، ", ". ", "'", "\n", "x"]
    for alias in ("حزب", "حزب الله", "الحزب", "الحزب الله"):
        matcher = Matcher([(alias, False, alias, "g")])
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
            text += " ✓" if rng.random() < 0.3 else ""  # outside cp1256: the UTF-8 path
            got = [(h.start, h.end) for h in matcher.find(normalize(text))]
            assert got == _reference(text, alias), (alias, text)
