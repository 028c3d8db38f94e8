"""Residual networks: torchvision's ``BasicBlock`` and a small CIFAR-style ``ResNet``.

A residual block learns a correction F(x) to its input instead of a whole new map
(He, Zhang, Ren & Sun, 2016, "Deep Residual Learning for Image Recognition",
arXiv:1512.03385):

    y = ReLU(F(x) + shortcut(x)),   F = conv3×3 → BN → ReLU → conv3×3 → BN.

The shortcut is the identity, or — when the block changes the resolution or the number
of channels — a 1×1 convolution with stride and a BatchNorm (the paper's "option B",
which torchvision uses). Gradients reach early layers through the identity paths
undiminished, which is what lets very deep networks train.

``ResNet`` here is the paper's CIFAR-10 network (its section 4.2), not torchvision's
ImageNet one: a 3×3 stem with stride 1 and no max-pooling, then one stage per entry of
``layers`` — stage i has ``width·2^i`` channels and halves the resolution (except the
first) — global average pooling and a linear classifier. The names of its sub-modules
(``conv1``, ``bn1``, ``layer1``, …, ``fc``, and inside the blocks ``conv1``, ``bn1``,
``conv2``, ``bn2``, ``downsample.0``, ``downsample.1``) are torchvision's.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Type

from ..tensor import Tensor
from . import init
from .activation import ReLU
from .container import Sequential
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .normalization import BatchNorm2d

__all__ = ["BasicBlock", "ResNet", "cifar_resnet", "conv3x3", "conv1x1"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> Conv2d:
    """3×3 convolution with padding (same size at stride 1), no bias (a BN follows)."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                  groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """1×1 convolution without bias (the projection shortcut)."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """Two 3×3 convolutions with a residual connection (torchvision's ``BasicBlock``).

    Parameters
    ----------
    inplanes : int
        Input channels.
    planes : int
        Output channels (``expansion = 1``).
    stride : int, default 1
        Stride of the first convolution (2 halves the resolution).
    downsample : Module, optional
        Applied to the input to form the shortcut when its shape changes, typically
        ``Sequential(conv1x1(inplanes, planes, stride), BatchNorm2d(planes))``.
    groups, base_width, dilation : accepted as in torchvision, which also allows only
        1, 64 and 1 for this block.
    norm_layer : callable, optional
        Builds the normalisation layers from a channel count (``BatchNorm2d`` if None).

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> block = nn.BasicBlock(4, 8, stride=2, downsample=nn.Sequential(
    ...     nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8)))
    >>> block(minigrad.randn(2, 4, 8, 8)).shape
    (2, 8, 4, 4)
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[Module] = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Optional[Callable[[int], Module]] = None
                 ) -> None:
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(Module):
    """A CIFAR-style residual network (3×3 stem, no max-pooling).

    Parameters
    ----------
    block : type
        The residual block class (``BasicBlock``); its ``expansion`` attribute gives the
        ratio of output to inner channels.
    layers : sequence of int
        Number of blocks in each stage; ``[n, n, n]`` is the paper's 6n+2-layer network
        (n = 3: ResNet-20).
    num_classes : int, default 10
    in_channels : int, default 3
        Channels of the input images (1 for grey-scale).
    width : int, default 16
        Channels of the stem and of the first stage; stage i has ``width·2^i``.
    zero_init_residual : bool, default False
        Start each block's last BatchNorm scale at 0, so that every block begins as the
        identity (Goyal et al., 2017).
    norm_layer : callable, optional
        Builds the normalisation layers (``BatchNorm2d`` if None).

    Notes
    -----
    Convolutions start from ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``,
    BatchNorms from scale 1 and shift 0, the classifier from ``Linear``'s default
    (torchvision's choices).

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> model = nn.ResNet(nn.BasicBlock, [1, 1, 1], num_classes=10, in_channels=1, width=4)
    >>> model(minigrad.randn(2, 1, 8, 8)).shape
    (2, 10)
    """

    def __init__(self, block: Type[Module], layers: Sequence[int], num_classes: int = 10,
                 in_channels: int = 3, width: int = 16, zero_init_residual: bool = False,
                 norm_layer: Optional[Callable[[int], Module]] = None) -> None:
        super().__init__()
        if not layers or any(n < 1 for n in layers):
            raise ValueError(f"layers must list at least one stage of at least one block, "
                             f"got {list(layers)}")
        self._norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        self.inplanes = width
        self.conv1 = conv3x3(in_channels, width)
        self.bn1 = self._norm_layer(width)
        self.relu = ReLU(inplace=True)
        for stage, blocks in enumerate(layers):
            stride = 1 if stage == 0 else 2
            setattr(self, f"layer{stage + 1}",
                    self._make_layer(block, width * 2 ** stage, blocks, stride))
        self.fc = Linear(self.inplanes, num_classes)
        for module in self.modules():
            if isinstance(module, Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, BatchNorm2d):
                init.ones_(module.weight)
                init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, BasicBlock):
                    init.zeros_(module.bn2.weight)

    def _make_layer(self, block: Type[Module], planes: int, blocks: int,
                    stride: int) -> Sequential:
        """One stage: a block that may change shape (with a projection shortcut), then
        ``blocks − 1`` blocks that keep it."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                    self._norm_layer(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample,
                       norm_layer=self._norm_layer)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes, norm_layer=self._norm_layer)
                  for _ in range(1, blocks)]
        return Sequential(*stage)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for name, module in self._modules.items():
            if name.startswith("layer"):
                x = module(x)
        x = x.mean(axis=(2, 3))  # global average pooling: (N, C, H, W) -> (N, C)
        return self.fc(x)


def cifar_resnet(depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 width: int = 16, **kwargs) -> ResNet:
    """The paper's CIFAR ResNet of ``depth`` = 6n + 2 layers (20, 32, 44, 56, 110, …):
    three stages of n ``BasicBlock`` blocks with width, 2·width and 4·width channels."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, …), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], num_classes=num_classes, in_channels=in_channels,
                  width=width, **kwargs)
