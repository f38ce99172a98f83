"""Dashboard tests with Streamlit's AppTest against a demo store built by the real pipeline.

Every page is reached through the sidebar's ``page`` radio, and every widget is driven at least
once. Downloads are read back through the media storage AppTest keeps in memory.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, text
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pipeline import schema
from pipeline.config import load_config
from pipeline.queries import article_detail
from pipeline.run import run_pipeline
from pipeline.snapshots import config_series
from pipeline.store import open_store
from tests.conftest import ROOT, write_config
from tests.demo_store import HOSTILE_TEXT, HOSTILE_TITLE, demo_config, fresh_copy
from views.alerts import alerts_command
from views.first_paint import PAINTED

DASHBOARD = str(ROOT / "dashboard.py")
DECERT_TITLE = "Washington declares Colombia failed demonstrably in drug fight"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_config(tmp_path_factory)


def test_signal_without_scores_is_flagged_by_its_slider_and_on_the_model_page(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured signal that was never trained: its slider would move nothing, silently."""
    config = fresh_copy(demo, tmp_path)
    text = config.read_text(encoding="utf-8")
    untrained = "  tariff_tension:\n    label: Tariff tension\n    weight: 0.3\nindex:\n"
    config.write_text(text.replace("index:\n", untrained, 1), encoding="utf-8")
    at = _start(config, monkeypatch)
    notes = [c.value for c in at.sidebar.caption if "Tariff tension" in c.value]
    assert len(notes) == 1 and notes[0].startswith("No scores for Tariff tension in the store")
    assert not any("Decertification risk" in c.value for c in at.sidebar.caption)
    _page(at, "Model")
    assert [w.value for w in at.warning if "Tariff tension" in w.value] == [
        "No scores for Tariff tension in the store (no trained model? `policy-risk train`, then"
        " `policy-risk run`)."
    ]


def test_alerts_command_names_a_config_only_when_not_the_shipped_one(tmp_path: Path) -> None:
    since = date(2025, 9, 1)
    assert alerts_command(ROOT / "config.yaml", since) == "policy-risk alerts --since 2025-09-01"
    odd = tmp_path / "my config.yaml"
    assert alerts_command(odd, since) == (
        f"policy-risk --config '{odd}' alerts --since 2025-09-01"
    )


class _KeptFiles(MemoryMediaFileStorage):
    """The real in-memory media storage, kept reachable so a test can read a download."""

    last: _KeptFiles | None = None

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint)
        _KeptFiles.last = self


def _start(config: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(config))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", _KeptFiles)
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(demo: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return _start(demo, monkeypatch)


def _page(at: AppTest, name: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(name).run()
    assert not at.exception, at.exception
    return at


def _tab(at: AppTest, name: str) -> AppTest:
    """Open one of the overview's lazy tabs (Signals, Why did it move?, Snapshot)."""
    at.session_state["overview_tab"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label == label)


def _download(at: AppTest, key: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    assert _KeptFiles.last is not None
    return bytes(_KeptFiles.last.get_file(file_id).content)


def _csv(at: AppTest, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_download(at, key).decode("utf-8"))))


def _table(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _figure(at: AppTest, key: str) -> dict[str, Any]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key))
    return dict(json.loads(chart.proto.spec))


def _articles(at: AppTest) -> pd.DataFrame:
    return _table(at, "relevance")


# Overview ------------------------------------------------------------------------------------


def test_overview_renders_charts_metrics_and_downloads(app: AppTest) -> None:
    assert app.title[0].value == "Policy Risk Monitor"
    assert len(app.get("plotly_chart")) == 2
    assert int(_metric(app, "Articles stored").replace(",", "")) >= 4
    assert not app.get("download_button")  # lazy tabs: only the open one is drawn
    _tab(app, "Snapshot")
    assert len(app.get("plotly_chart")) == 1
    keys = {b.proto.id.rsplit("-", 1)[-1] for b in app.get("download_button")}
    assert {"download_series", "download_series_manifest", "download_series_zip"} <= keys


def test_composite_chart_draws_threshold_volume_and_labelled_axes(app: AppTest) -> None:
    figure = _figure(app, "composite_chart")
    layout = figure["layout"]
    names = {trace.get("name") for trace in figure["data"]}
    assert {"Composite (per period)", "Composite (rolling mean)", "Relevant articles"} <= names
    assert "Threshold crossed (alert)" in names
    assert layout["yaxis"]["title"]["text"].startswith("Risk")
    assert layout["yaxis2"]["title"]["text"] == "Articles per period"
    assert any("alert threshold" in str(a.get("text")) for a in layout["annotations"])


