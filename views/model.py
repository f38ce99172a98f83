"""Model page: versions, training dates and metrics from the model cards, and score freshness."""

from __future__ import annotations

import streamlit as st

from pipeline.display import latest_refresh, stale_versions
from pipeline.model_cards import cards_table
from views.data import View, versions

KNOWN_MISSES = (
    "Known misses of the shipped models (docs/model.md, Known misses): news that Colombia was "
    "certified reads as high decertification risk (0.95 in English and Spanish), so check the "
    "headlines behind a spike on determination day; a football match between the two countries "
    "passes the relevance gate. Correct such articles with the label form: the next "
    "`policy-risk train` learns from it."
)


def render(view: View) -> None:
    """Draw the model cards and which versions produced the stored scores."""
    cards = cards_table(view.config)
    in_store, per_signal = versions(view.url, view.stamp)
    for name, signal in view.config.signals.items():
        if name not in per_signal:
            st.warning(f"{unscored_note(signal.label)}.")
    cols = st.columns(2)
    cols[0].metric("Scores last refreshed", latest_refresh(in_store))
    current = cards[cards["current"]] if not cards.empty else cards
    cols[1].metric("Current model versions", len(current))
    st.subheader("Model cards")
    if cards.empty:
        st.warning("No model cards found: train the models with `policy-risk train`.")
    else:
        st.dataframe(cards, hide_index=True, key="cards_table")
    st.caption(KNOWN_MISSES)
    st.subheader("Versions behind the stored scores")
    st.dataframe(in_store, hide_index=True, key="versions_table")
    stale = stale_versions(cards, in_store) if not cards.empty else in_store.iloc[0:0]
    if not stale.empty:
        st.warning(
            f"{int(stale['articles'].sum()):,} score(s) come from an older model version; "
            "`policy-risk run` re-scores them with the current one."
        )


def unscored_note(label: str) -> str:
    """Why a configured signal shows nothing: the store holds no score for it."""
    return (
        f"No scores for {label} in the store (no trained model? `policy-risk train`, then"
        " `policy-risk run`)"
    )
