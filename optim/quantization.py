"""Block-wise dynamic quantisation: 8-bit codes plus one float32 scale per block.

8-bit optimizers (:mod:`optim.adam8bit`) keep each moment as one byte per element. A
byte is an index into a *map* of 256 numbers in [−1, 1]; a tensor is cut into blocks of
``block_size`` consecutive elements, each block is divided by its largest magnitude
(its ``absmax``, kept in float32), and every element is stored as the index of the
nearest map entry::

    quantise:    a_b = max |x_i| over block b;   q_i = argmin_k |x_i / a_b − map[k]|
    dequantise:  x_i ≈ map[q_i] · a_b

The maps are Dettmers' *dynamic tree* maps, spread like floating-point numbers: fine
near 0 (down to a few 10⁻⁷ of the block's absmax) and coarser near ±1. Small blocks
isolate outliers: one huge value only coarsens the other values of its own block.
8-bit Adam also asks that nothing nonzero be stored as 0 (``keep_nonzero``).

Dettmers, Lewis, Shleifer & Zettlemoyer (2022), "8-bit Optimizers via Block-wise
Quantization", arXiv:2110.02861; the maps are those of the authors' library
bitsandbytes (``create_dynamic_map``), written here from their description.

Non-finite values: a block holding a NaN or an infinity has no finite scale. Its
``absmax`` is stored as NaN and its codes as the code of 0, so the *whole block*
dequantises to NaN: the failure stays visible (as a NaN in a 32-bit moment would),
is confined to its block, and never becomes a finite number by accident.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from minigrad.backend import get_array_module

#: Elements per block in the authors' 8-bit optimizers.
DEFAULT_BLOCK_SIZE = 256


def _fraction_midpoints(count: int) -> np.ndarray:
    """Midpoints of ``count`` equal intervals that tile [0.1, 1]."""
    edges = np.linspace(0.1, 1.0, count + 1)
    return (edges[:-1] + edges[1:]) / 2


def create_dynamic_map(signed: bool = True) -> np.ndarray:
    """The 256 entries of the dynamic tree map, sorted, as float32.

    An 8-bit code of the tree format reads: a sign bit (signed map only), then a run of
    e zero bits that sets the decade 10^(−e), a 1 that ends the run, and the remaining
    bits as a linear fraction in [0.1, 1]. So decade 10^(−e), e = 0…6, gets 2^(6−e)
    values (signed) — 64 between 0.1 and 1, one near 10⁻⁶ — each the midpoint of an
    equal slice of [0.1, 1]·10^(−e). The unsigned map (for second moments, never
    negative) spends the sign bit on the fraction instead: 2^(7−e) values per decade.
    Both maps then get the exact values 0 and 1::

        signed:    127 positive, 127 negative, 0, 1    (256)
        unsigned:  254 positive, 0, 1                  (256)

    The signed map has +1 but not −1: its most negative entry is −0.99297 (the
    midpoint of the top slice), so a block whose absmax is negative stores that
    element with a relative error of 0.7%. This is the authors' map, kept as it is.

    Examples
    --------
    >>> m = create_dynamic_map(signed=True)
    >>> m.shape, m.dtype, round(float(m[0]), 5), float(m[-1]), bool((m == 0).any())
    ((256,), dtype('float32'), -0.99297, 1.0, True)
    >>> round(float(create_dynamic_map(signed=False)[1]) * 1e7, 6)  # smallest positive, ×10⁷
    3.25
    """
    values = [0.0, 1.0]
    for e in range(7):
        count = 2 ** (6 - e) if signed else 2 ** (7 - e)
        magnitudes = _fraction_midpoints(count) * 10.0 ** (-e)
        values.extend(magnitudes)
        if signed:
            values.extend(-magnitudes)
    table = np.sort(np.array(values, dtype=np.float64)).astype(np.float32)
    assert table.shape == (256,)
    return table


#: The map of first moments (any sign) and of second moments (never negative).
SIGNED_DYNAMIC_MAP = create_dynamic_map(signed=True)
UNSIGNED_DYNAMIC_MAP = create_dynamic_map(signed=False)
SIGNED_DYNAMIC_MAP.flags.writeable = False
UNSIGNED_DYNAMIC_MAP.flags.writeable = False


def num_blocks(size: int, block_size: int = DEFAULT_BLOCK_SIZE) -> int:
    """How many blocks ``size`` elements fill (the last one may be partial)."""
    return math.ceil(size / block_size)


def quantize_blockwise(x, code, block_size: int = DEFAULT_BLOCK_SIZE, *,
                       keep_nonzero: bool = False, out=None,
                       absmax_out=None) -> Tuple[object, object]:
    """Codes (uint8, shaped like ``x``) and per-block absmax (float32) of ``x``.

    Blocks are ``block_size`` consecutive elements of ``x`` flattened in C order;
    the last block may be shorter. Each element becomes the index of the entry of
    ``code`` (a sorted map, e.g. :data:`SIGNED_DYNAMIC_MAP`) nearest to x / absmax;
    an exact tie goes to the lower entry. A block of zeros gets absmax 0 and the code
    of 0; a block with a NaN or ±inf gets absmax NaN (see the module docstring).

    ``keep_nonzero=True``: a nonzero element whose nearest entry is 0 takes instead
    the entry of its sign nearest to 0 (so nothing nonzero is stored as 0, and no
    sign flips). 8-bit Adam needs this; see :func:`optim.adam8bit.adam8bit_update`.

    ``out`` / ``absmax_out``: arrays to write into (the optimizer's state), returned.

    Examples
    --------
    >>> q, absmax = quantize_blockwise(np.array([0.5, -2.0, 0.0, 1.0]), SIGNED_DYNAMIC_MAP,
    ...                                block_size=2)
    >>> absmax.tolist(), q.dtype.name
    ([2.0, 1.0], 'uint8')
    >>> restored = dequantize_blockwise(q, absmax, SIGNED_DYNAMIC_MAP, block_size=2)
    >>> [round(v, 4) for v in restored.tolist()]     # 0 and +absmax are exact
    [0.4953, -1.9859, 0.0, 1.0]
    """
    xp = get_array_module(x)
    code = xp.asarray(code, dtype=xp.float32)
    flat = xp.asarray(x, dtype=xp.float32).reshape(-1)
    size, blocks = flat.size, num_blocks(flat.size, block_size)
    padded = xp.zeros(blocks * block_size, dtype=xp.float32)
    padded[:size] = flat
    padded = padded.reshape(blocks, block_size)
    absmax = xp.abs(padded).max(axis=1)               # NaN propagates, inf stays inf
    finite = xp.isfinite(absmax)
    absmax = xp.where(finite, absmax, xp.float32(np.nan))
    scale = xp.where(finite & (absmax > 0), absmax, xp.float32(1.0))
    normalised = padded / scale[:, None]
    normalised = xp.where(finite[:, None], normalised, xp.float32(0.0))
    midpoints = (code[1:] + code[:-1]) / 2
    normalised = normalised.reshape(-1)
    indices = xp.searchsorted(midpoints, normalised, side="left")
    if keep_nonzero:
        zero = int(xp.searchsorted(code, xp.float32(0.0)))  # the index of 0 in the map
        indices = xp.where((indices == zero) & (normalised > 0) & (zero + 1 < code.size),
                           zero + 1, indices)
        indices = xp.where((indices == zero) & (normalised < 0) & (zero > 0),
                           zero - 1, indices)
    codes = indices[:size].astype(xp.uint8).reshape(xp.shape(x))
    if out is None:
        out = codes
    else:
        out[...] = codes
    if absmax_out is None:
        absmax_out = absmax
    else:
        absmax_out[...] = absmax
    return out, absmax_out


def dequantize_blockwise(codes, absmax, code, block_size: int = DEFAULT_BLOCK_SIZE,
                         out: Optional[object] = None):
    """The float32 array that ``codes`` and ``absmax`` stand for: map[q] · absmax.

    The inverse of :func:`quantize_blockwise` up to rounding to the map. The product
    is always taken in float32 (``absmax`` is read as float32 whatever its dtype), so
    a checkpoint that stored absmax in another float dtype decodes identically.
    ``out``: an array to write into, returned.
    """
    xp = get_array_module(codes)
    code = xp.asarray(code, dtype=xp.float32)
    flat = codes.reshape(-1)
    scales = xp.repeat(xp.asarray(absmax).astype(xp.float32, copy=False), block_size)
    values = (code[flat] * scales[:flat.size]).reshape(codes.shape)
    if out is None:
        return values
    out[...] = values
    return out