def test_weight_sliders_change_the_composite(app: AppTest) -> None:
    before = _metric(app, "Composite (latest, smoothed)")
    app.sidebar.slider(key="weight_decertification_risk").set_value(1.0).run()
    app.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    only_risk = _metric(app, "Composite (latest, smoothed)")
    app.sidebar.slider(key="weight_decertification_risk").set_value(0.0).run()
    app.sidebar.slider(key="weight_cooperation_tone").set_value(1.0).run()
    only_tone = _metric(app, "Composite (latest, smoothed)")
    assert not app.exception
    assert len({before, only_risk, only_tone}) == 3
    latest = next(m for m in app.metric if m.label == "Composite (latest, smoothed)")
    assert latest.delta == "day of 2026-09-08"  # the newest seed about the pair (not 11-10)


def test_reset_returns_weights_to_file_values(app: AppTest) -> None:
    app.sidebar.slider(key="weight_decertification_risk").set_value(-0.5).run()
    assert "differ from the config file" in " ".join(c.value for c in app.sidebar.caption)
    app.sidebar.button(key="reset_weights").click().run()
    assert app.sidebar.slider(key="weight_decertification_risk").value == pytest.approx(0.6)


def test_series_download_matches_weights_in_effect(app: AppTest) -> None:
    app.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    rows = _csv(_tab(app, "Snapshot"), "download_series")
    assert rows and {"thin", "provisional", "all_articles", "sources"} <= set(rows[0])
    assert {"cooperation_tone_risk", "cooperation_tone_risk_smoothed"} <= set(rows[0])
    assert "cooperation_tone" not in rows[0]  # the articles CSV's tone (-1..+1), not this risk
    for row in rows:
        if row["composite"]:
            assert float(row["composite"]) == pytest.approx(float(row["decertification_risk"]))
    manifest = json.loads(_download(app, "download_series_manifest"))
    assert manifest["weights"]["cooperation_tone"] == 0.0
    assert manifest["rows"] == len(rows) and manifest["kind"] == "series"
    archive = zipfile.ZipFile(io.BytesIO(_download(app, "download_series_zip")))
    assert sorted(archive.namelist()) == [
        "policy_risk_series.csv",
        "policy_risk_series.manifest.json",
    ]
    assert archive.read("policy_risk_series.csv") == _download(app, "download_series")


def test_period_switch_aggregates_the_series(app: AppTest) -> None:
    daily = len(_csv(_tab(app, "Snapshot"), "download_series"))
    app.sidebar.selectbox(key="period").set_value("month").run()
    monthly = _csv(app, "download_series")
    assert 0 < len(monthly) < daily
    assert all(row["period"].endswith("-01") for row in monthly)
    app.sidebar.number_input(key="window").set_value(1).run()
    for row in _csv(app, "download_series"):
        assert row["composite"] == row["composite_smoothed"]


def test_share_view_normalises_by_volume_and_can_standardise(app: AppTest) -> None:
    app.radio(key="measure").set_value("Share of articles (EPU-style)").run()
    assert not app.exception
    assert _figure(app, "share_chart")["layout"]["yaxis"]["title"]["text"] == "% of all articles"
    app.checkbox(key="standardise").check().run()
    figure = _figure(app, "share_chart")
    assert figure["layout"]["yaxis"]["title"]["text"].startswith("Index")
    standardised = _csv(_tab(app, "Snapshot"), "download_series")
    app.checkbox(key="standardise").uncheck().run()
    plain = _csv(app, "download_series")
    assert "composite_share" in plain[0]
    assert [r["composite_share"] for r in standardised] != [r["composite_share"] for r in plain]


def test_calendar_and_shading_toggles(app: AppTest) -> None:
    notes = [a["text"] for a in _figure(app, "composite_chart")["layout"]["annotations"]]
    assert any("majors-list" in n for n in notes) and any("INCSR" in n for n in notes)
    shapes = len(_figure(app, "composite_chart")["layout"]["shapes"])
    app.checkbox(key="yearly_events").uncheck().run()
    app.checkbox(key="shade").uncheck().run()
    layout = _figure(app, "composite_chart")["layout"]
    assert not any("majors-list" in a["text"] for a in layout["annotations"])
    assert len(layout["shapes"]) < shapes


def test_why_did_it_move_lists_the_articles_behind_a_period(app: AppTest) -> None:
    slider = _tab(app, "Why did it move?").select_slider(key="why_range")
    september = [o for o in slider.options if o.startswith("2025-09")]
    slider.set_range(september[0], september[-1]).run()
    table = _table(app, "contribution")
    assert DECERT_TITLE in table["title"].tolist()
    assert table["vs_previous"].abs().is_monotonic_decreasing
    assert any("up:" in terms for terms in table["decertification_risk_terms"])
    assert not any("Event date:" in t.value for t in app.text)  # detail only on request
    app.selectbox(key="why_article").select_index(0).run()
    assert any("Event date:" in t.value for t in app.text)


def _composites(demo: Path) -> pd.Series:
    """The composite per period (the chart's points) for the demo config, as the overview
    computes it with the sidebar's defaults."""
    return config_series(load_config(demo))["composite"].dropna()


