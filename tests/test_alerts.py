"""Alerts: crossings since a date, the ``alerts`` command's exit codes, and parity with the page."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.alerts import EXIT_NEW_ALERT, alerts_in
from tests.cli_group import invoke
from tests.conftest import ROOT, write_config
from tests.demo_store import demo_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_config(tmp_path_factory)


def _series(values: list[float], provisional_last: bool = False) -> pd.DataFrame:
    index = pd.date_range("2025-01-01", periods=len(values), freq="D", name="period")
    frame = pd.DataFrame({"composite_smoothed": values}, index=index)
    frame["provisional"] = False
    if provisional_last:
        frame.iloc[-1, frame.columns.get_loc("provisional")] = True
    return frame


def test_alerts_are_upward_crossings_on_or_after_since() -> None:
    frame = _series([0.5, 0.7, 0.65, 0.4, np.nan, 0.8, 0.3, 0.9], provisional_last=True)
    found = alerts_in(frame, 0.6)
    assert [a.period for a in found] == [date(2025, 1, 2), date(2025, 1, 6), date(2025, 1, 8)]
    assert found[1].previous == pytest.approx(0.4)  # the gap is skipped, not a zero
    assert [a.provisional for a in found] == [False, False, True]
    later = alerts_in(frame, 0.6, since=date(2025, 1, 6))
    assert [a.period for a in later] == [date(2025, 1, 6), date(2025, 1, 8)]
    assert "2025-01-08 (day): composite 0.900 crossed 0.60" in later[-1].describe("day")
    assert later[-1].describe("day").endswith("(provisional)")


def _periods(values: list[float], start: str, freq: str) -> pd.DataFrame:
    index = pd.date_range(start, periods=len(values), freq=freq, name="period")
    return pd.DataFrame({"composite_smoothed": values, "provisional": False}, index=index)


@pytest.mark.parametrize(
    ("period", "start", "freq", "inside", "last_day", "after"),
    [
        ("week", "2026-06-29", "W-MON", date(2026, 7, 16), date(2026, 7, 19), date(2026, 7, 20)),
        ("month", "2026-06-01", "MS", date(2026, 8, 20), date(2026, 8, 31), date(2026, 9, 1)),
    ],
)
def test_since_keeps_the_crossing_of_a_period_still_going_on(
    period: str, start: str, freq: str, inside: date, last_day: date, after: date
) -> None:
    # QA5 #6: the news behind a weekly/monthly crossing comes after the period's first day, so a
    # daily ``--since yesterday`` must report the period that has not ended yet.
    frame = _periods([0.2, 0.3, 0.9], start, freq)
    crossed = frame.index[-1].date()
    assert crossed < inside
    for since in (crossed, inside, last_day):
        found = alerts_in(frame, 0.6, since=since, period=period)
        assert [(a.period, a.end) for a in found] == [(crossed, last_day)], since
    assert alerts_in(frame, 0.6, since=after, period=period) == []


def test_no_series_means_no_alerts() -> None:
    assert alerts_in(pd.DataFrame(), 0.6) == []


def test_alerts_command_exits_3_and_prints_each_crossing(demo: Path) -> None:
    result = invoke(demo, "alerts", "--since", "2024-01-01")
    assert result.exit_code == EXIT_NEW_ALERT == 3, result.output
    lines = [line for line in result.stdout.splitlines() if "crossed" in line]
    assert lines and all("crossed 0.60" in line for line in lines)
    assert f"{len(lines)} crossing(s) since 2024-01-01." in result.stderr


def test_alerts_command_since_mid_week_reports_that_weeks_crossing(
    demo: Path, tmp_path: Path
) -> None:
    text = demo.read_text(encoding="utf-8")
    weekly = text.replace("period: day", "period: week").replace("window: 7", "window: 1")
    assert weekly != text
    config = tmp_path / "weekly.yaml"  # the demo store, read with the shipped ``period: week``
    config.write_text(weekly, encoding="utf-8")
    result = invoke(config, "alerts", "--since", "2024-01-01", "--json")
    first = json.loads(result.stdout.splitlines()[0])
    assert first["period_kind"] == "week"
    start, end = date.fromisoformat(first["period"]), date.fromisoformat(first["period_end"])
    assert (end - start).days == 6
    # a daily cron job on the week's last day (``--since`` = the Saturday) still hears of it
    late = invoke(config, "alerts", "--since", (end - timedelta(days=1)).isoformat(), "--json")
    assert late.exit_code == EXIT_NEW_ALERT, late.output
    assert json.loads(late.stdout.splitlines()[0])["period"] == first["period"]


def test_alerts_command_exits_0_when_nothing_new(demo: Path) -> None:
    result = invoke(demo, "alerts", "--since", "2030-01-01")
    assert result.exit_code == 0
    assert "No threshold crossings since 2030-01-01." in result.stderr


def test_alerts_command_json_lines(demo: Path) -> None:
    result = invoke(demo, "alerts", "--since", "2024-01-01", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and {"period", "value", "previous", "threshold", "provisional"} <= set(
        records[0]
    )
    assert all(r["value"] > r["threshold"] for r in records)


def test_alerts_command_reports_a_missing_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, db_name="missing.db")
    result = invoke(config, "alerts")
    assert result.exit_code == 1
    assert "policy-risk run" in result.stderr


def test_dashboard_lists_the_same_crossings_as_the_command(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(demo, "alerts", "--since", "2024-02-01", "--json")
    from_cli = [json.loads(line)["period"] for line in result.stdout.splitlines()]
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(demo))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    at.sidebar.radio(key="page").set_value("Alerts").run()
    at.date_input(key="alerts_since").set_value(date(2024, 2, 1)).run()
    table = next(d.value for d in at.dataframe if "provisional" in d.value.columns)
    assert [str(p) for p in table["period"]] == from_cli
