"""BasicBlock, ResNet and cifar_resnet: shapes, names, initialisation, and PyTorch's numbers.

The PyTorch reference is torchvision's BasicBlock written out in
tests/reference/make_nn_references.py (torchvision itself is not needed).
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import minigrad
from minigrad import nn
from optim.sgd import SGD

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import nn_cases  # noqa: E402

STORED, _ = nn_cases.load(REFERENCE / "nn_references.npz")
CASES = [case for case in nn_cases.CASES if case["kind"] in ("basic_block", "resnet")]


def downsample(inplanes: int, planes: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(planes))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_matches_stored_pytorch_reference(case):
    """Output, every gradient, and the BatchNorm running statistics afterwards."""
    reference = STORED[case["name"]]
    nn_cases.compare(nn_cases.run_minigrad(case, reference), reference)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_matches_live_pytorch(case):
    pytest.importorskip("torch")
    import make_nn_references

    reference = make_nn_references.case_data(case, np.random.default_rng(1))
    nn_cases.compare(nn_cases.run_minigrad(case, reference), reference)


def test_state_dict_keys_and_shapes_equal_the_pytorch_reference_network():
    pytest.importorskip("torch")
    import make_nn_references

    theirs = make_nn_references.TorchResNet([2, 1, 1], 10, 3, 4).state_dict()
    ours = nn.ResNet(nn.BasicBlock, [2, 1, 1], num_classes=10, in_channels=3, width=4)
    ours = ours.state_dict()
    assert list(ours) == list(theirs)
    assert [v.shape for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


def test_resnet_layout_and_shapes():
    model = nn.ResNet(nn.BasicBlock, [1, 2, 1], num_classes=7, in_channels=1, width=4)
    assert [len(model.layer1), len(model.layer2), len(model.layer3)] == [1, 2, 1]
    assert model.layer1[0].downsample is None
    assert model.layer2[0].downsample[0].stride == (2, 2)
    assert model.layer2[1].downsample is None
    assert model.fc.in_features == 16
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert model(minigrad.randn(3, 1, 8, 8)).shape == (3, 7)
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer2.0.downsample.0.weight" in names and names[-2:] == ["fc.weight", "fc.bias"]


def test_cifar_resnet_depths():
    model = nn.cifar_resnet(20)
    assert [len(getattr(model, f"layer{i}")) for i in (1, 2, 3)] == [3, 3, 3]
    assert model.layer3[0].conv1.out_channels == 64
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == 20  # 19 3×3 convolutions and the classifier
    for depth in (7, 21, 2):
        with pytest.raises(ValueError, match="6n"):
            nn.cifar_resnet(depth)


def test_initialisation_follows_torchvision():
    minigrad.manual_seed(0)
    model = nn.ResNet(nn.BasicBlock, [1, 1], width=32)
    weight = model.layer2[0].conv2.weight.data  # fan_out = 64 · 9
    assert abs(weight.std() - np.sqrt(2 / (64 * 9))) < 0.05 * np.sqrt(2 / (64 * 9))
    assert np.all(model.layer1[0].bn2.weight.data == 1)
    assert np.all(model.layer1[0].bn2.bias.data == 0)


def test_zero_init_residual_makes_identity_blocks_pass_their_input():
    model = nn.ResNet(nn.BasicBlock, [2], width=3, zero_init_residual=True).eval()
    block = model.layer1[1]
    assert np.all(block.bn2.weight.data == 0)
    x = minigrad.randn(2, 3, 5, 5)
    np.testing.assert_array_equal(block(x).data, np.maximum(x.data, 0))


def test_basic_block_shapes_with_and_without_downsample():
    x = minigrad.randn(2, 4, 8, 8)
    assert nn.BasicBlock(4, 4)(x).shape == (2, 4, 8, 8)
    assert nn.BasicBlock(4, 6, stride=2, downsample=downsample(4, 6, 2))(x).shape == (2, 6, 4, 4)
    assert nn.BasicBlock.expansion == 1


def test_basic_block_rejects_what_torchvision_rejects():
    with pytest.raises(ValueError, match="groups=1"):
        nn.BasicBlock(4, 4, groups=2)
    with pytest.raises(NotImplementedError, match="Dilation"):
        nn.BasicBlock(4, 4, dilation=2)
    with pytest.raises(ValueError, match="layers"):
        nn.ResNet(nn.BasicBlock, [])


def test_tiny_resnet_fits_a_small_batch():
    minigrad.manual_seed(0)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((8, 1, 6, 6)))
    y = minigrad.tensor(rng.integers(0, 3, size=8))
    model = nn.ResNet(nn.BasicBlock, [1, 1], num_classes=3, in_channels=1, width=4)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(15):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
