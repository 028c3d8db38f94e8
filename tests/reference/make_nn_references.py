"""Regenerate ``nn_references.npz`` from PyTorch (run by hand; the tests never need torch).

    python tests/reference/make_nn_references.py

Attention, Transformer and ResNet layers in float64 on the CPU. For every case of
``nn_cases.CASES`` there are these entries, keyed ``<case>/<entry>``:

* ``state/<key>``: the module's state dict (random values, so that biases, LayerNorm and
  BatchNorm affine parameters and running statistics are all non-trivial);
* ``in/<name>``: the inputs (float inputs and masks);
* ``out/<i>``: the outputs (``out/1`` is absent when ``MultiheadAttention`` returns no
  weights); ``proj/<i>``: the random arrays v_i of the loss Σ_i Σ v_i·out_i;
* ``grad/state/<key>`` and ``grad/in/<name>``: the gradients of that loss with respect
  to the parameters and to the float inputs;
* ``after/<key>``: the buffers after the forward pass (BatchNorm running statistics).

The file stores them packed (see ``pack``): three flat vectors and a JSON ``index``
giving each entry's vector, offset and shape. Inputs, states and projections are float64
values that float32 represents exactly, so they are stored as float32. ``cases`` holds
the cases as JSON, so a test can tell when the file is older than ``nn_cases.py``.
torchvision is not needed: the ResNet blocks below are written out here.
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import torch
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nn_cases import CASES, SEED, exact32, make_input  # noqa: E402

OUT = HERE / "nn_references.npz"


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class TorchBasicBlock(nn.Module):
    """torchvision's BasicBlock, written out (same sub-module names)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def projection(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(cout))


