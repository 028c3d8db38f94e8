"""``RNN``: the Elman recurrent network, with PyTorch's parameters, shapes and init.

For each layer ℓ and time step t,

    h_t = act(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh),   act = tanh or relu,

where x_t is the input (layer 0) or the output of the layer below. The input projection
x_t W_ihᵀ is computed for all time steps at once; only the recurrence is a Python loop,
so backpropagation through time is just backward through that unrolled graph.
"""
from __future__ import annotations

import math
from typing import Optional

from ..ops import relu, stack, tanh
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _empty_parameter
from .module import Module


class RNN(Module):
    """Multi-layer Elman RNN.

    Parameters per layer k: ``weight_ih_lk`` (hidden, in), ``weight_hh_lk``
    (hidden, hidden), ``bias_ih_lk`` and ``bias_hh_lk`` (hidden,), all from
    U(−1/√hidden, 1/√hidden).

    Input (L, N, H_in) — (N, L, H_in) with ``batch_first=True`` — or unbatched (L, H_in);
    optional ``h0`` (num_layers, N, H) or (num_layers, H). Returns ``(output, h_n)``:
    the last layer's hidden state at every step (L, N, H) (batch first if asked) and
    every layer's final state (num_layers, N, H).

    ``dropout`` is applied to the outputs of every layer except the last, in training.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=None) -> None:
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if bidirectional:
            raise NotImplementedError("bidirectional RNNs are not implemented in minigrad")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = dropout, bidirectional
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", _empty_parameter((hidden_size, layer_input), dtype))
            setattr(self, f"weight_hh_l{layer}", _empty_parameter((hidden_size, hidden_size), dtype))
            if bias:
                setattr(self, f"bias_ih_l{layer}", _empty_parameter((hidden_size,), dtype))
                setattr(self, f"bias_hh_l{layer}", _empty_parameter((hidden_size,), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _layer_parameters(self, layer: int) -> tuple:
        get = lambda name: getattr(self, f"{name}_l{layer}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_input(self, input: Tensor, hx: Optional[Tensor]) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.ndim}D tensor instead")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"RNN: input.size(-1) must be equal to input_size. "
                             f"Expected {self.input_size}, got {input.shape[-1]}")
        if hx is not None:
            expected = (self.num_layers,) + input.shape[1:-1] + (self.hidden_size,)
            if hx.shape != expected:
                raise ValueError(f"RNN: Expected hidden size {expected}, got {hx.shape}")

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> tuple:
        unbatched = input.ndim == 2
        if unbatched:  # (L, H_in) -> (L, 1, H_in)
            input = input.unsqueeze(1)
            hx = None if hx is None else hx.unsqueeze(1)
        elif self.batch_first:  # (N, L, H_in) -> (L, N, H_in)
            input = input.swapaxes(0, 1)
        self._check_input(input, hx)
        act = tanh if self.nonlinearity == "tanh" else relu
        layer_input, finals = input, []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_parameters(layer)
            projected = F.linear(layer_input, w_ih, b_ih)  # all time steps at once
            h = None if hx is None else hx[layer]
            steps = []
            for t in range(input.shape[0]):
                pre = projected[t] if h is None else projected[t] + F.linear(h, w_hh, b_hh)
                if h is None and b_hh is not None:
                    pre = pre + b_hh  # h_0 = 0 contributes only its bias
                h = act(pre)
                steps.append(h)
            layer_input = stack(steps, axis=0)
            finals.append(h)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output, h_n = layer_input, stack(finals, axis=0)
        if unbatched:
            return output.squeeze(1), h_n.squeeze(1)
        return (output.swapaxes(0, 1) if self.batch_first else output), h_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text
