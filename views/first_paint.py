"""Progressive first load: a browser session's first run draws the composite chart, then the rest.

On a page load the browser must evaluate Plotly's bundle (about a second here) and render every
widget; with the whole page arriving at once, the widgets' rendering made the first chart wait
(issue 5, item 9). So a browser session's first run draws only the title, the metrics and the
composite chart with the default settings, plus a tiny component that reports once the browser
has painted the chart. That report reruns the script, which then draws the sidebar, the chart
options and the tabs around the same chart (same settings, so the chart is not redrawn).

Only clients that tell their URL (browsers) can run the component; AppTest tells none and gets the
whole page in one run. The component reports after 10 s even without a chart, so a page never
stays without its filters.
"""

from __future__ import annotations

import streamlit as st

PAINTED = "first_chart_painted"
_PROBE_JS = """
export default function (component) {
  const started = performance.now();
  const report = () => component.setTriggerValue("painted", true);
  const check = () => {
    const drawn = document.querySelector(".js-plotly-plot .main-svg");
    if (drawn || performance.now() - started > 10000) {
      requestAnimationFrame(() => setTimeout(report, 0));
    } else {
      setTimeout(check, 50);
    }
  };
  check();
}
"""
_probe = st.components.v2.component("policy_risk_first_paint", js=_PROBE_JS)


def pending() -> bool:
    """Whether this run is a browser session's first, which draws the composite chart alone."""
    return st.context.url is not None and not st.session_state.get(PAINTED, False)


def mark_painted() -> None:
    """Draw the whole page from now on (the probe's callback; also when there is no chart)."""
    st.session_state[PAINTED] = True


def report_when_painted() -> None:
    """Mount the probe (in the sidebar) that reruns the script once the chart is painted."""
    with st.sidebar:
        _probe(key="first_paint_probe", on_painted_change=mark_painted)
