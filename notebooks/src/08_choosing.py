# %% [markdown]
# # 8. Choosing an optimizer
#
# The chapters close with a decision guide, recipes, and five experiments. We write the
# guide down as data, then run each experiment at a scale that fits a laptop (the gallery
# runs the full-size versions: `python -m minigrad.gallery`).
#
# ## The decision guide
#
# | situation | optimizer | schedule | typical settings |
# |---|---|---|---|
# | CNN from scratch | SGD + momentum 0.9 | cosine annealing | lr 0.1, batch 256, wd 1e-4–5e-4 |
# | Transformer from scratch | AdamW | linear warmup (10 %) + cosine | lr 5e-4, batch 256–512, wd 0.01 |
# | GAN | Adam, $\beta_1 = 0.5$ | none | lr 2e-4 |
# | RNN / LSTM | AdamW or RMSprop | — | lr 1e-3, gradient clipping at 1.0 |
# | fine-tuning | AdamW, parameter groups | warmup 5–10 % + cosine | backbone 1e-5, head 1e-3 |
#
# SGD with momentum often generalises slightly better on vision, but needs more tuning
# and longer training; Adam-type methods converge faster with less tuning, at twice the
# state memory.

# %%
import numpy as np
import matplotlib.pyplot as plt

import optim
import schedules
import minigrad.plot as mplot
from minigrad import experiments, landscapes
from minigrad.trajectories import run_trajectory, steps_to_reach

%matplotlib inline

# %%
RECIPES = {
    "cnn": dict(optimizer=optim.SGD, kwargs=dict(lr=0.1, momentum=0.9, weight_decay=1e-4),
                schedule="cosine"),
    "transformer": dict(optimizer=optim.AdamW, kwargs=dict(lr=5e-4, weight_decay=0.01),
                        schedule="10% warmup + cosine"),
    "gan": dict(optimizer=optim.Adam, kwargs=dict(lr=2e-4, betas=(0.5, 0.999)),
                schedule="none"),
    "rnn": dict(optimizer=optim.AdamW, kwargs=dict(lr=1e-3), schedule="none, clip at 1.0"),
    "fine-tuning": dict(optimizer=optim.AdamW, kwargs=dict(lr=1e-5, weight_decay=0.01),
                        schedule="5-10% warmup + cosine; head lr 1e-3"),
}


def recommend(architecture: str) -> str:
    recipe = RECIPES[architecture]
    return f"{recipe['optimizer'].__name__}({recipe['kwargs']}), schedule: {recipe['schedule']}"


for arch in RECIPES:
    print(f"{arch:12s} -> {recommend(arch)}")

# %% [markdown]
# ## A recipe, run small: SGD + momentum against AdamW on the digits
#
# Both with their guide settings (AdamW's rate raised for a tiny network and a few
# epochs), the same start and the same batches.

# %%
recipes = {"SGD + momentum (0.1)": (optim.SGD, {"lr": 0.1, "momentum": 0.9,
                                                "weight_decay": 1e-4}),
           "AdamW (3e-3)": (optim.AdamW, {"lr": 3e-3, "weight_decay": 0.01})}
runs = experiments.optimizer_comparison(recipes, epochs=4, hidden=(64,), n_train=1000)
for run in runs:
    print(f"{run['name']:22s} test accuracy {run['test_accuracy'][-1]:.3f}")
mplot.run_panels(runs, panels=[{"key": "loss", "log": True, "smooth": 0.9}],
                 bars=["test_accuracy"])

# %% [markdown]
# ## Exercise 1 of the chapters: compare optimizers on Rosenbrock
#
# Count the iterations to reach loss $< 0.01$ from the classic start $(-1, 1)$.