class TorchResNet(nn.Module):
    """The CIFAR-style ResNet: 3×3 stem, stages of BasicBlocks, global average, fc."""

    def __init__(self, layers, num_classes, in_channels, width):
        super().__init__()
        self.conv1 = conv3x3(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        inplanes = width
        for stage, blocks in enumerate(layers):
            planes, stride = width * 2 ** stage, 1 if stage == 0 else 2
            down = None
            if stride != 1 or inplanes != planes:
                down = projection(inplanes, planes, stride)
            stage_blocks = [TorchBasicBlock(inplanes, planes, stride, down)]
            stage_blocks += [TorchBasicBlock(planes, planes) for _ in range(1, blocks)]
            setattr(self, f"layer{stage + 1}", nn.Sequential(*stage_blocks))
            inplanes = planes
        self.num_stages = len(layers)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in range(self.num_stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def build_torch(case: dict):
    kind, kwargs = case["kind"], dict(case.get("kwargs", {}))
    if kind == "mha":
        return nn.MultiheadAttention(**kwargs)
    if kind == "encoder_layer":
        return nn.TransformerEncoderLayer(**kwargs)
    if kind == "decoder_layer":
        return nn.TransformerDecoderLayer(**kwargs)
    if kind == "encoder":
        layer = nn.TransformerEncoderLayer(**kwargs["layer"])
        norm = nn.LayerNorm(kwargs["layer"]["d_model"]) if kwargs["norm"] else None
        return nn.TransformerEncoder(layer, kwargs["num_layers"], norm,
                                     enable_nested_tensor=False)
    if kind == "transformer":
        return nn.Transformer(**kwargs)
    if kind == "basic_block":
        down = kwargs.pop("downsample", False)
        stride = kwargs.get("stride", 1)
        downsample = projection(kwargs["inplanes"], kwargs["planes"], stride) if down else None
        return TorchBasicBlock(**kwargs, downsample=downsample)
    if kind == "resnet":
        return TorchResNet(**kwargs)
    if kind == "sdpa":
        return None
    raise ValueError(f"unknown kind {kind!r}")


def randomize_state(module: nn.Module, rng: np.random.Generator) -> None:
    """Random parameters and buffers (positive running variances)."""
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if key.endswith("num_batches_tracked"):
                value.fill_(3)
            elif key.endswith("running_var"):
                value.copy_(torch.from_numpy(exact32(rng.uniform(0.5, 2.0, value.shape))))
            else:
                value.copy_(torch.from_numpy(exact32(0.5 * rng.standard_normal(value.shape))))


def case_data(case: dict, rng: np.random.Generator) -> dict:
    """Inputs, state, outputs and gradients of one case, as a flat dict of arrays."""
    arrays = {name: make_input(spec, rng) for name, spec in case["inputs"].items()}
    module = build_torch(case)
    data = {f"in/{name}": value for name, value in arrays.items()}
    tensors = {}
    for name, spec in case["inputs"].items():
        value = arrays[name][0] if name in case.get("squeeze", []) else arrays[name]
        tensor = torch.from_numpy(np.array(value))
        if spec[0] == "normal" and name not in case.get("keywords", {}).values():
            tensor.requires_grad_(True)
        tensors[name] = tensor
    args = [tensors[name] for name in case["args"]]
    keywords = {key: tensors[name] for key, name in case.get("keywords", {}).items()}
    keywords.update(case.get("call", {}))
    if module is None:
        outputs = torch.nn.functional.scaled_dot_product_attention(*args, **keywords)
    else:
        module.double()
        randomize_state(module, rng)
        module.train(case.get("train", True))
        data.update({f"state/{k}": v.numpy().copy() for k, v in module.state_dict().items()})
        outputs = module(*args, **keywords)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    loss = 0.0
    for i, out in enumerate(outputs):
        if out is None:
            continue
        proj = exact32(rng.standard_normal(tuple(out.shape)))
        data[f"out/{i}"] = out.detach().numpy().copy()
        data[f"proj/{i}"] = proj
        loss = loss + (out * torch.from_numpy(proj)).sum()
    loss.backward()
    for name, tensor in tensors.items():
        if tensor.requires_grad:
            grad = tensor.grad.numpy()
            data[f"grad/in/{name}"] = grad[None] if name in case.get("squeeze", []) else grad
    if module is not None:
        for key, param in module.named_parameters():
            data[f"grad/state/{key}"] = param.grad.numpy().copy()
        data.update({f"after/{k}": v.numpy().copy() for k, v in module.named_buffers()})
    return data


def build_all() -> dict:
    """Every case's data, keyed ``<case>/<entry>``, with the seed fixed."""
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out = {}
    for case in CASES:
        for key, value in case_data(case, rng).items():
            out[f"{case['name']}/{key}"] = value
    return out


def pack(data: dict) -> dict:
    """Join every array into three flat vectors (float32-exact values, float64, bool) and a
    JSON index ``{key: [vector, offset, shape]}``: a few arrays instead of hundreds."""
    exact = ("in/", "state/", "proj/")
    vectors = {"exact32": [], "float64": [], "bool": []}
    sizes = dict.fromkeys(vectors, 0)
    index = {}
    for key, value in data.items():
        value = np.asarray(value)
        if value.dtype == bool:
            vector = "bool"
        elif value.dtype == np.float64 and key.partition("/")[2].startswith(exact):
            vector = "exact32"
        else:
            vector = "float64"
        index[key] = [vector, sizes[vector], list(value.shape)]
        vectors[vector].append(value.ravel())
        sizes[vector] += value.size
    dtypes = {"exact32": np.float32, "float64": np.float64, "bool": bool}
    packed = {name: np.concatenate(parts).astype(dtypes[name]) for name, parts in vectors.items()}
    packed["index"] = np.array(json.dumps(index))
    packed["cases"] = np.array(json.dumps(CASES))
    return packed


def main() -> None:
    data = build_all()
    np.savez_compressed(OUT, **pack(data))
    print(f"wrote {OUT.name}: {len(CASES)} cases, {sum(v.size for v in data.values())} numbers")


if __name__ == "__main__":
    main()
