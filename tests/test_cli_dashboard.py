"""``export``: the same rows and columns as the dashboard for the same filters and weights."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.config import load_config
from pipeline.export import manifest_path
from tests.cli_group import invoke
from tests.conftest import ROOT
from tests.demo_store import demo_config
from tests.test_dashboard import _download, _KeptFiles

DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_config(tmp_path_factory)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _export(demo: Path, out: Path, *args: str) -> list[dict[str, str]]:
    result = invoke(demo, "export", "--output", out, *args)
    assert result.exit_code == 0, result.output
    return _rows(out)


def test_export_all_articles_with_signal_columns(demo: Path, tmp_path: Path) -> None:
    rows = _export(demo, tmp_path / "all.csv")
    assert len(rows) >= 50
    assert list(rows[0])[:7] == [
        "id",
        "url",
        "title",
        "source",
        "language",
        "page_date",
        "event_date",
    ]
    info = json.loads(manifest_path(tmp_path / "all.csv").read_text(encoding="utf-8"))
    assert info["rows"] == len(rows) and info["filters"]["relevant_only"] is False


def test_export_filters_narrow_the_rows(demo: Path, tmp_path: Path) -> None:
    every = _export(demo, tmp_path / "all.csv")
    sports = _export(demo, tmp_path / "s.csv", "--source", "Sports Daily")
    assert {r["source"] for r in sports} == {"Sports Daily"}
    spanish = _export(demo, tmp_path / "es.csv", "--language", "es")
    assert {r["language"] for r in spanish} == {"es"}
    relevant = _export(demo, tmp_path / "rel.csv", "--relevant-only")
    assert all(float(r["relevance"]) >= 0.5 for r in relevant if r["relevance"])
    risky = _export(demo, tmp_path / "r.csv", "--range", "decertification_risk:0.5:1")
    assert risky and all(float(r["decertification_risk"]) >= 0.5 for r in risky)
    mentions = _export(demo, tmp_path / "m.csv", "--mentions", "colombia")
    assert 0 < len(mentions) < len(every)
    ordered = _export(demo, tmp_path / "o.csv", "--sort", "cooperation_tone", "--ascending")
    tones = [float(r["cooperation_tone"]) for r in ordered if r["cooperation_tone"]]
    assert tones == sorted(tones)


def test_export_limit_records_truncation(demo: Path, tmp_path: Path) -> None:
    rows = _export(demo, tmp_path / "few.csv", "--limit", "3")
    info = json.loads(manifest_path(tmp_path / "few.csv").read_text(encoding="utf-8"))
    assert len(rows) == 3 and info["truncated"] is True and info["limit"] == 3


def test_export_series_with_weights_period_and_share(demo: Path, tmp_path: Path) -> None:
    rows = _export(
        demo, tmp_path / "s.csv", "--series", "--weight", "cooperation_tone=0",
        "--period", "month", "--window", "1", "--share", "--standardise",
    )  # fmt: skip
    assert rows and all(r["period"].endswith("-01") for r in rows)
    assert {"composite_share", "thin", "provisional", "feeds_healthy"} <= set(rows[0])
    for row in rows:
        if row["composite"]:
            assert float(row["composite"]) == pytest.approx(float(row["decertification_risk"]))
    info = json.loads(manifest_path(tmp_path / "s.csv").read_text(encoding="utf-8"))
    assert info["view"] == "share" and info["standardise_outlets"] is True


def test_series_names_a_tone_on_the_risk_scale_apart_from_the_articles_tone(
    demo: Path, tmp_path: Path
) -> None:
    """QA5 #5: the articles CSV's ``cooperation_tone`` is the tone (-1..+1); the series holds
    ``(1 - mean tone) / 2`` and must call it ``cooperation_tone_risk``, not the tone's name."""
    articles = _export(demo, tmp_path / "a.csv")
    series = _export(demo, tmp_path / "s.csv", "--series", "--period", "month", "--window", "1")
    assert "cooperation_tone" in articles[0] and "decertification_risk" in articles[0]
    assert "cooperation_tone" not in series[0] and "cooperation_tone_smoothed" not in series[0]
    assert {"cooperation_tone_risk", "cooperation_tone_risk_smoothed"} <= set(series[0])
    assert "decertification_risk" in series[0]  # a probability: the same scale in both files
    gate = load_config(demo).index.relevance_threshold
    tones: dict[str, list[float]] = {}
    for row in articles:
        relevant = not row["relevance"] or float(row["relevance"]) >= gate
        if relevant and row["cooperation_tone"]:
            tones.setdefault(row["event_date"][:7], []).append(float(row["cooperation_tone"]))
    assert any(t < 0 for month in tones.values() for t in month)  # a conflictual article
    checked = 0
    for row in series:
        month = tones.get(row["period"][:7])
        if month:
            expected = (1 - sum(month) / len(month)) / 2
            assert float(row["cooperation_tone_risk"]) == pytest.approx(expected, abs=1e-9)
            checked += 1
    assert checked == sum(1 for r in series if r["cooperation_tone_risk"]) > 2


def test_export_zip_holds_csv_and_manifest(demo: Path, tmp_path: Path) -> None:
    result = invoke(demo, "export", "--output", tmp_path / "snap.zip", "--zip", "--limit", "5")
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(tmp_path / "snap.zip").namelist()
    assert sorted(names) == ["snap.csv", "snap.manifest.json"]