# %%
rosen = landscapes.get("rosenbrock")
contenders = {"SGD": (optim.SGD, {"lr": 1e-3}),
              "SGD + momentum": (optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
              "RMSprop": (optim.RMSprop, {"lr": 1e-2}),
              "Adam": (optim.Adam, {"lr": 2e-2})}
paths = {name: run_trajectory(rosen, cls, steps=3000, name=name, **kw)
         for name, (cls, kw) in contenders.items()}
for name, run in paths.items():
    print(f"{name:16s} steps to loss < 0.01: {steps_to_reach(run['loss'], 0.01)}")
mplot.trajectories_on_contours(rosen, paths)

# %% [markdown]
# ## Exercise 2: scheduler ablation
#
# Notebook 6 runs it (`experiments.scheduler_ablation`). The bonus, an LR range test to
# pick OneCycle's peak, is `schedules.LRFinder` from notebook 7, run before training.
#
# ## Exercise 3: large-batch training, simulated
#
# An effective batch built by accumulating micro-batches, against the real large batch;
# SGD against the layer-wise methods LARS and LAMB, all with warmup. (The chapters use
# 1024 = 64 × 16; we use 256 = 32 × 8 to stay fast.)

# %%
large = experiments.large_batch_simulation(batch_size=256, micro_batch=32, steps=15,
                                           warmup_steps=5, hidden=(64,))
print(f"{'run':28s} {'test acc':>8s} {'peak MB':>8s}")
for run in large:
    print(f"{run['name']:28s} {run['test_accuracy']:8.3f} {run['peak_bytes'] / 1e6:8.2f}")
mplot.run_panels(large, panels=[{"key": "loss", "log": True}, "lr"])

# %% [markdown]
# Accumulation gives the same updates as the real large batch (up to rounding) with the
# memory of the micro-batch.
#
# ## Exercise 4: the batch-size experiment
#
# Same epochs, same Adam rate, different batch sizes: small batches take more steps per
# epoch and, at a fixed rate, usually reach a lower loss in the same number of epochs.

# %%
result = experiments.batch_size_experiment((16, 64, 256), epochs=2, hidden=(64,), n_train=800)
mplot.batch_size_figure(result)

# %% [markdown]
# ## Exercise 5: warmup on a small transformer
#
# A character-level transformer trained with Adam at a high rate, with and without a
# linear warmup (tiny sizes here; the gallery figure uses the full ones).

# %%
warm = experiments.transformer_warmup(steps=60, warmup_steps=15, d_model=16, nhead=2,
                                      num_layers=1, dim_feedforward=32, context=16,
                                      batch_size=8)
for run in warm:
    print(f"{run['name']:20s} validation loss {run['val_loss']:.3f} nats/char")
mplot.run_panels(warm, panels=[{"key": "loss", "smooth": 0.8}, "lr", "grad_norm"])

# %% [markdown]
# ## Exercises
#
# 1. Add `NAdam` and `Lion` to the Rosenbrock comparison. Tune each learning rate with
#    `minigrad.trajectories.tune_lr` first.
# 2. Run the batch-size experiment with the rate scaled linearly with the batch size
#    (`lr = 1e-3 · B / 16`). Does the large batch catch up?
# 3. Which recipe of the guide would you pick for a small LSTM language model, and what
#    is its one non-optimizer ingredient?
#
# ### Solution (click to show)

# %% [solution]
# 1.
from minigrad.trajectories import tune_lr

for name, cls in (("NAdam", optim.NAdam), ("Lion", optim.Lion)):
    tuned = tune_lr(rosen, cls, candidates=[1e-3, 3e-3, 1e-2, 3e-2], steps=1500)
    print(name, tuned)

# 2. One run per batch size, each with its own rate.
for batch in (16, 256):
    r = experiments.batch_size_experiment((batch,), epochs=2, lr=1e-3 * batch / 16,
                                          hidden=(64,), n_train=800)
    print(batch, r["test_accuracy"])

# 3. AdamW (or RMSprop) at 1e-3 with gradient clipping at norm 1.0.
print(recommend("rnn"))
