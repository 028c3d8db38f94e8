"""The CUDA source of the GPU kernels, written once per optimizer (no CuPy needed here).

Each optimizer's update is one :class:`ElementwiseRule`: the C statements that update
one coordinate, written on local variables of the *compute type* ``C`` (float32 for
float16 and float32 parameters, float64 for float64 ones). From one rule this module
builds two kernels' source, so the algebra exists once:

* :func:`elementwise_source` – the pieces of a ``cupy.ElementwiseKernel``: one launch
  per parameter, any strides (a non-contiguous parameter is updated where it lives);
* :func:`multi_tensor_source` – a ``cupy.RawKernel`` that updates *many* contiguous
  parameters in one launch: block ``b`` handles chunk ``b`` of one tensor, found in a
  table of pointers uploaded once per step.

Inside a rule, ``p`` is the parameter, ``g`` the gradient (a copy: writing ``g`` never
touches ``.grad``), and each state array and scalar has its own name. The wrapper loads
every array into ``C`` locals, runs the rule, and stores ``p`` and the state back in
their own dtypes. The scalars (learning rate, bias corrections, ...) are computed on
the host in float64 for each step and rounded to ``C``, as NumPy rounds a Python float
that meets a float32 array. NaN must propagate as in NumPy: ``nan_max``, ``nan_min``
and ``nan_sign`` stand in for ``fmax``, ``fmin`` and a sign that would drop it.

Examples
--------
>>> rule = RULES["lion"]
>>> rule.arrays
('m',)
>>> in_params, out_params, operation, preamble = elementwise_source(rule)
>>> out_params
'P param, S m_array'
>>> "p = p - lr * nan_sign(c);" in rule.body
True
"""
from __future__ import annotations

from dataclasses import dataclass

#: Shared by every kernel: the compute type and the NaN-propagating helpers.
PREAMBLE = r"""
template <typename T> struct compute_type { typedef float type; };
template <> struct compute_type<double> { typedef double type; };

// NumPy's maximum, minimum and sign: a NaN in gives a NaN out (fmax would drop it).
template <typename T> __device__ __forceinline__ T nan_max(T a, T b) {
    return (a != a || a > b) ? a : b;
}
template <typename T> __device__ __forceinline__ T nan_min(T a, T b) {
    return (a != a || a < b) ? a : b;
}
template <typename T> __device__ __forceinline__ T nan_sign(T x) {
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
}
"""

#: Compile options: no fused multiply-add, so each product is rounded as NumPy rounds it.
OPTIONS = ("--fmad=false",)


@dataclass(frozen=True)
class ElementwiseRule:
    """One optimizer's per-coordinate update.

    Attributes
    ----------
    name : str
        Kernel name (a C identifier).
    arrays : tuple of str
        Local names of the state arrays, in the order the caller passes them.
    scalars : tuple of str
        Names of the per-step scalars, in the order the caller passes them.
    body : str
        C statements on ``p``, ``g``, the arrays and the scalars (all of type ``C``).
    """

    name: str
    arrays: tuple
    scalars: tuple
    body: str


_L2_DECAY = "if (weight_decay != C(0)) g = g + weight_decay * p;\n"
_DECAY_OR_L2 = "if (decay_factor != C(1)) p = p * decay_factor;\n" + _L2_DECAY

def _rmsprop_rule(centered: bool, momentum: bool) -> ElementwiseRule:
    """RMSprop's rule for one combination of its options (each keeps its own arrays)."""
    name = "rmsprop" + "_centered" * centered + "_momentum" * momentum
    arrays = ("v",) + ("gbar",) * centered + ("b",) * momentum
    if centered:
        denominator = """
        gbar = gbar + one_minus_alpha * (g - gbar);
        C avg = sqrt(v - gbar * gbar) + eps;"""
    else:
        denominator = """
        C avg = sqrt(v) + eps;"""
    if momentum:
        step = """
        b = b * momentum + g / avg;
        p = p - lr * b;"""
    else:
        step = """
        p = p - lr * (g / avg);"""
    body = _L2_DECAY + """
        v = v * alpha + one_minus_alpha * g * g;""" + denominator + step
    scalars = ("lr", "weight_decay", "alpha", "one_minus_alpha", "eps") + ("momentum",) * momentum
    return ElementwiseRule(name, arrays, scalars, body)


