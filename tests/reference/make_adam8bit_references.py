"""Regenerate ``adam8bit_quantization.npz`` from bitsandbytes (run by hand).

    pip install bitsandbytes
    python tests/reference/make_adam8bit_references.py

Stores the authors' two dynamic maps (``create_dynamic_map(signed=True / False)``) and
their block-wise quantisation (block size 256, CPU) of a fixed input: 600 values whose
magnitudes lie between 10⁻² and 1 of their block's largest, of both signs (their
absolute values for the unsigned map). The range is limited because the library's CPU
backend finds codes with an approximate search that can miss the nearest entry for
values below about 10⁻² of the block's largest; above it, it is the nearest entry,
which is the rule of the library's GPU kernel and of ``optim.quantization``.
The tests read only the npz, so they run without torch or bitsandbytes.
"""
from __future__ import annotations

import pathlib
from importlib.metadata import version

import numpy as np
import torch
import bitsandbytes.functional as bnb_functional

HERE = pathlib.Path(__file__).resolve().parent
SIZE, BLOCK_SIZE = 600, 256


def fixed_input() -> np.ndarray:
    rng = np.random.default_rng(2110)
    magnitudes = 10.0 ** rng.uniform(-2.0, 0.0, SIZE)
    x = rng.choice([-1.0, 1.0], SIZE) * magnitudes
    x[3], x[300], x[599] = 1.0, -1.0, 0.5  # a block's largest of each sign, a partial block
    return x.astype(np.float32)


def quantize(x: np.ndarray, signed: bool):
    code = bnb_functional.create_dynamic_map(signed=signed)
    codes, state = bnb_functional.quantize_blockwise(
        torch.tensor(x), code=code.clone(), blocksize=BLOCK_SIZE)  # the CPU op edits its code
    return code.numpy(), codes.numpy(), state.absmax.numpy()


def main() -> None:
    x = fixed_input()
    signed_map, signed_codes, signed_absmax = quantize(x, signed=True)
    unsigned_map, unsigned_codes, unsigned_absmax = quantize(np.abs(x), signed=False)
    out = HERE / "adam8bit_quantization.npz"
    np.savez_compressed(out, x=x, block_size=np.array(BLOCK_SIZE),
                        signed_map=signed_map, signed_codes=signed_codes,
                        signed_absmax=signed_absmax, unsigned_map=unsigned_map,
                        unsigned_codes=unsigned_codes, unsigned_absmax=unsigned_absmax,
                        bitsandbytes_version=np.array(version("bitsandbytes")))
    print(f"wrote {out} with bitsandbytes {version('bitsandbytes')}")


if __name__ == "__main__":
    main()