def test_export_refuses_bad_options(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert invoke(demo, "export", "--output", out, "--range", "nonsense").exit_code == 2
    assert invoke(demo, "export", "--output", out, "--weight", "nope=1").exit_code == 2
    unknown = invoke(demo, "export", "--output", out, "--mentions", "Atlantis")
    assert unknown.exit_code == 1 and "unknown country 'Atlantis'" in unknown.stderr
    manifest = tmp_path / "m.json"
    manifest.write_text("{}", encoding="utf-8")
    mixed = invoke(demo, "export", "--output", out, "--like", manifest, "--search", "x")
    assert mixed.exit_code == 2 and "drop --search" in mixed.output


@pytest.mark.parametrize("kind", ["articles", "series"])
def test_export_like_reproduces_a_dashboard_download_byte_for_byte(
    kind: str, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(demo))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", _KeptFiles)
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.sidebar.slider(key="weight_cooperation_tone").set_value(0.15).run()
    at.sidebar.selectbox(key="period").set_value("week").run()
    at.sidebar.text_input(key="search").input("Colombia").run()
    if kind == "series":
        at.session_state["overview_tab"] = "Snapshot"
        at.run()
    if kind == "articles":
        at.sidebar.radio(key="page").set_value("Articles").run()
        at.multiselect(key="mentions").select("United States").run()
        at.selectbox(key="sort_by").set_value("decertification_risk").run()
    screen = _download(at, f"download_{kind}")
    (tmp_path / "m.json").write_bytes(_download(at, f"download_{kind}_manifest"))
    result = invoke(demo, "export", "--output", tmp_path / "cli.csv", "--like", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.csv").read_bytes() == screen
    assert len(screen.decode("utf-8").splitlines()) > 1


@pytest.mark.parametrize("value", ["5", "-3", "nan", "inf", "-1.01"])
def test_export_refuses_a_weight_outside_minus_one_to_one(
    value: str, demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "w.csv"
    result = invoke(
        demo, "export", "--series", "--output", out, "--weight", f"cooperation_tone={value}"
    )
    assert result.exit_code == 2, result.output
    assert f"expected a number between -1 and 1, got {value!r}" in result.output
    assert "--weight" in result.output
    assert not out.exists() and not manifest_path(out).exists()


def test_export_takes_the_weight_bounds_themselves(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.csv"
    _export(
        demo,
        out,
        "--series",
        "--weight",
        "cooperation_tone=-1",
        "--weight",
        "decertification_risk=1",
    )
    info = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert (
        info["weights"]["cooperation_tone"] == -1 and info["weights"]["decertification_risk"] == 1
    )


def test_export_like_refuses_a_manifest_with_a_nan_weight(demo: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "nan.manifest.json"
    manifest.write_text(
        '{"kind": "series", "weights": {"cooperation_tone": NaN}}', encoding="utf-8"
    )
    out = tmp_path / "x.csv"
    result = invoke(demo, "export", "--output", out, "--like", manifest)
    assert result.exit_code == 1
    assert "weights.cooperation_tone: expected a number between -1 and 1, got nan" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--sort", "nonsense"], "unknown column 'nonsense'; choose one of event_date, page_date"),
        (["--series", "--standardise"], "--standardise applies to the share columns: add --share"),
        (["--from", "2026-12-01", "--to", "2026-01-01"], "'--from': 2026-12-01 is after --to"),
        (["--range", "decertification_risk:1:0"], "'--range': LOW is above HIGH"),
        (["--range", "decertification_risk:nan:1"], "'--range': bounds must be numbers"),
    ],
    ids=["sort", "standardise", "dates", "range", "range-nan"],
)
def test_export_refuses_a_filter_it_would_not_apply(
    args: list[str], expected: str, demo: Path, tmp_path: Path
) -> None:
    """Each of these once wrote a CSV (sorted otherwise, or empty) whose manifest claimed it."""
    out = tmp_path / "x.csv"
    result = invoke(demo, "export", "--output", out, *args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not out.exists() and not manifest_path(out).exists()


def test_export_sorts_by_relevance_and_by_the_same_day_range(demo: Path, tmp_path: Path) -> None:
    rows = _export(demo, tmp_path / "r.csv", "--sort", "relevance", "--ascending")
    values = [float(r["relevance"]) for r in rows if r["relevance"]]
    assert values and values == sorted(values)
    same = _export(demo, tmp_path / "d.csv", "--from", "2025-01-01", "--to", "2025-01-01")
    assert all(r["event_date"] == "2025-01-01" for r in same)


def test_export_zip_refuses_an_output_not_named_zip(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "snap.csv"
    result = invoke(demo, "export", "--output", out, "--zip", "--limit", "5")
    assert result.exit_code == 2, result.output
    assert "snap.csv with --zip: name the archive X.zip" in result.output
    assert list(tmp_path.iterdir()) == []
    upper = invoke(demo, "export", "--output", tmp_path / "SNAP.ZIP", "--zip", "--limit", "5")
    assert upper.exit_code == 0 and zipfile.is_zipfile(tmp_path / "SNAP.ZIP")
