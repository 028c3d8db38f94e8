"""minigrad.plot: figures for the chapters, as functions that return Matplotlib Figures.

Every function takes data (arrays, mappings ``name -> array``) or objects (landscapes,
optimizers) and returns a :class:`matplotlib.figure.Figure` built without pyplot: no
window opens, ``plt.show()`` is never called, and saving is the caller's choice
(``fig.savefig("paths.png")``). All share one style (:mod:`.style`): the colour-blind-safe
Okabe–Ito palette and font sizes readable on a projector. ``optim`` and ``schedules`` are
imported lazily, only by the functions that need them.
"""
from .style import OKABE_ITO, PALETTE, new_figure, style
from .surfaces import (draw_trajectories, momentum_ravine, ravine_paths, surface_and_contour,
                       trajectories_on_contours)
from .curves import (effective_learning_rates, effective_lr, ewa, ewa_figure, grad_norms,
                     loss_curves, schedule_curves, temperatures, weight_norms)
from .memory import measure_state_ratios, memory_bars, modern_configs
from .animation import animate_trajectories
from .lr_finder import lr_finder_curve
from .heatmap import sweep_heatmap
from .experiments import batch_size_figure, run_panels
from .techniques import layer_lr_bars, magnitude_histograms

__all__ = [
    "OKABE_ITO", "PALETTE", "new_figure", "style",
    "surface_and_contour", "trajectories_on_contours", "draw_trajectories", "momentum_ravine",
    "ravine_paths",
    "loss_curves", "schedule_curves", "ewa", "ewa_figure", "temperatures", "grad_norms",
    "weight_norms", "effective_lr", "effective_learning_rates",
    "memory_bars", "measure_state_ratios", "modern_configs", "animate_trajectories", "lr_finder_curve",
    "sweep_heatmap", "run_panels", "batch_size_figure", "layer_lr_bars", "magnitude_histograms",
]
