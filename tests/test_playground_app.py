"""The Optimizer Playground page, driven headless by Streamlit's AppTest."""
import os

import pytest

pytest.importorskip("streamlit", reason="the playground needs Streamlit (the 'playground' extra)")
from streamlit.testing.v1 import AppTest  # noqa: E402

from minigrad.playground import catalog  # noqa: E402
from minigrad.playground.config import from_query_params  # noqa: E402

APP = os.path.join(os.path.dirname(__file__), os.pardir, "minigrad", "playground", "app.py")


def _open(**params) -> AppTest:
    """The page opened at a URL with these query parameters (short runs by default)."""
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"steps": "40", **params})
    return app.run()


def _figure_url(app: AppTest) -> str:
    """The served figure's address: Streamlit names it after a hash of the image."""
    (image,) = app.image
    return image.proto.imgs[0].url


def _config(app: AppTest):
    """What the URL now says, read back through the playground's own parser."""
    config, notes = from_query_params(dict(app.query_params))
    assert notes == []
    return config


def _assert_healthy(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.image) == 1


def _table(app: AppTest):
    """The per-iteration table as the page shows it (a DataFrame)."""
    return app.dataframe[1].value


@pytest.fixture(scope="module")
def page():
    return _open(opt="SGD,Adam")


def test_default_page_draws_the_figure_tables_and_download():
    page = _open()
    _assert_healthy(page)
    summary, table = page.dataframe
    assert list(summary.value["optimizer"]) == ["SGD", "Momentum", "RMSprop", "Adam"]
    assert {"x", "y", "loss", "status", "exp_avg_x", "m_hat_y"} <= set(table.value.columns)
    assert page.get("download_button")[0].label == "Download CSV"


def test_the_url_is_read_at_start():
    app = _open(surface="beale", opt="Adam,Nesterov", **{"Adam.lr": "0.05"},
                schedule="CosineAnnealingLR", start="1,-1")
    _assert_healthy(app)
    assert app.selectbox(key="surface").value == "beale"
    assert app.multiselect(key="opt").value == ["Adam", "Nesterov"]
    assert app.select_slider(key="Adam.lr").value == 0.05
    assert app.selectbox(key="schedule").value == "CosineAnnealingLR"
    assert app.number_input(key="start_x.beale").value == 1.0
    assert not app.info  # nothing in the link was ignored


def test_a_bad_url_is_reported_and_the_page_still_draws():
    app = _open(surface="moon", opt="Adam,NoSuchThing", steps="nan", **{"Adam.lr": "-5"})
    _assert_healthy(app)
    notes = " ".join(info.value for info in app.info)
    assert "moon" in notes and "NoSuchThing" in notes and "Adam.lr" in notes


@pytest.mark.parametrize("surface", catalog.landscape_names())
def test_every_surface_redraws_and_is_written_to_the_url(page, surface):
    before = _figure_url(page)
    page.selectbox(key="surface").set_value(surface).run()
    _assert_healthy(page)
    assert _config(page).surface == surface
    if surface != "rosenbrock":
        assert _figure_url(page) != before


def test_every_optimizer_shows_the_sliders_it_takes():
    app = _open(opt="SGD", surface="ravine", steps="3")
    app.multiselect(key="opt").set_value(list(catalog.optimizer_names())).run()
    _assert_healthy(app)
    assert list(app.dataframe[0].value["optimizer"]) == list(catalog.optimizer_names())
    shown = {slider.key for slider in app.select_slider}
    for label in catalog.optimizer_names():
        for key, spec in catalog.controls_for(label).items():
            slider = app.select_slider(key=f"{label}.{key}")
            assert slider.value == spec.default
            assert list(slider.options) == [f"{v:g}" for v in spec.options]
            shown.discard(f"{label}.{key}")
    assert shown == set()


def test_each_kind_of_slider_changes_the_run_and_the_url():
    app = _open(opt="SGD,Momentum,Adam,RMSprop,AdamW", surface="ravine", steps="10")
    for label, key in [("SGD", "lr"), ("Momentum", "momentum"), ("Adam", "beta1"),
                       ("Adam", "beta2"), ("RMSprop", "eps"), ("AdamW", "weight_decay")]:
        before = _table(app)
        spec = catalog.controls_for(label)[key]
        new = spec.options[-1] if spec.default != spec.options[-1] else spec.options[0]
        app.select_slider(key=f"{label}.{key}").set_value(new).run()
        _assert_healthy(app)
        assert _config(app).value(label, key) == new
        changed = _table(app)[_table(app)["optimizer"] == label]
        assert not changed.equals(before[before["optimizer"] == label]), (label, key)


def test_steps_schedule_and_start_controls_change_the_figure(page):
    page.selectbox(key="surface").set_value("rosenbrock").run()
    changes = [lambda: page.slider(key="steps").set_value(60),
               lambda: page.number_input(key="start_x.rosenbrock").set_value(-1.5),
               lambda: page.number_input(key="start_y.rosenbrock").set_value(2.0)]
    changes += [lambda name=name: page.selectbox(key="schedule").set_value(name)
                for name in ("StepLR", "OneCycleLR")]  # each schedule: the logic tests
    for change in changes:
        before = _figure_url(page)
        change().run()
        _assert_healthy(page)
        assert _figure_url(page) != before
    config = _config(page)
    assert config.steps == 60 and config.start == (-1.5, 2.0)
    assert config.schedule == "OneCycleLR"


def test_a_diverging_run_is_shown_as_diverged():
    app = _open(opt="SGD,Adam", **{"SGD.lr": "10"})
    _assert_healthy(app)
    (warning,) = app.warning
    assert "SGD diverged at step" in warning.value
    table = app.dataframe[1].value
    sgd = table[table["optimizer"] == "SGD"]
    assert sgd["status"].iloc[-1] == "diverged" and len(sgd) < 41
    assert (table[table["optimizer"] == "Adam"]["status"] == "diverged").sum() == 0


def test_no_optimizer_still_draws_the_surface():
    app = _open()
    app.multiselect(key="opt").set_value([]).run()
    _assert_healthy(app)
    assert "Pick one or more optimizers" in app.info[0].value
    assert _config(app).optimizers == ()
