"""Neural-network layers, losses, initialisers and utilities, with ``torch.nn``'s names.

>>> import minigrad
>>> from minigrad import nn
>>> import minigrad.nn.functional as F
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> logits = model(minigrad.randn(5, 4))
>>> loss = F.cross_entropy(logits, minigrad.tensor([0, 1, 2, 0, 1]))
>>> loss.backward()
>>> model[0].weight.grad.shape
(8, 4)
"""
from ..tensor import Parameter
from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .container import ModuleList, Sequential
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .rnn import RNN
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .resnet import BasicBlock, ResNet, cifar_resnet

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList",
    "Linear", "Identity", "Flatten",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "Dropout", "Embedding", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "RNN",
    "Conv2d", "MaxPool2d", "AvgPool2d",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss",
    "functional", "init", "utils",
    "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "BasicBlock", "ResNet", "cifar_resnet",
]