def test_why_did_it_move_explains_a_fall_by_the_articles_that_pulled_it_down(
    app: AppTest, demo: Path
) -> None:
    """QA5 #2: a fall is explained by negative contributions, not by "pushed it up" levels."""
    points = _composites(demo)
    falls = [
        (day, before)
        for before, day in zip(points.index, points.index[1:], strict=False)
        if points[day] < points[before] - 0.1
    ]
    day, before = falls[0]
    slider = _tab(app, "Why did it move?").select_slider(key="why_range")
    slider.set_range(f"{day:%Y-%m-%d}", f"{day:%Y-%m-%d}").run()
    previous = float(points[before])
    assert any(f"Why it moved from {previous:.3f}" in c.value for c in app.caption)
    table = _table(app, "contribution")
    composites = table["article_composite"].astype(float)
    assert (table["contribution"] < 0).any()
    assert ((table["contribution"] < 0) == (composites < previous - 5e-5)).all()
    assert table["vs_previous"].astype(float).tolist() == pytest.approx(
        (composites - previous).tolist(), abs=1e-3
    )
    if len(table) < 20:  # the whole selection is listed: its parts add up to the change
        change = composites.mean() - previous
        assert table["contribution"].sum() == pytest.approx(change, abs=1e-3)


def test_why_did_it_move_without_an_earlier_period_ranks_by_level(app: AppTest) -> None:
    slider = _tab(app, "Why did it move?").select_slider(key="why_range")
    slider.set_range(slider.options[0], slider.options[0]).run()
    assert any("no move to explain" in c.value for c in app.caption)
    table = _table(app, "contribution")
    assert table["contribution"].isna().all()
    assert table["article_composite"].is_monotonic_decreasing


def test_why_did_it_move_signs_follow_the_previous_level_with_a_negative_weight(
    app: AppTest,
) -> None:
    """A negative weight gives negative composites; a part's sign still says up or down."""
    app.sidebar.slider(key="weight_cooperation_tone").set_value(-1.0).run()
    slider = _tab(app, "Why did it move?").select_slider(key="why_range")
    slider.set_range(slider.options[1], slider.options[-1]).run()
    table = _table(app, "contribution")
    parts, distance = table["contribution"].astype(float), table["vs_previous"].astype(float)
    assert (table["article_composite"].astype(float) < 0).any()
    assert parts.notna().all() and (parts * distance >= 0).all()
    assert distance.abs().is_monotonic_decreasing


def test_filters_with_no_match_warn_instead_of_failing(app: AppTest) -> None:
    app.sidebar.text_input(key="search").input("zzzz-no-such-words").run()
    assert not app.exception
    assert "No scored articles match" in app.warning[0].value


# First paint of a browser session -----------------------------------------------------------


def _browser_session(config: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """A first run as a browser makes it: the client tells its URL (AppTest tells none)."""
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(config))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.context = {"url": "http://localhost:8501/"}
    at.run()
    assert not at.exception, at.exception
    return at


def _painted(at: AppTest) -> AppTest:
    """What the probe's report does in a browser once the chart is painted."""
    at.session_state[PAINTED] = True
    at.run()
    assert not at.exception, at.exception
    return at


