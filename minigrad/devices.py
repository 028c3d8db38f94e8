"""``minigrad.device``: a device name with PyTorch's ``type`` and ``index`` attributes.

Code written for PyTorch builds devices as objects,
``torch.device("cuda" if torch.cuda.is_available() else "cpu")``, and reads
``device.type``. Here a device is a string that knows its parts: ``device("cuda:0")`` is
the string ``"cuda:0"`` with ``type == "cuda"`` and ``index == 0``, so it is accepted
everywhere a device string is (``minigrad.tensor(..., device=d)``, the factories,
``Tensor.to(d)``, ``Module.to(d)``), and those check it, naming the extra to install
when a GPU is asked for and missing.
"""
from __future__ import annotations

from typing import Optional, Union

_TYPES = ("cpu", "cuda")


class device(str):  # noqa: N801 - PyTorch's name
    """A device: ``"cpu"`` or ``"cuda"``, optionally with an index (``"cuda:0"``).

    Parameters
    ----------
    type : str or device
        ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"`` (``"gpu"`` means ``"cuda"``).
    index : int, optional
        The GPU number, when not given in ``type``. Only ``0`` is meaningful: minigrad
        uses the current CuPy device.

    Examples
    --------
    >>> import minigrad
    >>> d = minigrad.device("cuda:0")
    >>> d.type, d.index, str(d)
    ('cuda', 0, 'cuda:0')
    >>> d
    device(type='cuda', index=0)
    >>> minigrad.device("cpu") == "cpu"
    True
    """

    def __new__(cls, type: Union[str, "device"], index: Optional[int] = None):  # noqa: A002
        if not isinstance(type, str):
            raise TypeError(f"device: type must be a string such as 'cpu' or 'cuda:0', "
                            f"got {type!r}")
        kind, _, number = type.partition(":")
        kind = "cuda" if kind == "gpu" else kind
        if kind not in _TYPES:
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:<index>', got {type!r}")
        if number:
            if index is not None:
                raise ValueError(f"device: index given twice, in {type!r} and as index={index}")
            if not number.isdigit():
                raise ValueError(f"device: the index in {type!r} must be a non-negative integer")
            index = int(number)
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise ValueError(f"device: index must be a non-negative integer, got {index!r}")
            if kind == "cpu" and index != 0:
                raise ValueError(f"device: a cpu device has index 0 or none, got {index}")
        name = kind if index is None else f"{kind}:{index}"
        self = super().__new__(cls, name)
        self._type, self._index = kind, index
        return self

    @property
    def type(self) -> str:  # noqa: A003 - PyTorch's name
        """``"cpu"`` or ``"cuda"``."""
        return self._type

    @property
    def index(self) -> Optional[int]:
        """The device number, or ``None`` when not given."""
        return self._index

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"
