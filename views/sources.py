"""Sources page: feed health, seed folders, articles per source, runs and their errors."""

from __future__ import annotations

import streamlit as st

from pipeline.display import feed_status, seed_folders
from views.data import View, sources_page


def render(view: View) -> None:
    """Draw the health of every source the pipeline reads."""
    data = sources_page(view.url, view.stamp)
    feeds = feed_status(view.config, data["feeds"])
    st.subheader("Feeds")
    if feeds.empty:
        st.info("No feeds configured: add them under sources.feeds in the config.")
    else:
        failing = int((feeds["state"] == "failing").sum())
        healthy = int((feeds["state"] == "healthy").sum())
        st.caption(f"{healthy} healthy, {failing} failing, {len(feeds)} in all.")
        st.dataframe(feeds, hide_index=True, key="feeds_table")
    st.subheader("Seed folders")
    st.dataframe(seed_folders(view.config), hide_index=True, key="seeds_table")
    st.subheader("Articles per source")
    st.dataframe(data["per_source"], hide_index=True, key="per_source_table")
    st.subheader("Recent runs")
    st.dataframe(data["runs"], hide_index=True, key="runs_table")
    st.subheader("Source errors")
    if data["errors"].empty:
        st.caption("No source errors recorded.")
    else:
        st.dataframe(data["errors"], hide_index=True, key="errors_table")
