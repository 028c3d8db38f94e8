"""im2col / col2im and the functional ``conv2d``, ``max_pool2d`` and ``avg_pool2d``.

A 2-D convolution becomes one matrix product once every receptive field is laid out as
a column (*im2col*). For an input of shape (N, C, H, W) and a k_h × k_w kernel,

    cols[n, c, i, j, y, x] = x_padded[n, c, s_h·y + d_h·i, s_w·x + d_w·j]

and then out[n, o, y, x] = Σ_{c,i,j} W[o, c, i, j] · cols[n, c, i, j, y, x] + b[o].

im2col only copies values, so it is linear; its adjoint *col2im* adds every column entry
back to the pixel it came from (a scatter-add, since neighbouring windows overlap). Each
is the other's backward, which keeps gradients differentiable to any order.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from ..amp.autocast import autocast_lower
from ..autograd import Function
from ..backend import get_array_module
from ..ops import matmul, pad as pad_constant, reshape, where
from ..ops._util import as_tensor
from ..tensor import Tensor

IntPair = Union[int, Sequence[int]]


def _pair(value: IntPair, name: str) -> tuple:
    """``3 -> (3, 3)``; a pair stays a pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """⌊(size − d·(k − 1) − 1) / s⌋ + 1 for an already padded ``size``."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


class Im2Col(Function):
    """(N, C, H, W) -> (N, C, k_h, k_w, H_out, W_out): the receptive fields, copied out.

    The input is already padded. Backward is :class:`Col2Im`.
    """

    def __init__(self, kernel: tuple, stride: tuple, dilation: tuple):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, x):
        xp = get_array_module(x)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        self.input_shape = x.shape
        span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        windows = xp.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, H_out, W_out, kh, kw)
        return xp.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))

    def backward(self, gcols):
        return Col2Im(self.input_shape, self.kernel, self.stride, self.dilation)(gcols)


class Col2Im(Function):
    """The adjoint of im2col: add each column entry back onto its pixel.

    For kernel offset (i, j), the entries cols[:, :, i, j] came from the strided grid
    of pixels starting at (d_h·i, d_w·j); one slice-add per offset. Backward is
    :class:`Im2Col`.
    """

    def __init__(self, image_shape: tuple, kernel: tuple, stride: tuple, dilation: tuple):
        self.image_shape = image_shape
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, cols):
        xp = get_array_module(cols)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        out_h, out_w = cols.shape[-2:]
        image = xp.zeros(self.image_shape, dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                rows = slice(dh * i, dh * i + sh * (out_h - 1) + 1, sh)
                columns = slice(dw * j, dw * j + sw * (out_w - 1) + 1, sw)
                image[:, :, rows, columns] += cols[:, :, i, j]
        return image

    def backward(self, gimage):
        return Im2Col(self.kernel, self.stride, self.dilation)(gimage)


def _padding_widths(padding, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """((top, bottom), (left, right)) from an int, a pair, ``'valid'`` or ``'same'``."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return (ph, ph), (pw, pw)


def im2col(x: Tensor, kernel_size: IntPair, stride: IntPair = 1, padding=0,
           dilation: IntPair = 1, pad_value: float = 0.0) -> Tensor:
    """Pad ``x`` (N, C, H, W) and lay out its receptive fields: (N, C, k_h, k_w, H_out, W_out)."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"expected a 4-D input (N, C, H, W), got shape {x.shape}")
    kernel, dilation = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    stride = _pair(stride, "stride")
    if min(kernel + stride + dilation) < 1:
        raise ValueError("kernel_size, stride and dilation must be positive")
    (top, bottom), (left, right) = _padding_widths(padding, kernel, dilation, stride)
    if top or bottom or left or right:
        x = pad_constant(x, ((0, 0), (0, 0), (top, bottom), (left, right)), value=pad_value)
    out_h = output_size(x.shape[2], kernel[0], stride[0], dilation[0])
    out_w = output_size(x.shape[3], kernel[1], stride[1], dilation[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"kernel {kernel} (dilation {dilation}) is larger than the padded "
                         f"input of size {x.shape[2:]}")
    return Im2Col(kernel, stride, dilation)(x)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntPair = 1,
           padding=0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation (PyTorch's ``conv2d``), as im2col followed by one matmul.

    Parameters
    ----------
    input : Tensor
        (N, C_in, H, W).
    weight : Tensor
        (C_out, C_in/groups, k_h, k_w).
    bias : Tensor, optional
        (C_out,).
    stride, dilation : int or pair of ints
    padding : int, pair of ints, 'valid' or 'same'
        Zeros added on both sides ('same': output size = input size, stride 1 only).
    groups : int
        Split the channels into ``groups`` independent convolutions (done as one
        batched matmul).

    Returns
    -------
    Tensor
        (N, C_out, H_out, W_out), H_out = ⌊(H + 2·pad − d·(k − 1) − 1)/s⌋ + 1.
    """
    input, weight = as_tensor(input), as_tensor(weight)
    input, weight, bias = autocast_lower(input, weight, bias)  # float16 in autocast
    n, c_in = input.shape[:2]
    c_out, c_per_group, kh, kw = weight.shape
    if c_in % groups or c_out % groups or c_in // groups != c_per_group:
        raise ValueError(f"conv2d: input with {c_in} channels and groups={groups} does not "
                         f"match weight of shape {weight.shape}")
    cols = im2col(input, (kh, kw), stride, padding, dilation)  # (N, C, kh, kw, H', W')
    out_h, out_w = cols.shape[-2:]
    cols = reshape(cols, (n, groups, c_per_group * kh * kw, out_h * out_w))
    w = reshape(weight, (groups, c_out // groups, c_per_group * kh * kw))
    out = reshape(matmul(w, cols), (n, c_out, out_h, out_w))  # (N, g, C_out/g, H'W')
    if bias is not None:
        out = out + reshape(bias, (1, c_out, 1, 1))
    return out


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: Optional[IntPair] = None,
               padding: IntPair = 0, dilation: IntPair = 1) -> Tensor:
    """Largest value of each window; padding counts as −∞ (PyTorch's ``max_pool2d``).

    The gradient goes to the first maximum of each window, as in PyTorch: a constant
    one-hot mask picks it, so the op is a composition of im2col, ``where`` and ``sum``.
    """
    input = as_tensor(input)
    stride = kernel_size if stride is None else stride
    kh, kw = _pair(kernel_size, "kernel_size")
    ph, pw = _pair(padding, "padding")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"pad should be at most half of effective kernel size, but got "
                         f"padding={padding} and kernel_size={kernel_size}")
    cols = im2col(input, (kh, kw), stride, (ph, pw), dilation, pad_value=-np.inf)
    n, c, _, _, out_h, out_w = cols.shape
    cols = reshape(cols, (n, c, kh * kw, out_h, out_w))
    xp = get_array_module(cols.data)
    first_max = xp.argmax(cols.data, axis=2)[:, :, None]  # (N, C, 1, H', W')
    one_hot = xp.arange(kh * kw).reshape(1, 1, -1, 1, 1) == first_max
    return where(one_hot, cols, 0.0).sum(axis=2)


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: Optional[IntPair] = None,
               padding: IntPair = 0) -> Tensor:
    """Mean of each window; zero padding is counted (PyTorch's ``count_include_pad=True``)."""
    stride = kernel_size if stride is None else stride
    cols = im2col(as_tensor(input), kernel_size, stride, padding)
    return cols.mean(axis=(2, 3))
