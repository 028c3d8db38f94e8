# %% [markdown]
# # 10. Playground
#
# Pick an optimizer, a landscape, the learning rate, the two $\beta$s, the number of
# steps and the start point; the trajectory and the loss curve redraw. The defaults
# (Adam against Rosenbrock's banana valley) make a useful picture even where the
# sliders cannot move (a static page): the first figure below is drawn without widgets.
#
# How the sliders map to each optimizer:
#
# | optimizer | $\beta_1$ | $\beta_2$ |
# |---|---|---|
# | SGD | momentum $\mu$ | — |
# | SGD (Nesterov) | momentum $\mu$ | — |
# | Adagrad | — | — |
# | RMSprop | — | $\alpha$ |
# | Adam, AdamW, NAdam, RAdam, Lion | $\beta_1$ | $\beta_2$ |

# %%
import numpy as np
from IPython.display import display

import optim
import minigrad.plot as mplot
from minigrad import landscapes
from minigrad.trajectories import run_trajectory, steps_to_reach

%matplotlib inline

# %%
OPTIMIZERS = {
    "SGD": lambda b1, b2: (optim.SGD, {"momentum": b1}),
    "SGD (Nesterov)": lambda b1, b2: (optim.SGD, {"momentum": b1, "nesterov": b1 > 0}),
    "Adagrad": lambda b1, b2: (optim.Adagrad, {}),
    "RMSprop": lambda b1, b2: (optim.RMSprop, {"alpha": b2}),
    "Adam": lambda b1, b2: (optim.Adam, {"betas": (b1, b2)}),
    "AdamW": lambda b1, b2: (optim.AdamW, {"betas": (b1, b2), "weight_decay": 0.01}),
    "NAdam": lambda b1, b2: (optim.NAdam, {"betas": (b1, b2)}),
    "RAdam": lambda b1, b2: (optim.RAdam, {"betas": (b1, b2)}),
    "Lion": lambda b1, b2: (optim.Lion, {"betas": (b1, b2)}),
}
LANDSCAPES = sorted(landscapes.LANDSCAPES)


def run(optimizer="Adam", landscape="rosenbrock", lr=0.02, beta1=0.9, beta2=0.999,
        steps=500, start=None):
    """One run: the path and the loss of ``optimizer`` on ``landscape``."""
    surface = landscapes.get(landscape)
    cls, kwargs = OPTIMIZERS[optimizer](beta1, beta2)
    return surface, run_trajectory(surface, cls, steps=int(steps), start=start, lr=lr,
                                   name=optimizer, **kwargs)


def draw(optimizer="Adam", landscape="rosenbrock", lr=0.02, beta1=0.9, beta2=0.999,
         steps=500, start=None):
    """Draw the trajectory on the contour map and the loss per step; print a summary."""
    surface, result = run(optimizer, landscape, lr, beta1, beta2, steps, start)
    reached = steps_to_reach(result["loss"], 1e-2, min_value=surface.min_value)
    status = "diverged" if result["diverged"] else f"final loss {result['loss'][-1]:.3g}"
    print(f"{optimizer} on {landscape}, lr {lr:g}: {status}; "
          f"steps to within 0.01 of the minimum: {reached}")
    display(mplot.trajectories_on_contours(surface, {optimizer: result}))
    display(mplot.loss_curves({optimizer: result["loss"]}, title=f"{optimizer}, loss per step"))

# %% [markdown]
# ## The default picture

# %%
draw()

# %% [markdown]
# ## The playground
#
# Move a slider and both figures redraw (in Jupyter; a static page shows only the
# controls). The start point sliders are used when "classic start" is unticked.

# %%
try:
    import ipywidgets as widgets
except ImportError:  # the playground needs ipywidgets: pip install ipywidgets
    widgets = None
    print("ipywidgets is not installed; the figure above shows the defaults.")

if widgets is not None:
    controls = {
        "optimizer": widgets.Dropdown(options=list(OPTIMIZERS), value="Adam",
                                      description="optimizer"),
        "landscape": widgets.Dropdown(options=LANDSCAPES, value="rosenbrock",
                                      description="landscape"),
        "log_lr": widgets.FloatSlider(value=np.log10(0.02), min=-4, max=0, step=0.1,
                                      description="log10 lr"),
        "beta1": widgets.FloatSlider(value=0.9, min=0, max=0.99, step=0.01,
                                     description="β1"),
        "beta2": widgets.FloatSlider(value=0.999, min=0.9, max=0.9999, step=0.0001,
                                     readout_format=".4f", description="β2"),
        "steps": widgets.IntSlider(value=500, min=10, max=3000, step=10,
                                   description="steps"),
        "classic_start": widgets.Checkbox(value=True, description="classic start"),
        "x0": widgets.FloatSlider(value=-1.0, min=-5, max=5, step=0.1, description="start x"),
        "y0": widgets.FloatSlider(value=1.0, min=-5, max=5, step=0.1, description="start y"),
    }

    def redraw(optimizer, landscape, log_lr, beta1, beta2, steps, classic_start, x0, y0):
        start = None if classic_start else (x0, y0)
        draw(optimizer, landscape, 10 ** log_lr, beta1, beta2, steps, start)

    output = widgets.interactive_output(redraw, controls)
    panel = widgets.VBox([widgets.HBox([controls["optimizer"], controls["landscape"]]),
                          widgets.HBox([controls["log_lr"], controls["steps"]]),
                          widgets.HBox([controls["beta1"], controls["beta2"]]),
                          widgets.HBox([controls["classic_start"], controls["x0"],
                                        controls["y0"]])])
    display(panel, output)

# %% [markdown]
# ## Things to try
#
# * SGD on Rosenbrock: find the largest rate that does not diverge, then add momentum.
# * Lion on the ravine: why does its path run at 45°?
# * RMSprop against Adam on the saddle, started at $(-1, 10^{-3})$: who escapes first?
# * Rastrigin: does any optimizer leave the first basin it falls into?
#
# ## Exercises
#
# 1. On the ravine, with SGD, find the rate at which the path starts to zig-zag, and the
#    rate at which it diverges.
# 2. Compare Adam's first 20 steps with `beta1 = 0` and `beta1 = 0.9` on Rosenbrock.
#
# ### Solution (click to show)

# %% [solution]
# 1. The ravine 0.5 (x^2 + 50 y^2): zig-zag once lr > 1/50, divergence above 2/50.
for lr in (0.015, 0.025, 0.039, 0.041):
    _, result = run("SGD", "ravine", lr=lr, beta1=0.0, steps=200)
    print(lr, "diverged" if result["diverged"] else f"{result['loss'][-1]:.2e}")

# 2.
for b1 in (0.0, 0.9):
    _, result = run("Adam", "rosenbrock", lr=0.02, beta1=b1, steps=20)
    print(b1, result["path"][-1].round(3), f"{result['loss'][-1]:.3f}")