RULES = {rule.name: rule for rule in (
    ElementwiseRule("sgd", (), ("lr", "weight_decay"), _L2_DECAY + "p = p - lr * g;"),
    ElementwiseRule(
        "sgd_momentum", ("b",),
        ("lr", "weight_decay", "momentum", "one_minus_dampening", "first_step", "nesterov"),
        _L2_DECAY + """
        if (first_step != C(0)) b = g;                      // PyTorch starts b at g
        else b = b * momentum + one_minus_dampening * g;
        if (nesterov != C(0)) g = g + momentum * b;
        else g = b;
        p = p - lr * g;"""),
    ElementwiseRule(
        "adagrad", ("s",), ("clr", "weight_decay", "eps"),
        _L2_DECAY + """
        s = s + g * g;
        p = p - clr * (g / (sqrt(s) + eps));"""),
    ElementwiseRule(
        "adadelta", ("v", "u"), ("lr", "weight_decay", "rho", "one_minus_rho", "eps"),
        _L2_DECAY + """
        v = v * rho + one_minus_rho * g * g;
        C delta = sqrt(u + eps) / sqrt(v + eps) * g;
        u = u * rho + one_minus_rho * delta * delta;
        p = p - lr * delta;"""),
    ElementwiseRule(
        "adam", ("m", "v"),
        ("decay_factor", "weight_decay", "beta1", "one_minus_beta1", "beta2",
         "one_minus_beta2", "step_size", "sqrt_bias_correction2", "eps"),
        _DECAY_OR_L2 + """
        m = m * beta1 + one_minus_beta1 * g;
        v = v * beta2 + one_minus_beta2 * g * g;
        C denom = sqrt(v) / sqrt_bias_correction2 + eps;
        p = p - step_size * m / denom;"""),
    ElementwiseRule(
        "adam_amsgrad", ("m", "v", "v_max"),
        ("decay_factor", "weight_decay", "beta1", "one_minus_beta1", "beta2",
         "one_minus_beta2", "step_size", "sqrt_bias_correction2", "eps"),
        _DECAY_OR_L2 + """
        m = m * beta1 + one_minus_beta1 * g;
        v = v * beta2 + one_minus_beta2 * g * g;
        v_max = nan_max(v_max, v);
        C denom = sqrt(v_max) / sqrt_bias_correction2 + eps;
        p = p - step_size * m / denom;"""),
    ElementwiseRule(
        "nadam", ("m", "v"),
        ("decay_factor", "weight_decay", "beta1", "one_minus_beta1", "beta2",
         "one_minus_beta2", "bias_correction2", "eps", "grad_coef", "momentum_coef"),
        _DECAY_OR_L2 + """
        m = m * beta1 + one_minus_beta1 * g;
        v = v * beta2 + one_minus_beta2 * g * g;
        C denom = sqrt(v / bias_correction2) + eps;
        p = p - grad_coef * g / denom;              // the gradient's share
        p = p - momentum_coef * m / denom;          // the look-ahead momentum"""),
    ElementwiseRule(
        "radam", ("m", "v"),
        ("decay_factor", "weight_decay", "beta1", "one_minus_beta1", "beta2",
         "one_minus_beta2", "bias_correction1", "rectified", "lr", "lr_rectification",
         "sqrt_bias_correction2", "eps"),
        _DECAY_OR_L2 + """
        m = m * beta1 + one_minus_beta1 * g;
        v = v * beta2 + one_minus_beta2 * g * g;
        C m_hat = m / bias_correction1;
        if (rectified != C(0))
            p = p - lr_rectification * (sqrt_bias_correction2 / (sqrt(v) + eps)) * m_hat;
        else
            p = p - lr * m_hat;"""),
    ElementwiseRule(
        "adamax", ("m", "u"),
        ("weight_decay", "one_minus_beta1", "beta2", "eps", "step_size"),
        _L2_DECAY + """
        m = m + one_minus_beta1 * (g - m);
        u = nan_max(beta2 * u, fabs(g) + eps);
        p = p - step_size * (m / u);"""),
    ElementwiseRule(
        "lion", ("m",),
        ("decay_factor", "lr", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2"),
        """if (decay_factor != C(1)) p = p * decay_factor;
        C c = beta1 * m + one_minus_beta1 * g;
        p = p - lr * nan_sign(c);
        m = m * beta2 + one_minus_beta2 * g;"""),
    *(_rmsprop_rule(centered, momentum) for centered in (False, True)
      for momentum in (False, True)),
)}


def _load_and_store(rule: ElementwiseRule, array_of) -> tuple:
    """The statements around a rule's body: each array into a ``C`` local, and back.

    ``array_of(local)`` is the C expression of the array element behind a local.
    """
    loads = [f"C {name} = (C)({array_of(name)});" for name in ("p", "g") + rule.arrays]
    stores = [f"{array_of(name)} = ({'P' if name == 'p' else 'S'})({name});"
              for name in ("p",) + rule.arrays]
    return "\n".join(loads), "\n".join(stores)


def _scalar_locals(rule: ElementwiseRule, value_of) -> str:
    """``const C lr = (C)(...);`` for every scalar; ``value_of(index, name)`` is its source."""
    return "\n".join(f"const C {name} = (C)({value_of(i, name)});"
                     for i, name in enumerate(rule.scalars))


def _elementwise_array(name: str) -> str:
    return {"p": "param", "g": "grad"}.get(name, f"{name}_array")


def elementwise_source(rule: ElementwiseRule) -> tuple:
    """``(in_params, out_params, operation, preamble)`` of a ``cupy.ElementwiseKernel``.

    Type placeholders: ``P`` is the parameter's dtype, ``G`` the gradient's, ``S`` the
    state's. The inputs are ``grad`` and the scalars (float64, ``<name>_in``); the
    outputs, updated in place and so passed by the caller after the inputs, are
    ``param`` and the state arrays (``<local>_array``).
    """
    in_params = ", ".join(["G grad"] + [f"float64 {name}_in" for name in rule.scalars])
    out_params = ", ".join(["P param"] + [f"S {name}_array" for name in rule.arrays])
    load, store = _load_and_store(rule, _elementwise_array)
    operation = "\n".join([
        "typedef compute_type<P>::type C;",
        _scalar_locals(rule, lambda index, name: f"{name}_in"),
        load, rule.body, store])
    return in_params, out_params, operation, PREAMBLE


#: Elements handled by one block of the multi-tensor kernel.
CHUNK = 16384


def multi_tensor_source(rule: ElementwiseRule, param_ctype: str, grad_ctype: str,
                        state_ctype: str) -> str:
    """The full CUDA source of the multi-tensor kernel ``<rule>_multi_tensor``.

    One int64 table, uploaded once per step, describes every tensor of the launch
    (``n`` tensors, ``n_chunks`` chunks of :data:`CHUNK` elements)::

        table[0 : n_chunks]                which tensor chunk b belongs to
        table[n_chunks : 2 n_chunks]       the chunk's first element
        table[2 n_chunks : ... + n]        each tensor's size
        then (2 + len(arrays)) rows of n   pointers: param, grad, each state array
        then n rows of len(scalars)        the tensor's scalars, as float64 bits

    Examples
    --------
    >>> source = multi_tensor_source(RULES["sgd"], "float", "float", "float")
    >>> "extern \\"C\\" __global__ void sgd_multi_tensor(" in source
    True
    """
    n_arrays = 2 + len(rule.arrays)
    kinds = ["P", "const G"] + ["S"] * len(rule.arrays)
    names = ["param", "grad"] + [f"{name}_array" for name in rule.arrays]
    fetch = "\n".join(f"{kind}* {name} = ({kind}*)table[pointers + {row} * n + tensor];"
                      for row, (kind, name) in enumerate(zip(kinds, names)))
    load, store = _load_and_store(rule, lambda name: f"{_elementwise_array(name)}[i]")
    scalars = _scalar_locals(rule, lambda index, name: f"scalars[{index}]")
    per_tensor = max(len(rule.scalars), 1)
    header = "#include <cuda_fp16.h>" if "__half" in (param_ctype, grad_ctype, state_ctype) else ""
    return f"""{header}
typedef {param_ctype} P;
typedef {grad_ctype} G;
typedef {state_ctype} S;
{PREAMBLE}
extern "C" __global__ void {rule.name}_multi_tensor(const long long* table,
                                                    long long n, long long n_chunks) {{
    typedef compute_type<P>::type C;
    const long long chunk = blockIdx.x;
    const long long tensor = table[chunk];
    const long long first = table[n_chunks + chunk];
    const long long size = table[2 * n_chunks + tensor];
    const long long last = first + {CHUNK}LL < size ? first + {CHUNK}LL : size;
    const long long pointers = 2 * n_chunks + n;
    const double* scalars =
        (const double*)(table + pointers + {n_arrays} * n) + tensor * {per_tensor};
{_indent(fetch, 4)}
{_indent(scalars, 4)}
    for (long long i = first + threadIdx.x; i < last; i += blockDim.x) {{
{_indent(load, 8)}
{_indent(rule.body, 8)}
{_indent(store, 8)}
    }}
}}
"""


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line.strip() for line in text.splitlines() if line.strip())


#: CUDA type names of the NumPy dtypes the kernels take.
CTYPES = {"float16": "__half", "float32": "float", "float64": "double"}
