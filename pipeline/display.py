"""Tables the dashboard shows, built from store rows and the config (no Streamlit here).

Feed-supplied values are hostile (issue 5.10): links are kept only for ``http(s)`` URLs, so a
``javascript:`` or ``data:`` URL is shown as plain text and never becomes something to click.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from pipeline.config import Config

SEED_SUFFIXES = (".txt", ".md", ".json", ".jsonl")


def safe_link(url: Any) -> str | None:
    """The URL if it is a plain ``http``/``https`` link with a host, else None."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if any(ch in text for ch in "\x00\r\n\t<>\"'` "):
        return None
    parts = urlsplit(text)
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


_DATE_FLAG_NOTES = {
    "future-date": "refused the date {}: after the day the article was first seen",
    "implausible-date": "refused the date {}: before 1990",
    "undated": "no usable date: placed on the day it was first seen",
}


def date_flag_notes(flags: str | None) -> list[str]:
    """Plain words for an article's ``date_flags``, so an analyst sees why its date is what it is
    (an undated article counts in the period it was first seen in, not in its news period)."""
    notes = []
    for flag in filter(None, (flags or "").split(",")):
        kind, _, value = flag.partition(":")
        notes.append(_DATE_FLAG_NOTES[kind].format(value) if kind in _DATE_FLAG_NOTES else flag)
    return notes


def with_safe_links(frame: pd.DataFrame, column: str = "url") -> pd.DataFrame:
    """A copy with ``column`` cleared wherever it is not a safe link."""
    if column not in frame.columns:
        return frame
    out = frame.copy()
    out[column] = [safe_link(u) for u in out[column]]
    return out


def _state(row: Mapping[str, Any], enabled: bool | None) -> str:
    if enabled is False:
        return "disabled"
    if enabled is None:
        return "not in config"
    if pd.isna(row.get("last_attempt_at")):
        return "not fetched yet"
    failures = row.get("consecutive_failures")
    return "failing" if isinstance(failures, int | float) and failures > 0 else "healthy"


def feed_status(config: Config, feeds: pd.DataFrame) -> pd.DataFrame:
    """Every configured or known feed with a ``state`` column, configured feeds first."""
    configured = {f.name: f.enabled for f in config.sources.feeds}
    known = {str(r["name"]): dict(r) for r in feeds.to_dict("records")}
    rows = []
    for name in dict.fromkeys([*configured, *known]):
        row = known.get(name) or {"name": name, "url": _url(config, name)}
        rows.append({"state": _state(row, configured.get(name)), **row})
    columns = ["state", "name", *[c for c in feeds.columns if c != "name"]]
    return pd.DataFrame(rows, columns=columns if "url" in columns else [*columns, "url"])


def _url(config: Config, name: str) -> str:
    return next((f.url for f in config.sources.feeds if f.name == name), "")


def seed_folders(config: Config) -> pd.DataFrame:
    """Each configured seed folder: whether it exists, its seed files and when one last changed."""
    rows = []
    for folder in config.sources.seeds:
        files = _seed_files(folder)
        newest = max((f.stat().st_mtime for f in files), default=None)
        rows.append(
            {
                "folder": str(folder),
                "exists": folder.is_dir(),
                "files": len(files),
                "last_changed": (
                    datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds")
                    if newest
                    else None
                ),
            }
        )
    return pd.DataFrame(rows, columns=["folder", "exists", "files", "last_changed"])


def _seed_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SEED_SUFFIXES]


def latest_refresh(versions: pd.DataFrame) -> str:
    """When scores were last written, from ``queries.model_versions_in_store``."""
    if versions.empty or versions["last_scored_at"].isna().all():
        return "never"
    return str(pd.to_datetime(versions["last_scored_at"], utc=True, format="mixed").max())[:19]


def stale_versions(cards: pd.DataFrame, versions: pd.DataFrame) -> pd.DataFrame:
    """Store rows scored by a model version other than the signal's current one."""
    current = cards[cards["current"]].set_index("signal")["version"].to_dict()
    if versions.empty:
        return versions
    mask = [
        signal in current and version != current[signal]
        for signal, version in zip(versions["signal"], versions["model_version"], strict=True)
    ]
    return versions[mask]
