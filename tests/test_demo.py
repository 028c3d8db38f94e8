"""End to end: the demo's MLP, trained with the engine and plain SGD, learns the digits."""
from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from minigrad.demo import main, train_mlp_on_digits  # noqa: E402


def test_mlp_reaches_95_percent_digits_test_accuracy():
    result = train_mlp_on_digits(epochs=20, seed=0, verbose=False)
    assert result["test_accuracy"] >= 0.95
    losses = [row["loss"] for row in result["history"]]
    assert losses[-1] < losses[0] / 5


def test_training_is_reproducible_with_the_same_seed():
    first = train_mlp_on_digits(epochs=2, seed=3, verbose=False)
    second = train_mlp_on_digits(epochs=2, seed=3, verbose=False)
    assert first["history"] == second["history"]


def test_demo_prints_a_table_per_epoch_and_the_final_accuracy(capsys):
    main(["--epochs", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("|")[0].strip() == "epoch"
    assert len([line for line in lines if line.strip()[:1].isdigit()]) == 2
    assert lines[-1].startswith("final test accuracy:")
