"""Article detail: both dates, every source that carried it, scores, explanations, labels.

Every feed-supplied value goes through ``st.text`` or ``st.dataframe`` (plain text); links only
for ``http(s)`` URLs (``pipeline.display.safe_link``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pipeline.display import date_flag_notes, safe_link, with_safe_links
from pipeline.drilldown import top_sentence, top_terms
from pipeline.errors import PipelineError
from pipeline.examples import RELEVANCE
from pipeline.snapshots import signal_kinds, signal_labels
from pipeline.store import save_label
from views.data import View, detail

EARLIER = "an earlier text (left out)"


def show_detail(view: View, article_id: str, *, prefix: str, labels: bool = True) -> None:
    """The detail of one article; ``prefix`` keeps widget keys unique per page section."""
    found = detail(view.url, article_id)
    if found is None:
        st.warning("That article is no longer in the store.")
        return
    with st.container(border=True):
        st.text(str(found["title"]))
        notes = date_flag_notes(found.get("date_flags"))
        st.text(
            f"Source: {found['source']}   Language: {found['language']}\n"
            f"Event date: {found['event_date']}   Page date: {found['page_date'] or 'unknown'}"
            + "".join(f"\nDate: {note}" for note in notes)
        )
        link = safe_link(found.get("url"))
        if link:
            st.link_button("Open original", link)
        elif found.get("url"):
            st.text(f"Link (not a web address, not opened): {found['url']}")
        _sources(found["sources"], prefix)
        _scores(view, found["scores"], prefix)
        with st.expander("Full text"):
            st.text(str(found["text"]))
        if labels:
            _label_form(view, found, prefix)


def _sources(rows: list[dict[str, Any]], prefix: str) -> None:
    st.caption("Carried by")
    table = pd.DataFrame(rows, columns=["source", "url", "first_seen_at", "origin"])
    st.dataframe(
        with_safe_links(table),
        hide_index=True,
        column_config={"url": st.column_config.LinkColumn("Link")},
        key=f"{prefix}_sources_table",
    )


def _scores(view: View, rows: list[dict[str, Any]], prefix: str) -> None:
    st.caption("Scores and the terms that pushed them (tone: up = more cooperative)")
    labels = _signal_labels(view)
    lines = []
    for score in rows:
        label = labels.get(score["signal"], score["signal"])
        lines.append(
            f"{label}: {score['value']:.3f}  (model {score['model_version']}, "
            f"confidence {score['confidence']})\n    {top_terms(score['explanation'], 8)}"
        )
        sentence = top_sentence(score["explanation"])
        if sentence:
            lines.append(f"    {sentence}")
    st.text("\n".join(lines) or "Not scored yet.")


def _signal_labels(view: View) -> dict[str, str]:
    return signal_labels(view.config) | {RELEVANCE: "Relevance (about the monitored pair)"}


def _label_form(view: View, found: dict[str, Any], prefix: str) -> None:
    st.caption("Correct a label (stored for retraining; see docs/labeling.md)")
    kinds = signal_kinds(view.config) | {RELEVANCE: "risk"}
    cols = st.columns(3)
    who = cols[0].text_input("Your name", key=f"{prefix}_labeller")
    names = _signal_labels(view)
    signal = cols[1].selectbox(
        "Signal", list(kinds), format_func=lambda k: names.get(k, k), key=f"{prefix}_label_signal"
    )
    low = -1.0 if kinds[str(signal)] == "tone" else 0.0
    key = f"{prefix}_label_value_{signal}"
    _start_at_current_score(found, str(signal), low, key)
    # No min/max on the box: the browser would keep its last valid value and Save would store
    # that (the article's own score) after an out-of-range entry such as 3; _save refuses it.
    value = cols[2].number_input("Corrected value", step=0.05, key=key, help=_value_help(low))
    article_id = str(found["article_id"])
    # The text the analyst read is the one of the run before this click: a run may have
    # updated the article since, and the label must not attach to a text nobody judged.
    seen_key = f"{prefix}_label_seen_text"
    seen = st.session_state.get(seen_key)
    seen_hash = seen[1] if seen and seen[0] == article_id else str(found["content_hash"])
    if st.button("Save label", key=f"{prefix}_save_label"):
        _save(view, article_id, str(signal), float(value), who, low, seen_hash)
        found = detail(view.url, article_id) or found
    st.session_state[seen_key] = (article_id, str(found["content_hash"]))
    st.caption("Label history (a label made on an earlier text is left out of training)")
    history = _label_history(found["labels"], str(found["content_hash"]))
    st.dataframe(history, hide_index=True, key=f"{prefix}_label_history")


def _label_history(labels: list[dict[str, Any]], current: str) -> pd.DataFrame:
    """The labels, each with the text it was given on: this one, an earlier one, or unknown.

    Training leaves out a label whose article's text has changed since (``pipeline.labels``);
    labels made before revision 0020 recorded no text and are used as before.
    """
    columns = ["signal", "old_value", "new_value", "labelled_by", "labelled_at"]
    history = pd.DataFrame(labels, columns=[*columns, "content_hash"])
    history["made_on"] = [
        "not recorded (used)" if pd.isna(h) else "this text" if h == current else EARLIER
        for h in history["content_hash"]
    ]
    return history[[*columns, "made_on"]]


def _value_help(low: float) -> str:
    """How training reads the value (docs/labeling.md, *Analyst corrections*)."""
    if low < 0:
        return (
            "From -1 to 1, the score's scale. Training takes the nearest tone level: below 0.25"
            " either way is neutral, 0.25 to below 0.75 friction or working cooperation, 0.75"
            " or more confrontation or strong cooperation."
        )
    return "From 0 to 1, the score's scale. Training counts 0.5 or more as positive, below as not."


def _start_at_current_score(found: dict[str, Any], signal: str, low: float, key: str) -> None:
    """Put the article's own score in the value box, so *Save label* untouched stores no change.

    The box's key is per signal, not per article, and Streamlit keeps a keyed box's value across
    articles (and drops it while the box is hidden), so the score is set whenever the box is new
    or the article changed. An unscored article starts at the middle of the scale.
    """
    owner = f"{key}_article"
    if key in st.session_state and st.session_state.get(owner) == found["article_id"]:
        return
    scores = {str(s["signal"]): s["value"] for s in found["scores"]}
    current = scores.get(signal)
    start = (low + 1.0) / 2 if current is None or pd.isna(current) else float(current)
    st.session_state[key] = min(1.0, max(low, start))
    st.session_state[owner] = found["article_id"]


def _save(
    view: View, article_id: str, signal: str, value: float, who: str, low: float, seen_hash: str
) -> None:
    if not who.strip():
        st.error("Enter your name before saving a label: corrections record who made them.")
        return
    if not low <= value <= 1.0:
        st.error(
            f"Corrected value must be between {low:g} and 1 (the score's scale, not the label"
            f" scale of docs/labeling.md); {value!r} was not saved."
        )
        return
    try:
        save_label(view.engine, article_id, signal, value, who.strip(), seen_hash=seen_hash)
    except PipelineError as exc:
        st.error(str(exc))
        return
    st.success(f"Saved: {signal} = {value:.2f} (with your name and the time).")