def test_first_browser_run_draws_the_composite_alone(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _browser_session(demo, monkeypatch)
    assert [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")] == ["composite_chart"]
    assert not at.sidebar.radio and not at.sidebar.slider and not at.metric and not at.checkbox
    assert "Loading the filters" in at.sidebar.caption[0].value
    assert [e.key for e in at.sidebar.get("bidi_component")] == ["first_paint_probe"]


def test_painted_first_run_gets_the_whole_page_around_the_same_chart(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _browser_session(demo, monkeypatch)
    first = at.get("plotly_chart")[0].proto
    _painted(at)
    kept = next(c.proto for c in at.get("plotly_chart") if c.proto.id == first.id)
    assert kept.spec == first.spec  # same element, same figure: the browser keeps the drawing
    assert at.sidebar.radio(key="page").value == "Overview"
    assert not at.sidebar.get("bidi_component") and not at.sidebar.caption
    assert len(at.get("plotly_chart")) == 2 and _metric(at, "Articles stored")
    at.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    assert _figure(at, "composite_chart") != json.loads(first.spec)


def test_first_browser_run_without_a_chart_draws_the_whole_page(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fresh_copy(demo, tmp_path, extra="  relevance_threshold: 1.0")
    at = _browser_session(config, monkeypatch)
    assert at.session_state[PAINTED]
    assert "No scored articles match" in at.warning[0].value
    assert at.sidebar.radio(key="page").value == "Overview" and _metric(at, "Articles stored")


def test_chart_options_sit_below_the_composite(app: AppTest) -> None:
    blocks = [(i, b) for i, b in sorted(app.main.children.items()) if hasattr(b, "children")]
    chart = next(i for i, b in blocks if b.get("plotly_chart"))
    options = next(i for i, b in blocks if b.get("checkbox"))
    metrics = next(i for i, b in blocks if b.get("metric"))
    assert 0 < chart < options < metrics


# Articles ------------------------------------------------------------------------------------


def test_search_filter_narrows_the_table_and_the_download(app: AppTest) -> None:
    _page(app, "Articles")
    all_rows = len(_articles(app))
    app.sidebar.text_input(key="search").input("failed demonstrably").run()
    table = _articles(app)
    assert 1 <= len(table) < all_rows
    assert any("failed demonstrably" in t for t in table["title"])
    rows = _csv(app, "download_articles")
    assert [r["id"] for r in rows] == table["id"].tolist()
    assert {"decertification_risk", "cooperation_tone", "event_date", "page_date"} <= set(rows[0])
    manifest = json.loads(_download(app, "download_articles_manifest"))
    assert manifest["filters"]["search"] == "failed demonstrably"
    assert manifest["rows"] == len(rows) and manifest["truncated"] is False


def test_source_and_language_filters_limit_rows(app: AppTest) -> None:
    _page(app, "Articles")
    app.sidebar.checkbox(key="relevant_only").uncheck().run()
    app.sidebar.multiselect(key="sources").select("Sports Daily").run()
    assert _articles(app)["source"].unique().tolist() == ["Sports Daily"]
    app.sidebar.multiselect(key="sources").unselect("Sports Daily").run()
    app.sidebar.multiselect(key="languages").select("es").run()
    assert _articles(app)["language"].unique().tolist() == ["es"]


def test_date_filter_limits_event_dates(app: AppTest) -> None:
    _page(app, "Articles")
    app.sidebar.date_input(key="dates").set_value(
        (pd.Timestamp("2025-09-01").date(), pd.Timestamp("2025-09-30").date())
    ).run()
    dates = _articles(app)["event_date"].astype(str)
    assert len(dates) and dates.between("2025-09-01", "2025-09-30").all()


def test_signal_range_mentions_sort_and_row_limit(app: AppTest) -> None:
    _page(app, "Articles")
    app.sidebar.checkbox(key="relevant_only").uncheck().run()
    everything = len(_articles(app))
    app.slider(key="range_decertification_risk").set_range(0.5, 1.0).run()
    assert (_articles(app)["decertification_risk"] >= 0.5).all()
    app.slider(key="range_decertification_risk").set_range(0.0, 1.0).run()
    app.multiselect(key="mentions").select("Colombia").run()
    mentioning = _articles(app)
    assert 0 < len(mentioning) < everything
    assert "Sports Daily" not in mentioning["source"].tolist()
    app.selectbox(key="sort_by").set_value("cooperation_tone").run()
    app.checkbox(key="descending").uncheck().run()
    assert _articles(app)["cooperation_tone"].dropna().is_monotonic_increasing
    app.selectbox(key="table_limit").set_value(100).run()
    assert len(_articles(app)) <= 100


def test_article_caption_says_more_than_the_limit_when_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the row limit the caption gave the limit as the match count."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    records = [
        {
            "title": f"Colombia coca report number {i}",
            "text": f"The United States and Colombia discussed coca crops, report {i}.",
            "published": f"2025-09-{1 + i % 28:02d}",
            "url": f"http://news.example.org/many/{i}",
            "source": "Many Wire",
            "language": "en",
        }
        for i in range(101)
    ]
    lines = "\n".join(json.dumps(r) for r in records)
    (seeds / "many.jsonl").write_text(lines + "\n", encoding="utf-8")
    config = write_config(tmp_path, seeds=[seeds])
    run_pipeline(load_config(config), include_feeds=False)
    at = _page(_start(config, monkeypatch), "Articles")
    at.sidebar.checkbox(key="relevant_only").uncheck().run()
    assert any(c.value == "101 article(s) match the filters." for c in at.caption)
    at.selectbox(key="table_limit").set_value(100).run()
    assert len(_articles(at)) == 100
    assert any(c.value.startswith("More than 100 articles match the filters;") for c in at.caption)
    assert not any("100 article(s) match" in c.value for c in at.caption)


def test_article_detail_shows_dates_sources_scores_and_terms(app: AppTest) -> None:
    _page(app, "Articles")
    texts = " ".join(t.value for t in app.text)
    assert "Event date:" in texts and "Page date:" in texts
    assert "up:" in texts and "model " in texts
    assert "sentence that pushed it most (" in texts
    assert "Relevance (about the monitored pair): " in texts
    options = app.selectbox(key="detail_label_signal").options
    assert options == [
        "Decertification risk",
        "Cooperation tone",
        "Relevance (about the monitored pair)",
    ]
    assert "first_seen_at" in _table(app, "first_seen_at").columns


def test_hostile_feed_text_is_shown_as_literal_text(app: AppTest) -> None:
    _page(app, "Articles")
    app.sidebar.checkbox(key="relevant_only").uncheck().run()
    app.sidebar.text_input(key="search").input("evil.example").run()
    table = _articles(app)
    assert table["title"].tolist() == [HOSTILE_TITLE]
    assert table["url"].isna().all()  # javascript: never becomes a link
    texts = [t.value for t in app.text]
    assert HOSTILE_TITLE in texts and HOSTILE_TEXT in texts
    rendered = [m.value for m in (*app.markdown, *app.caption)] + [
        e.value for e in (*app.error, *app.warning, *app.info, *app.success)
    ]
    for needle in ("<script", "<img", "![x]", "javascript:", "evil.example"):
        assert not any(needle in value for value in rendered), needle
    assert not app.get("link_button")
    assert not app.get("html")


def test_label_correction_needs_a_name_and_is_stored_with_history(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fresh_copy(demo, tmp_path)
    at = _page(_start(config, monkeypatch), "Articles")
    article = at.selectbox(key="detail_article").value
    at.selectbox(key="detail_label_signal").set_value("decertification_risk").run()
    at.number_input(key="detail_label_value_decertification_risk").set_value(0.95).run()
    at.button(key="detail_save_label").click().run()
    assert "Enter your name" in at.error[0].value
    at.text_input(key="detail_labeller").input("Ana Analyst").run()
    at.button(key="detail_save_label").click().run()
    assert not at.error and "Saved" in at.success[0].value
    history = _table(at, "labelled_by")
    assert history["labelled_by"].tolist() == ["Ana Analyst"]
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    with engine.connect() as conn:
        row = conn.execute(select(schema.labels)).mappings().one()
    engine.dispose()
    assert (row["article_id"], row["new_value"]) == (article, pytest.approx(0.95))


def _rewrite(engine: Any, article_id: str) -> tuple[str, str]:
    """Update a stored article's text as a run would (an edited seed, an updated entry);
    return the new text and its content hash."""
    from dataclasses import replace

    from pipeline.records import Article, content_hash
    from pipeline.store import upsert_articles

    found = article_detail(engine, article_id)
    assert found is not None
    fields = {k: found[k] for k in Article.__slots__ if k in found and k != "date_flags"}
    stored = Article(**fields)
    rewritten = stored.text + " Washington now threatens decertification."
    new_hash = content_hash(stored.title, rewritten)
    upsert_articles(engine, [replace(stored, text=rewritten, content_hash=new_hash)])
    return rewritten, new_hash


def test_label_history_marks_a_label_made_on_an_earlier_text(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA 5 #12: the story was rewritten after the label; the history said nothing of it."""
    from pipeline.store import save_label

    config = fresh_copy(demo, tmp_path)
    at = _page(_start(config, monkeypatch), "Articles")
    article = str(at.selectbox(key="detail_article").value)
    at.text_input(key="detail_labeller").input("Ana Analyst").run()
    at.button(key="detail_save_label").click().run()
    assert _table(at, "labelled_by")["made_on"].tolist() == ["this text"]
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    _rewrite(engine, article)
    save_label(engine, article, "cooperation_tone", -0.5, "Ben Analyst")  # on the new text
    engine.dispose()
    at.run()
    history = _table(at, "labelled_by")
    assert history["labelled_by"].tolist() == ["Ana Analyst", "Ben Analyst"]
    assert history["made_on"].tolist() == ["an earlier text (left out)", "this text"]


def test_a_label_is_not_saved_on_a_text_the_analyst_did_not_read(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA 6 #2: a run rewrote the article while its detail was open; the label must not attach
    to the new text nobody judged. The next click, on the text now shown, saves."""
    config = fresh_copy(demo, tmp_path)
    at = _page(_start(config, monkeypatch), "Articles")
    article = str(at.selectbox(key="detail_article").value)
    at.text_input(key="detail_labeller").input("Ana Analyst").run()
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    rewritten, new_hash = _rewrite(engine, article)
    at.button(key="detail_save_label").click().run()  # the analyst read the old text
    assert any("changed since it was shown" in e.value for e in at.error), at.error
    with engine.connect() as conn:
        assert conn.execute(select(schema.labels)).first() is None
    assert any(rewritten in t.value for t in at.text)  # the page now shows the new text
    at.button(key="detail_save_label").click().run()
    assert not at.error and "Saved" in at.success[0].value
    with engine.connect() as conn:
        saved = conn.execute(select(schema.labels.c.content_hash)).scalar_one()
    engine.dispose()
    assert saved == new_hash


@pytest.mark.parametrize(
    ("signal", "typed", "scale"),
    [("decertification_risk", 3.0, "between 0 and 1"), ("cooperation_tone", -1.5, "between -1 and 1")],
)
def test_label_out_of_range_is_refused_and_nothing_stored(
    demo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signal: str,
    typed: float,
    scale: str,
) -> None:
    """An out-of-range value (e.g. 3 from the 0..3 labelling scale) never saves the old score."""
    config = fresh_copy(demo, tmp_path)
    at = _page(_start(config, monkeypatch), "Articles")
    at.selectbox(key="detail_label_signal").set_value(signal).run()
    at.text_input(key="detail_labeller").input("Ana Analyst").run()
    at.number_input(key=f"detail_label_value_{signal}").set_value(typed).run()
    at.button(key="detail_save_label").click().run()
    assert not at.exception and not at.success
    assert [f"Corrected value must be {scale}" in e.value for e in at.error] == [True]
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    with engine.connect() as conn:
        assert conn.execute(select(schema.labels)).first() is None
    engine.dispose()


def _current_score(config: Path, article_id: str, signal: str) -> float:
    engine = open_store(f"sqlite:///{config.parent / 'test.db'}", create=False)
    found = article_detail(engine, article_id)
    engine.dispose()
    assert found is not None
    return float(next(s["value"] for s in found["scores"] if s["signal"] == signal))


def test_label_value_starts_at_the_articles_current_score(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fresh_copy(demo, tmp_path)
    at = _page(_start(config, monkeypatch), "Articles")
    first = at.selectbox(key="detail_article").value
    tone = _current_score(config, first, "cooperation_tone")
    at.selectbox(key="detail_label_signal").set_value("cooperation_tone").run()
    box = at.number_input(key="detail_label_value_cooperation_tone")
    assert tone > -1.0 and box.value == pytest.approx(tone)
    assert "below 0.25 either way is neutral" in box.help  # QA 5 #7: how training reads it
    at.selectbox(key="detail_label_signal").set_value("decertification_risk").run()
    risk = _current_score(config, first, "decertification_risk")
    assert at.number_input(key="detail_label_value_decertification_risk").value == (
        pytest.approx(risk)
    )
    assert "0.5 or more as positive" in at.number_input(
        key="detail_label_value_decertification_risk"
    ).help
    second = next(i for i in _articles(at)["id"] if i != first)
    at.selectbox(key="detail_article").set_value(second).run()
    assert at.number_input(key="detail_label_value_decertification_risk").value == (
        pytest.approx(_current_score(config, second, "decertification_risk"))
    )
    at.text_input(key="detail_labeller").input("Ana Analyst").run()
    at.button(key="detail_save_label").click().run()  # value untouched: the label changes nothing
    history = _table(at, "labelled_by")
    assert history["new_value"].tolist() == pytest.approx(history["old_value"].tolist())


# Weights: save as default ----------------------------------------------------------------------


def test_save_as_default_writes_the_file_with_backup_and_comments(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fresh_copy(demo, tmp_path)
    original = config.read_text(encoding="utf-8")
    at = _start(config, monkeypatch)
    at.sidebar.slider(key="weight_cooperation_tone").set_value(0.25).run()
    at.sidebar.button(key="save_weights").click().run()
    assert "Saved to config.yaml" in at.sidebar.success[0].value
    saved = config.read_text(encoding="utf-8")
    assert "weight: 0.25" in saved and saved.startswith("# Analyst's notes")
    assert (tmp_path / "config.yaml.bak").read_text(encoding="utf-8") == original
    at.sidebar.slider(key="weight_cooperation_tone").set_value(-0.5).run()
    at.sidebar.button(key="reset_weights").click().run()
    assert at.sidebar.slider(key="weight_cooperation_tone").value == pytest.approx(0.25)


def test_save_as_default_refuses_invalid_weights(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fresh_copy(demo, tmp_path)
    original = config.read_text(encoding="utf-8")
    at = _start(config, monkeypatch)
    at.sidebar.slider(key="weight_decertification_risk").set_value(0.0).run()
    at.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    at.sidebar.button(key="save_weights").click().run()
    assert "at least one weight must be non-zero" in at.sidebar.error[0].value
    assert config.read_text(encoding="utf-8") == original
    assert not (tmp_path / "config.yaml.bak").exists()


# Sources, Model, Alerts, Compare ------------------------------------------------------------


def test_sources_page_shows_feed_health_seed_folders_and_runs(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = '\n  feeds: [{name: "Wire A", url: "https://a.example/rss"}, {name: "Wire B", url: "https://b.example/rss"}]'
    config = fresh_copy(demo, tmp_path)
    text = config.read_text(encoding="utf-8").replace("\n  feeds: []", feeds)
    config.write_text(text, encoding="utf-8")
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    with engine.begin() as conn:
        conn.execute(
            schema.feeds.insert().values(
                name="Wire A", url="https://a.example/rss", consecutive_failures=3,
                http_status=500, last_error="HTTP 500", last_attempt_at=pd.Timestamp.now(tz="UTC"),
            )
        )  # fmt: skip
    engine.dispose()
    at = _page(_start(config, monkeypatch), "Sources")
    feeds_table = _table(at, "consecutive_failures")
    states = dict(zip(feeds_table["name"], feeds_table["state"], strict=True))
    assert states == {"Wire A": "failing", "Wire B": "not fetched yet"}
    seeds = _table(at, "folder")
    assert seeds["exists"].all() and (seeds["files"] > 0).all()
    assert len(_table(at, "articles_scored")) >= 1
    assert "Sports Daily" in _table(at, "latest_event")["source"].tolist()


def test_model_page_shows_cards_and_score_freshness(app: AppTest) -> None:
    _page(app, "Model")
    cards = _table(app, "cross_validated")
    assert {"decertification_risk", "cooperation_tone", "relevance"} <= set(cards["signal"])
    assert cards["current"].any() and cards["trained_at"].str.len().gt(0).all()
    assert _metric(app, "Scores last refreshed") != "never"
    assert "model_version" in _table(app, "model_version").columns
    assert any("Known misses of the shipped models" in c.value for c in app.caption)


def test_alerts_page_lists_crossings_with_the_cli_command(app: AppTest, demo: Path) -> None:
    _page(app, "Alerts")
    app.date_input(key="alerts_since").set_value(pd.Timestamp("2024-02-01").date()).run()
    shown = f"policy-risk --config {shlex.quote(str(demo))} alerts --since 2024-02-01"
    assert app.code[0].value == shown  # not the shipped config.yaml: the command names it
    table = _table(app, "provisional")
    assert len(table) >= 1 and (table["composite"] > 0.6).all()


def test_compare_two_dates_splits_the_change_by_signal(app: AppTest) -> None:
    _page(app, "Compare")
    app.date_input(key="compare_a").set_value(pd.Timestamp("2025-03-27").date()).run()
    app.date_input(key="compare_b").set_value(pd.Timestamp("2025-09-15").date()).run()
    changes = _table(app, "effect_on_composite")
    assert changes["signal"].tolist() == ["decertification_risk", "cooperation_tone", "composite"]
    effects = changes.set_index("signal")["effect_on_composite"]
    assert effects.iloc[:2].sum() == pytest.approx(effects["composite"], abs=1e-9)
    assert len(_table(app, "pull_a")) > 0


def test_compare_opens_on_the_two_latest_periods_with_a_risk(app: AppTest) -> None:
    _page(app, "Compare")
    composite = _table(app, "effect_on_composite").set_index("signal").loc["composite"]
    assert pd.notna(composite["risk_a"]) and pd.notna(composite["risk_b"])
    assert not [i for i in app.info if "no relevant scored article" in i.value]
    app.date_input(key="compare_a").set_value(pd.Timestamp("2024-06-15").date()).run()
    notes = [i.value for i in app.info if "no relevant scored article" in i.value]
    assert len(notes) == 1 and notes[0].startswith("Date A: no relevant scored article in the")


def test_compare_two_snapshots_separates_weights_from_data(app: AppTest) -> None:
    first = _download(_tab(app, "Snapshot"), "download_series_zip")
    app.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    second = _download(app, "download_series_zip")
    _page(app, "Compare")
    app.radio(key="compare_mode").set_value("Two snapshots").run()
    app.file_uploader(key="snapshot_a").set_value(("a.zip", first, "application/zip")).run()
    app.file_uploader(key="snapshot_b").set_value(("b.zip", second, "application/zip")).run()
    assert not app.exception
    settings = _table(app, "setting")
    assert "weights.cooperation_tone" in settings["setting"].tolist()
    moved = _table(app, "weights_effect")
    assert len(moved) > 0 and moved["data_effect"].abs().max() == pytest.approx(0.0, abs=1e-9)
    # composite A is recomputed from A's signal columns: the tone's risk must be read back from
    # its ``cooperation_tone_risk`` column, or A's composite is the decertification risk alone
    rows = list(csv.DictReader(io.StringIO(zipfile.ZipFile(io.BytesIO(first)).read(
        "policy_risk_series.csv").decode("utf-8"))))  # fmt: skip
    saved = {r["period"]: float(r["composite"]) for r in rows if r["composite"]}
    recomputed = moved.assign(period=moved["period"].dt.strftime("%Y-%m-%d"))
    for period, value in zip(recomputed["period"], recomputed["composite_a"], strict=True):
        assert value == pytest.approx(saved[period], abs=1e-9)


def test_compare_two_bare_csvs_uses_their_own_composites(app: AppTest) -> None:
    """QA 6b #2: without manifests the page invented weights of 1.0 and no period moved."""
    first = _download(_tab(app, "Snapshot"), "download_series_zip")
    app.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    second = _download(app, "download_series_zip")
    bare = [zipfile.ZipFile(io.BytesIO(z)).read("policy_risk_series.csv") for z in (first, second)]
    _page(app, "Compare")
    app.radio(key="compare_mode").set_value("Two snapshots").run()
    app.file_uploader(key="snapshot_a").set_value(("a.csv", bare[0], "text/csv")).run()
    app.file_uploader(key="snapshot_b").set_value(("b.csv", bare[1], "text/csv")).run()
    assert not app.exception
    assert any("without its manifest" in w.value for w in app.warning)
    moved = _table(app, "weights_effect")
    composites = [
        {r["period"]: float(r["composite"]) for r in csv.DictReader(io.StringIO(b.decode()))
         if r["composite"]}
        for b in bare
    ]  # fmt: skip
    assert len(moved) > 0 and moved["data_effect"].isna().all()
    for row in moved.assign(period=moved["period"].dt.strftime("%Y-%m-%d")).itertuples():
        assert row.composite_a == pytest.approx(composites[0][row.period], abs=1e-9)
        assert row.composite_b == pytest.approx(composites[1][row.period], abs=1e-9)


def test_compare_rejects_a_file_that_is_not_a_snapshot(app: AppTest) -> None:
    _page(app, "Compare")
    app.radio(key="compare_mode").set_value("Two snapshots").run()
    app.file_uploader(key="snapshot_a").set_value(("a.csv", b"x,y\n1,2\n", "text/csv")).run()
    app.file_uploader(key="snapshot_b").set_value(("b.csv", b"x,y\n1,2\n", "text/csv")).run()
    assert "not a series snapshot" in app.error[0].value


def test_compare_names_the_bad_row_of_a_malformed_snapshot(app: AppTest) -> None:
    good = _download(_tab(app, "Snapshot"), "download_series_zip")
    _page(app, "Compare")
    app.radio(key="compare_mode").set_value("Two snapshots").run()
    app.file_uploader(key="snapshot_a").set_value(("a.zip", good, "application/zip")).run()
    bad = b"period,composite\nnotadate,0.5\n"
    app.file_uploader(key="snapshot_b").set_value(("b.csv", bad, "text/csv")).run()
    assert not app.exception, app.exception
    assert app.error[0].value == (
        "b.csv: not a series snapshot (line 2: period 'notadate' is not a date (YYYY-MM-DD))"
    )
    manifest = json.dumps({"weights": {"decertification_risk": "abc"}}).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("s.csv", "period,composite\n2025-01-06,0.5\n")
        archive.writestr("s.manifest.json", manifest)
    app.file_uploader(key="snapshot_b").set_value(("b.zip", buffer.getvalue(), "x")).run()
    assert not app.exception, app.exception
    assert "manifest weight 'decertification_risk' is \"abc\"" in app.error[0].value


# Empty and broken setups ----------------------------------------------------------------------


def test_empty_store_shows_the_command_that_fills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(write_config(tmp_path, db_name="missing.db")))
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.run()
    assert not at.exception
    assert "policy-risk run" in at.code[0].value


def test_an_article_without_a_usable_date_says_where_it_was_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    record = {
        "title": "Washington reviews Colombia's drug cooperation",
        "text": "US officials met Colombian ministers in Bogota to review coca eradication "
        "and extradition cooperation ahead of the certification decision.",
        "published": "2025-02-30",  # not a date: the article is placed on its first-seen day
    }
    (seeds / "undated.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    config = write_config(tmp_path, seeds=[seeds])
    run_pipeline(load_config(config), include_feeds=False)
    with open_store(load_config(config).database.url).connect() as conn:
        flags = conn.execute(select(schema.articles.c.date_flags)).scalars().all()
    assert flags == ["undated"]
    at = _start(config, monkeypatch)
    _page(at, "Articles")
    at.sidebar.checkbox(key="relevant_only").uncheck().run()
    texts = " ".join(t.value for t in at.text)
    assert "Date: no usable date: placed on the day it was first seen" in texts


@pytest.mark.parametrize("revision", ["0099", schema.KNOWN_REVISIONS[-2]])
def test_a_store_upgraded_under_a_running_dashboard_gets_the_one_line_message(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, revision: str
) -> None:
    """QA 5 #10: the dashboard opened the store once; `db upgrade` by a newer program (or a
    restore of an older backup) changes its revision while it runs."""
    config = fresh_copy(demo, tmp_path / "store")
    at = _start(config, monkeypatch)
    engine = open_store(load_config(config).database.url, create=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()
    _page(at, "Articles")
    expected = "newer than this program knows" if revision == "0099" else "policy-risk db upgrade"
    assert [e.value for e in at.error if expected in e.value], [e.value for e in at.error]
    assert not at.dataframe  # nothing read from a schema this program does not match


def test_invalid_config_is_a_short_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("signals: {}\nbogus: 1\n", encoding="utf-8")
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(bad))
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.run()
    assert not at.exception
    assert "bogus: unknown key" in at.error[0].value
