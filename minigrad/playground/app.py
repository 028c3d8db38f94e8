"""The Optimizer Playground page (Streamlit): controls on the left, results on the right.

This script only lays out widgets; every number comes from :mod:`.logic` (runs, table,
CSV, summary), :mod:`.figure` and :mod:`.config` (the URL round trip). Start it with
``python -m minigrad.playground``. Widget keys are the query-parameter names
(``surface``, ``opt``, ``steps``, ``schedule``, ``Adam.lr``, ...), so tests can find each
control by the key a shared link uses.
"""
from __future__ import annotations

from minigrad import landscapes

# Absolute imports: Streamlit runs this file as a script, outside its package.
from minigrad.playground.catalog import (SCHEDULES, controls_for, landscape_names,
                                         optimizer_names)
from minigrad.playground.config import (MAX_STEPS, MIN_STEPS, Config, from_query_params,
                                        start_limits, to_query_params)
from minigrad.playground.figure import figure_png, playground_figure
from minigrad.playground.logic import iteration_table, run_config, summary, table_csv

TITLE = "Optimizer Playground"


def _start_keys(surface: str):
    """Keys of the start-point inputs: one pair per surface, so a new surface starts at
    its own classic point."""
    return f"start_x.{surface}", f"start_y.{surface}"


def _seed(st, config: Config) -> None:
    """Put a configuration (read from the URL) into the widgets' stored state."""
    st.session_state.update(surface=config.surface, opt=list(config.optimizers),
                            steps=config.steps, schedule=config.schedule)
    key_x, key_y = _start_keys(config.surface)
    st.session_state[key_x], st.session_state[key_y] = config.start_point()
    for label in config.optimizers:
        for key in controls_for(label):
            st.session_state[f"{label}.{key}"] = config.value(label, key)


def _with_default(st, key: str, default) -> dict:
    """``{"value": default}`` unless Streamlit already holds the widget's value."""
    return {} if key in st.session_state else {"value": default}


def _optimizer_controls(st, label: str) -> dict:
    """The sliders of one optimizer; returns the values set away from their defaults."""
    values = {}
    with st.sidebar.expander(label, expanded=False):
        for key, spec in controls_for(label).items():
            widget_key = f"{label}.{key}"
            value = st.select_slider(spec.control.label, options=spec.options,
                                     format_func=lambda v: f"{v:g}", key=widget_key,
                                     **_with_default(st, widget_key, spec.default))
            if value != spec.default:
                values[key] = value
    return values


def _controls(st) -> Config:
    """Lay out the sidebar and return the configuration it shows."""
    sidebar = st.sidebar
    sidebar.header("Settings")
    surface = sidebar.selectbox("surface", landscape_names(), key="surface")
    chosen = sidebar.multiselect("optimizers", optimizer_names(), key="opt")
    steps = sidebar.slider("steps", MIN_STEPS, MAX_STEPS, key="steps")
    schedule = sidebar.selectbox("learning-rate schedule", list(SCHEDULES), key="schedule")
    (x_low, x_high), (y_low, y_high) = start_limits(surface)
    classic = tuple(float(v) for v in landscapes.get(surface).start)
    key_x, key_y = _start_keys(surface)
    column_x, column_y = sidebar.columns(2)
    x = column_x.number_input("start x", x_low, x_high, step=0.1, key=key_x,
                              **_with_default(st, key_x, classic[0]))
    y = column_y.number_input("start y", y_low, y_high, step=0.1, key=key_y,
                              **_with_default(st, key_y, classic[1]))
    if chosen:
        sidebar.subheader("Hyper-parameters")
    values = {label: _optimizer_controls(st, label) for label in chosen}
    start = None if (float(x), float(y)) == classic else (float(x), float(y))
    return Config(surface=surface, optimizers=tuple(chosen),
                  values={k: v for k, v in values.items() if v}, schedule=schedule,
                  steps=int(steps), start=start)


def _share(st, config: Config) -> None:
    """Write the configuration into the URL when it changed."""
    params = to_query_params(config)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def _results(st, config: Config) -> None:
    """The figure, the per-run summary, the per-iteration table and its download."""
    runs = run_config(config)
    for run in runs:
        if run["error"] is not None:
            st.error(f"{run['name']} could not run: {run['error']}")
        elif run["stopped_at"] is not None:
            st.warning(f"{run['name']} diverged at step {run['stopped_at']}: the path stops "
                       "there, and the table's status column marks that row.")
    if not runs:
        st.info("Pick one or more optimizers in the sidebar.")
    st.image(figure_png(playground_figure(config.surface, runs)), width="stretch",
             caption=f"{len(runs)} optimizer(s), {config.steps} steps on {config.surface}")
    if not runs:
        return
    st.subheader("Summary")
    st.dataframe(summary(runs, config.surface), hide_index=True)
    st.subheader("Every iteration")
    st.caption("Row t: the point after t steps, its loss, the rate η used by step t and "
               "the optimizer's state after it (m̂, v̂: bias-corrected averages).")
    table = iteration_table(runs)
    st.dataframe(table, hide_index=True, height=320)
    st.download_button("Download CSV", lambda: table_csv(table),  # written on click only
                       file_name="playground.csv", mime="text/csv", key="download",
                       on_click="ignore")


def main() -> None:
    """Build the page once (Streamlit reruns this on every change)."""
    import streamlit as st

    st.set_page_config(page_title=TITLE, layout="wide")
    if "_notes" not in st.session_state:  # first run of this browser tab: read the URL
        config, notes = from_query_params(st.query_params.to_dict())
        _seed(st, config)
        st.session_state["_notes"] = notes
    st.title(TITLE)
    for note in st.session_state["_notes"]:
        st.info(f"From the link: {note}")
    config = _controls(st)
    _share(st, config)
    _results(st, config)


if __name__ == "__main__":
    main()
