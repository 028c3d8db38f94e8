"""Containers: ``Sequential`` (a pipeline) and ``ModuleList`` (a list of layers).

Both name their children ``"0"``, ``"1"``, …, so parameters get names such as
``0.weight`` — the same names PyTorch gives, which keeps state dicts interchangeable.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Iterator, Optional, Union

from .module import Module


def _index(position: int, length: int) -> int:
    """Map a possibly negative position into ``0..length-1`` or raise IndexError."""
    if not -length <= position < length:
        raise IndexError(f"index {position} is out of range for a container of length {length}")
    return position % length


class Sequential(Module):
    """Modules applied one after the other: ``y = m_n(…m_2(m_1(x)))``.

    Build it from modules, or from an ``OrderedDict`` to choose the children's names.

    Examples
    --------
    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    >>> len(model), type(model[1]).__name__
    (3, 'ReLU')
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for position, module in enumerate(modules):
                self.add_module(str(position), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: Union[int, slice]):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items))][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[_index(index, len(self))]
        self.add_module(name, module)

    def __delitem__(self, index: int) -> None:
        name = list(self._modules)[_index(index, len(self))]
        del self._modules[name]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them).

    It has no ``forward``: the owner decides how to call its entries.

    Examples
    --------
    >>> from minigrad import nn
    >>> layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
    >>> len(list(layers.parameters()))
    4
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: Union[int, slice]):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_index(index, len(modules))]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self))), module)

    def __delitem__(self, index: int) -> None:
        modules = list(self._modules.values())
        del modules[_index(index, len(modules))]
        self._modules.clear()
        self.extend(modules)  # renumber "0", "1", … as PyTorch does

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over its modules")
