"""Parameter-group recipes: functions that build the ``params`` list of any optimizer.

Each function returns a list of group dicts (``"params"``, the hyper-parameters it sets,
and ``"param_names"`` when the parameters have names), ready for any optimizer::

    optimizer = AdamW(weight_decay_groups(model, weight_decay=0.01), lr=1e-3)
    optimizer = AdamW(layerwise_lr_decay_groups(model, lr=1e-4, decay=0.95))
    optimizer = SGD(model.parameters(), lr=scale_lr_linear(0.1, batch_size=1024))

Hyper-parameters a group does not set come from the optimizer's own arguments.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

from .checks import PositiveInt, check_range

__all__ = ["weight_decay_groups", "layerwise_lr_decay_groups", "discriminative_lr_groups",
           "scale_lr_linear", "scale_lr_sqrt"]

ULMFIT_FACTOR = 2.6  # Howard & Ruder (2018): each layer down gets the rate above / 2.6


# --------------------------------------------------------------------------- inputs
def _is_module(obj) -> bool:
    return hasattr(obj, "named_parameters") and hasattr(obj, "named_modules")


def _named_items(model_or_params) -> tuple:
    """``(pairs, named)``: ``(name or None, param)`` pairs, and whether names were given."""
    if _is_module(model_or_params):
        return list(model_or_params.named_parameters()), True
    if hasattr(model_or_params, "data") and hasattr(model_or_params, "grad"):
        raise TypeError("expected a Module or an iterable of parameters, got a single "
                        "tensor: wrap it in a list")
    items = list(model_or_params)
    named = [isinstance(x, tuple) and len(x) == 2 for x in items]
    if any(named) and not all(named):
        raise TypeError("expected either (name, parameter) pairs or plain parameters, "
                        "not a mix of both")
    if items and all(named):
        return [(name, p) for name, p in items], True
    return [(None, p) for p in items], False


def _group(pairs: list, named: bool, **settings) -> dict:
    group = {"params": [p for _, p in pairs]}
    if named:
        group["param_names"] = [name for name, _ in pairs]
    group.update(settings)
    return group


def _is_norm_layer(module) -> bool:
    """LayerNorm, BatchNorm1d/2d and other normalisation layers (GroupNorm, RMSNorm, ...)."""
    return "Norm" in type(module).__name__


def _norm_param_ids(modules: Iterable) -> set:
    """``id`` of every parameter owned by a normalisation layer inside ``modules``."""
    return {id(p) for module in modules for m in module.modules() if _is_norm_layer(m)
            for p in m.parameters(recurse=False)}


def _matches(name: Optional[str], skip: Sequence[str]) -> bool:
    """``name`` equals an entry of ``skip`` or ends with ``"." + entry``."""
    if name is None:
        return False
    return any(name == s or name.endswith("." + s) for s in skip)


# --------------------------------------------------------------------------- weight decay
def weight_decay_groups(model_or_params, weight_decay: float, skip: Sequence[str] = ("bias",),
                        skip_1d: bool = True, skip_norm: bool = True) -> list:
    """Two groups: the weights that get ``weight_decay`` and those that get none.

    Weight decay is meant to shrink weight matrices and kernels. Decaying biases and the
    gains and shifts of normalisation layers only pulls them towards 0 (a gain of 0
    switches a channel off), so the common recipe (BERT, GPT-2, timm) exempts them.

    Parameters
    ----------
    model_or_params : Module or iterable
        A model, ``(name, parameter)`` pairs such as ``model.named_parameters()``, or
        plain parameters (then only the shape rule can apply).
    weight_decay : float
        Decay of the first group (≥ 0).
    skip : sequence of str, default ("bias",)
        Names exempted from decay: a parameter is exempt when its dotted name equals an
        entry or ends with ``"." + entry`` (``"bias"`` matches ``"fc.bias"``;
        ``"ln_f.weight"`` matches exactly that parameter).
    skip_1d : bool, default True
        Exempt every parameter with fewer than two dimensions (biases, normalisation
        gains and shifts, scalar gates).
    skip_norm : bool, default True
        With a Module, exempt the parameters of normalisation layers (any layer whose
        class name contains ``"Norm"``), whatever their shape.

    Returns
    -------
    list of two dicts
        ``{"params", "weight_decay": weight_decay}`` then ``{"params", "weight_decay":
        0.0}``, each with ``"param_names"`` when names are known, in the model's
        parameter order. Either may be empty.

    Examples
    --------
    >>> from minigrad import nn
    >>> from optim.adamw import AdamW
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    >>> groups = weight_decay_groups(model, weight_decay=0.01)
    >>> [(g["param_names"], g["weight_decay"]) for g in groups]
    [(['0.weight', '2.weight'], 0.01), (['0.bias', '1.weight', '1.bias', '2.bias'], 0.0)]
    >>> optimizer = AdamW(groups, lr=1e-3)
    """
    check_range("weight_decay", weight_decay)
    if isinstance(skip, str):
        skip = (skip,)
    pairs, named = _named_items(model_or_params)
    modules = [model_or_params] if _is_module(model_or_params) and skip_norm else []
    return _split_decay(pairs, named, weight_decay, skip, skip_1d, _norm_param_ids(modules))


def _split_decay(pairs: list, named: bool, weight_decay: float, skip: Sequence[str],
                 skip_1d: bool, norm_ids: set) -> list:
    decay, no_decay = [], []
    for name, p in pairs:
        exempt = (_matches(name, skip) or (skip_1d and len(p.shape) <= 1)
                  or id(p) in norm_ids)
        (no_decay if exempt else decay).append((name, p))
    return [_group(decay, named, weight_decay=weight_decay),
            _group(no_decay, named, weight_decay=0.0)]


# --------------------------------------------------------------------------- layer-wise rates
def _layers(model_or_layers) -> tuple:
    """``([(prefix, [(name, param), ...]), ...], modules)``: the layers, bottom first, and
    the modules they came from.

    A Module: its direct children, in registration order, are the layers (named by
    attribute); parameters registered on the model itself join the first layer. A
    sequence: each item is a layer, a Module or a ``(name, Module)`` pair (unnamed ones
    are named by their position). Layers without parameters are dropped; a parameter
    shared by several layers belongs to the lowest.
    """
    if _is_module(model_or_layers):
        items = list(model_or_layers.named_children())
        own = list(model_or_layers.named_parameters(recurse=False))
    else:
        items, own = [], []
        for index, item in enumerate(model_or_layers):
            if isinstance(item, tuple) and len(item) == 2 and _is_module(item[1]):
                items.append((str(item[0]), item[1]))
            elif _is_module(item):
                items.append((str(index), item))
            else:
                raise TypeError(f"layer {index} is a {type(item).__name__}; expected a "
                                "Module or a (name, Module) pair")
    seen: set = set()
    layers = []
    for position, (prefix, module) in enumerate(items):
        pairs = [(f"{prefix}.{name}", p) for name, p in module.named_parameters()]
        if position == 0:
            pairs = own + pairs
        pairs = [(name, p) for name, p in pairs if id(p) not in seen]
        seen.update(id(p) for _, p in pairs)
        if pairs:
            layers.append((prefix, pairs))
    if not layers and own:
        layers.append(("", own))
    if not layers:
        raise ValueError("no layer with parameters was found")
    modules = [model_or_layers] if _is_module(model_or_layers) else [m for _, m in items]
    return layers, modules


def _layered_groups(model_or_layers, rate, weight_decay: Optional[float]) -> list:
    layers, modules = _layers(model_or_layers)
    norm_ids = _norm_param_ids(modules) if weight_decay is not None else set()
    groups = []
    for index, (_, pairs) in enumerate(layers):
        lr = rate(len(layers) - 1 - index)
        if weight_decay is None:
            groups.append(_group(pairs, True, lr=lr))
        else:
            for group in _split_decay(pairs, True, weight_decay, ("bias",), True, norm_ids):
                if group["params"]:
                    group["lr"] = lr
                    groups.append(group)
    return groups


def layerwise_lr_decay_groups(model_or_layers, lr: float, decay: float, *,
                              weight_decay: Optional[float] = None) -> list:
    """Layer-wise learning-rate decay (LLRD): the top layer gets ``lr``, each one below
    ``decay`` times the rate of the layer above, lr·decay^depth.

    Used to fine-tune pretrained transformers (ELECTRA, Clark et al. 2020; BEiT, Bao et
    al. 2022): the lower layers hold general features that should move little.

    How layers are found: a list gives them explicitly, bottom (input side) first, each
    a Module or a ``(name, Module)`` pair; a Module's direct children are its layers, in
    registration order, and parameters registered on the model itself join the lowest
    layer. A child that holds a whole stack (a ``Sequential`` of blocks) is one layer:
    to decay per block, list the layers, e.g. ``[model.embed, *model.blocks, model.head]``.
    Layers without parameters (activations) do not count. Parameter names are
    ``"<layer name>.<name inside the layer>"``.

    Parameters
    ----------
    model_or_layers : Module or sequence of Module
        The layers, as described above.
    lr : float
        Rate of the top layer (≥ 0).
    decay : float
        Factor per layer down, in (0, 1]; 1 gives every layer ``lr``.
    weight_decay : float, optional
        If given, each layer is split as by :func:`weight_decay_groups` (weights get
        ``weight_decay``, biases and normalisation parameters 0), empty parts dropped.

    Returns
    -------
    list of dict
        One group per layer (two with ``weight_decay``), bottom layer first, each with
        ``"params"``, ``"param_names"`` and ``"lr"``.

    Examples
    --------
    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
    ...                       nn.Linear(8, 2))
    >>> groups = layerwise_lr_decay_groups(model, lr=1e-3, decay=0.5)
    >>> [(g["param_names"][0], g["lr"]) for g in groups]
    [('0.weight', 0.00025), ('2.weight', 0.0005), ('4.weight', 0.001)]
    """
    check_range("lr", lr)
    check_range("decay", decay, 0.0, 1.0, low_open=True)
    if weight_decay is not None:
        check_range("weight_decay", weight_decay)
    return _layered_groups(model_or_layers, lambda depth: lr * decay ** depth, weight_decay)


def discriminative_lr_groups(model_or_layers, lr: float, factor: float = ULMFIT_FACTOR, *,
                             weight_decay: Optional[float] = None) -> list:
    """Discriminative fine-tuning (ULMFiT): the top layer gets ``lr``, each layer below
    the rate above divided by ``factor``, lr / factor^depth.

    Howard & Ruder (2018), "Universal Language Model Fine-tuning for Text
    Classification", ACL, arXiv:1801.06146: choose the rate of the last layer, then
    η^(l−1) = η^l / 2.6 going down. This is :func:`layerwise_lr_decay_groups` with
    decay = 1/factor; layers are found the same way.

    To start from the *bottom* rate instead (the first layer at ``base_lr``, each layer
    up ``factor`` times more), pass ``lr = base_lr * factor ** (n_layers - 1)``.

    Parameters
    ----------
    model_or_layers : Module or sequence of Module
        The layers, bottom first (see :func:`layerwise_lr_decay_groups`).
    lr : float
        Rate of the top layer (≥ 0).
    factor : float, default 2.6
        Division per layer down (≥ 1).
    weight_decay : float, optional
        As in :func:`layerwise_lr_decay_groups`.

    Examples
    --------
    >>> from minigrad import nn
    >>> layers = [nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2)]
    >>> [round(g["lr"], 6) for g in discriminative_lr_groups(layers, lr=0.01)]
    [0.001479, 0.003846, 0.01]
    """
    check_range("lr", lr)
    check_range("factor", factor, 1.0, math.inf, high_open=True)
    if weight_decay is not None:
        check_range("weight_decay", weight_decay)
    return _layered_groups(model_or_layers, lambda depth: lr / factor ** depth, weight_decay)


# --------------------------------------------------------------------------- batch size
def _check_scaling(base_lr, batch_size, base_batch_size) -> None:
    check_range("base_lr", base_lr)
    PositiveInt("batch_size")(batch_size)
    PositiveInt("base_batch_size")(base_batch_size)


def scale_lr_linear(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The linear scaling rule: multiply the rate by the factor the batch grew by.

    lr = base_lr · batch_size / base_batch_size. Goyal et al. (2017), "Accurate, Large
    Minibatch SGD: Training ImageNet in 1 Hour", arXiv:1706.02677 (0.1 per 256 images
    for ResNet-50 with SGD). k times larger batches average k times more gradients, so
    a step of k·lr does about what k small steps did. Pair it with a warmup for large
    batches (the paper warms up over 5 epochs).

    Parameters
    ----------
    base_lr : float
        The rate tuned at ``base_batch_size`` (≥ 0).
    batch_size : int
        The (effective) batch size to train with (≥ 1).
    base_batch_size : int, default 256
        The batch size ``base_lr`` belongs to (≥ 1).

    Examples
    --------
    >>> scale_lr_linear(0.1, batch_size=8192)
    3.2
    """
    _check_scaling(base_lr, batch_size, base_batch_size)
    return base_lr * batch_size / base_batch_size


def scale_lr_sqrt(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The square-root scaling rule: lr = base_lr · √(batch_size / base_batch_size).

    Keeps the variance of the update constant as the batch grows (the noise of a mean of
    B gradients shrinks like 1/√B). Krizhevsky (2014), "One weird trick for
    parallelizing convolutional neural networks", arXiv:1404.5997; Hoffer, Hubara &
    Soudry (2017), "Train longer, generalize better", arXiv:1705.08741. Often preferred
    for adaptive optimizers (Adam) over the linear rule.

    Parameters
    ----------
    base_lr : float
        The rate tuned at ``base_batch_size`` (≥ 0).
    batch_size : int
        The (effective) batch size to train with (≥ 1).
    base_batch_size : int, default 256
        The batch size ``base_lr`` belongs to (≥ 1).

    Examples
    --------
    32 times the batch (32 GPUs with the same per-GPU batch):

    >>> round(scale_lr_sqrt(1e-3, batch_size=32 * 4096, base_batch_size=4096), 5)
    0.00566
    """
    _check_scaling(base_lr, batch_size, base_batch_size)
    return base_lr * math.sqrt(batch_size / base_batch_size)
