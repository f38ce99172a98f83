"""Dashboard tests with Streamlit's AppTest against a demo store built by the real pipeline."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pipeline.config import load_config
from pipeline.run import run_pipeline
from tests.conftest import ROOT, SMALL_SEEDS, write_config

DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled from the shipped seeds plus the small test seeds, by the real pipeline."""
    folder = tmp_path_factory.mktemp("demo")
    extra = folder / "extra_seeds"
    extra.mkdir()
    for name, body in SMALL_SEEDS.items():
        (extra / name).write_text(body, encoding="utf-8")
    path = write_config(folder, seeds=[ROOT / "seeds", extra])
    run_pipeline(load_config(path), include_feeds=False)
    return path


class _KeptFiles(MemoryMediaFileStorage):
    """The real in-memory media storage, kept reachable so a test can read a download."""

    last: _KeptFiles | None = None

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint)
        _KeptFiles.last = self


@pytest.fixture
def app(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(demo_config))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", _KeptFiles)
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
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


def test_overview_renders_charts_table_and_downloads(app: AppTest) -> None:
    assert app.title[0].value == "Policy Risk Monitor"
    assert len(app.get("plotly_chart")) == 2
    assert int(_metric(app, "Articles stored").replace(",", "")) >= 4
    assert len(app.dataframe[0].value) >= 4
    assert len(app.get("download_button")) == 4


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


def test_reset_returns_weights_to_file_values(app: AppTest) -> None:
    app.sidebar.slider(key="weight_decertification_risk").set_value(-0.5).run()
    app.sidebar.button(key="reset_weights").click().run()
    assert app.sidebar.slider(key="weight_decertification_risk").value == pytest.approx(0.6)


def test_search_filter_narrows_the_table_and_the_download(app: AppTest) -> None:
    all_rows = len(app.dataframe[0].value)
    app.sidebar.text_input(key="search").input("failed demonstrably").run()
    table = app.dataframe[0].value
    assert 1 <= len(table) < all_rows
    assert any("failed demonstrably" in t for t in table["title"])
    rows = list(csv.DictReader(io.StringIO(_download(app, "download_articles").decode("utf-8"))))
    assert [r["id"] for r in rows] == table["id"].tolist()
    assert {"decertification_risk", "cooperation_tone", "event_date", "page_date"} <= set(rows[0])


def test_source_filter_limits_rows_to_that_source(app: AppTest) -> None:
    app.sidebar.checkbox(key="relevant_only").uncheck().run()
    app.sidebar.multiselect(key="sources").select("Sports Daily").run()
    table = app.dataframe[0].value
    assert table["source"].unique().tolist() == ["Sports Daily"]


def test_series_download_matches_weights_in_effect(app: AppTest) -> None:
    app.sidebar.slider(key="weight_cooperation_tone").set_value(0.0).run()
    rows = list(csv.DictReader(io.StringIO(_download(app, "download_series").decode("utf-8"))))
    for row in rows:
        if row["composite"]:
            assert float(row["composite"]) == pytest.approx(float(row["decertification_risk"]))
    manifest = _download(app, "download_series_manifest").decode("utf-8")
    assert '"cooperation_tone": 0.0' in manifest


def test_article_detail_shows_both_dates_as_plain_text(app: AppTest) -> None:
    texts = " ".join(t.value for t in app.text)
    assert "Event date:" in texts and "Page date:" in texts


def test_empty_store_shows_the_command_that_fills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(write_config(tmp_path, db_name="missing.db")))
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.run()
    assert not at.exception
    assert "policy-risk run" in at.code[0].value


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
