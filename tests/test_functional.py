"""Behaviour of minigrad.nn.functional: values against NumPy, gradients, stability, errors."""
import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck
from minigrad.nn._conv_ops import Col2Im, Im2Col, im2col

RNG = np.random.default_rng(0)


def f64(*shape, scale=1.0):
    return minigrad.tensor(RNG.standard_normal(shape) * scale, dtype=np.float64)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# --- linear, activations ------------------------------------------------------------

def test_linear_matches_numpy_and_gradchecks():
    x, w, b = f64(4, 3), f64(2, 3), f64(2)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)
    assert F.linear(x, w).shape == (4, 2)
    assert gradcheck(F.linear, [x, w, b])


@pytest.mark.parametrize("name, reference", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.01 * x)),
    ("softplus", lambda x: np.log1p(np.exp(x))),
])
def test_activation_matches_numpy(name, reference):
    x = f64(3, 4)
    np.testing.assert_allclose(getattr(F, name)(x).data, reference(x.data), rtol=1e-12)


def test_gelu_exact_and_tanh_match_formulas():
    from scipy.special import erf

    x = f64(10)
    exact = 0.5 * x.data * (1 + erf(x.data / np.sqrt(2)))
    approx = 0.5 * x.data * (1 + np.tanh(np.sqrt(2 / np.pi) * (x.data + 0.044715 * x.data ** 3)))
    np.testing.assert_allclose(F.gelu(x).data, exact, rtol=1e-12)
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").data, approx, rtol=1e-12)


# --- softmax family -----------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_match_numpy(dim):
    x = f64(3, 5)
    expected = np_log_softmax(x.data, dim)
    np.testing.assert_allclose(F.log_softmax(x, dim=dim).data, expected, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, dim=dim).data, np.exp(expected), rtol=1e-12)


def test_softmax_accepts_numpy_axis_alias_and_defaults_to_last_axis():
    x = f64(2, 3, 4)
    np.testing.assert_allclose(F.softmax(x, axis=1).data, F.softmax(x, dim=1).data)
    np.testing.assert_allclose(F.softmax(x).data.sum(axis=-1), np.ones((2, 3)))


def test_softmax_and_log_softmax_gradcheck():
    x = f64(2, 4)
    assert gradcheck(lambda t: F.softmax(t, dim=1), [x])
    assert gradcheck(lambda t: F.log_softmax(t, dim=0), [x])


def test_softmax_log_softmax_finite_for_huge_logits():
    x = minigrad.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    p, logp = F.softmax(x, dim=1), F.log_softmax(x, dim=1)
    assert np.isfinite(p.data).all() and np.isfinite(logp.data).all()
    np.testing.assert_allclose(p.data[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(logp.data[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(p.data[1], [1 / 3] * 3, rtol=1e-6)
    (logp * minigrad.tensor([[1.0, 2.0, 3.0]] * 2)).sum().backward()
    assert np.isfinite(x.grad).all()


def test_softmax_keeps_float32():
    assert F.softmax(minigrad.randn(2, 3), dim=1).dtype == np.float32


# --- cross entropy and nll ------------------------------------------------------------

def np_cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                     label_smoothing=0.0):
    """Reference: loss_i = −Σ_c w_c q_ic log p_ic with q = (1 − ε)·onehot + ε/C."""
    logits = np.moveaxis(logits, 1, -1).reshape(-1, logits.shape[1])
    flat = target.reshape(-1)
    n, c = logits.shape
    w = np.ones(c) if weight is None else weight
    logp = np_log_softmax(logits, 1)
    losses, weights = np.zeros(n), np.zeros(n)
    for i in range(n):
        if flat[i] == ignore_index:
            continue
        q = np.full(c, label_smoothing / c)
        q[flat[i]] += 1 - label_smoothing
        losses[i] = -(w * q * logp[i]).sum()
        weights[i] = w[flat[i]]
    if reduction == "none":
        return losses.reshape(target.shape)
    return losses.sum() if reduction == "sum" else losses.sum() / weights.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_matches_numpy_reference(reduction, use_weight, label_smoothing):
    logits = f64(6, 4)
    target = np.array([0, 3, -100, 2, 1, 3])
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if use_weight else None
    out = F.cross_entropy(logits, minigrad.tensor(target), None if weight is None else minigrad.tensor(weight),
                          reduction=reduction, label_smoothing=label_smoothing)
    expected = np_cross_entropy(logits.data, target, weight, reduction=reduction,
                                label_smoothing=label_smoothing)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_cross_entropy_hand_computed_value_with_weights_and_smoothing():
    # Logits 0 -> p = 1/2 for both classes; target class 1 with weight 3.
    # loss = -(0.8 + 0.1) * 3 * log(1/2) - 0.1 * 1 * log(1/2) = 2.8 log 2; mean divides by 3.
    out = F.cross_entropy(minigrad.zeros(1, 2, dtype=np.float64), minigrad.tensor([1]),
                          weight=minigrad.tensor([1.0, 3.0]), label_smoothing=0.2)
    assert out.item() == pytest.approx(2.8 * np.log(2) / 3)


def test_cross_entropy_with_spatial_dims_matches_reference():
    logits = f64(2, 3, 4)
    target = np.array([[0, 1, 2, 1], [2, 2, -1, 0]])
    out = F.cross_entropy(logits, target, ignore_index=-1, reduction="none")
    assert out.shape == (2, 4)
    expected = np_cross_entropy(logits.data, target, ignore_index=-1, reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_cross_entropy_unbatched_input():
    logits = f64(5)
    out = F.cross_entropy(logits, np.array(2))
    assert out.item() == pytest.approx(-np_log_softmax(logits.data, 0)[2])


def test_cross_entropy_gradcheck_with_weights_ignore_and_smoothing():
    target = minigrad.tensor([1, 0, 2, 1])
    weight = np.array([1.0, 0.5, 2.0])
    assert gradcheck(lambda x: F.cross_entropy(x, target, minigrad.tensor(weight), ignore_index=0,
                                               label_smoothing=0.1), [f64(4, 3)])


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x = minigrad.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    target = np.array([1, 0, 3])
    F.cross_entropy(x, target).backward()
    p = np.exp(np_log_softmax(x.data, 1))
    np.testing.assert_allclose(x.grad, (p - np.eye(4)[target]) / 3, rtol=1e-10)


def test_cross_entropy_finite_for_huge_logits():
    x = minigrad.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], requires_grad=True)
    loss = F.cross_entropy(x, [2, 0])
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx((1e4 + 2e4) / 2)
    loss.backward()
    assert np.isfinite(x.grad).all()


def test_cross_entropy_all_ignored_mean_is_nan_like_pytorch():
    with np.errstate(invalid="ignore"):
        out = F.cross_entropy(minigrad.randn(2, 3), [-100, -100])
    assert np.isnan(out.item())


def test_cross_entropy_keeps_float32():
    out = F.cross_entropy(minigrad.randn(4, 3), [0, 1, 2, 0], weight=minigrad.tensor([1.0, 2.0, 3.0]),
                          label_smoothing=0.1)
    assert out.dtype == np.float32


def test_cross_entropy_casts_float64_weight_to_logits_dtype():
    weight = minigrad.tensor(np.array([1.0, 2.0, 3.0]))  # float64
    assert F.cross_entropy(minigrad.randn(4, 3), [0, 1, 2, 0], weight).dtype == np.float32


def test_cross_entropy_rejects_float_target_naming_integer_dtype():
    with pytest.raises(TypeError, match="int64"):
        F.cross_entropy(minigrad.randn(2, 3), minigrad.tensor([0.0, 1.0]))


def test_cross_entropy_rejects_out_of_range_class_naming_index_and_classes():
    with pytest.raises(ValueError, match=r"target 3 .*3 classes"):
        F.cross_entropy(minigrad.randn(2, 3), [0, 3])
    with pytest.raises(ValueError, match=r"target -1 "):
        F.cross_entropy(minigrad.randn(2, 3), [-1, 0])


def test_cross_entropy_rejects_wrong_target_shape_and_bad_reduction():
    with pytest.raises(ValueError, match="expected target of shape"):
        F.cross_entropy(minigrad.randn(2, 3), [0, 1, 2])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(minigrad.randn(2, 3), [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(minigrad.randn(2, 3), [0, 1], label_smoothing=1.5)


def test_nll_loss_picks_weighted_log_probabilities():
    logp = minigrad.tensor(np.log(np.array([[0.2, 0.8], [0.6, 0.4]])))
    weight = minigrad.tensor([1.0, 3.0], dtype=np.float64)
    expected = -(3 * np.log(0.8) + 1 * np.log(0.6)) / 4
    assert F.nll_loss(logp, [1, 0], weight).item() == pytest.approx(expected)
    assert F.nll_loss(logp, [1, 0], reduction="sum").item() == pytest.approx(-np.log(0.8) - np.log(0.6))


# --- regression losses ---------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1_match_numpy(reduction):
    x, y = f64(3, 2), f64(3, 2)
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    np.testing.assert_allclose(F.mse_loss(x, y, reduction=reduction).data, reduce((x.data - y.data) ** 2))
    np.testing.assert_allclose(F.l1_loss(x, y, reduction=reduction).data, reduce(np.abs(x.data - y.data)))


def test_mse_and_l1_gradcheck():
    assert gradcheck(F.mse_loss, [f64(3, 2), f64(3, 2)])
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction="sum"), [f64(4), f64(4)])


def test_mse_warns_on_broadcasting_shapes():
    with pytest.warns(UserWarning, match="different from input size"):
        F.mse_loss(minigrad.randn(3, 1), minigrad.randn(3))


def test_mse_keeps_float32_with_float64_numpy_target():
    assert F.mse_loss(minigrad.randn(3), np.zeros(3)).dtype == np.float32


# --- binary cross entropy -------------------------------------------------------------

def np_bce_logits(x, y, weight=1.0, pos_weight=1.0):
    p = 1 / (1 + np.exp(-x))
    return -weight * (pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_numpy(reduction):
    x, y = f64(4, 3), minigrad.tensor(RNG.random((4, 3)), dtype=np.float64)
    w, pw = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.25])
    out = F.binary_cross_entropy_with_logits(x, y, weight=minigrad.tensor(w), reduction=reduction,
                                             pos_weight=minigrad.tensor(pw))
    expected = np_bce_logits(x.data, y.data, w, pw)
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    np.testing.assert_allclose(out.data, reduce(expected), rtol=1e-10)


def test_bce_with_logits_stable_for_huge_logits():
    x = minigrad.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    y = minigrad.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0, -1.0])


def test_bce_with_logits_gradcheck_with_pos_weight():
    y = minigrad.tensor(RNG.random((3, 2)))
    pw = minigrad.tensor([2.0, 0.5], dtype=np.float64)
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw), [f64(3, 2)])


def test_bce_with_logits_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy_with_logits(minigrad.randn(3, 1), minigrad.rand(3))


def test_bce_on_probabilities_matches_numpy_and_clamps_logs():
    p = minigrad.tensor([0.1, 0.7, 0.5], dtype=np.float64)
    y = minigrad.tensor([0.0, 1.0, 1.0], dtype=np.float64)
    expected = -np.mean(y.data * np.log(p.data) + (1 - y.data) * np.log(1 - p.data))
    assert F.binary_cross_entropy(p, y).item() == pytest.approx(expected)
    edge = minigrad.tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(edge, minigrad.tensor([1.0, 0.0]), reduction="sum")
    assert loss.item() == pytest.approx(200.0)
    loss.backward()
    assert np.isfinite(edge.grad).all()
    assert gradcheck(lambda q: F.binary_cross_entropy(q, y), [p])


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(minigrad.tensor([1.5]), minigrad.tensor([1.0]))


# --- dropout --------------------------------------------------------------------------

def test_dropout_scales_kept_entries_and_is_reproducible():
    x = minigrad.ones(1000)
    minigrad.manual_seed(3)
    a = F.dropout(x, p=0.25)
    minigrad.manual_seed(3)
    b = F.dropout(x, p=0.25)
    np.testing.assert_array_equal(a.data, b.data)
    assert set(np.unique(a.data).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((a.data == 0).mean() - 0.25) < 0.05
    assert a.dtype == np.float32


def test_dropout_identity_when_not_training_or_p_zero_and_zero_when_p_one():
    x = minigrad.randn(5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros(5))


def test_dropout_gradient_is_the_mask():
    x = minigrad.tensor(np.ones(50), requires_grad=True)
    out = F.dropout(x, 0.5, generator=np.random.default_rng(1))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(minigrad.ones(2), 1.5)


# --- embedding, one_hot, normalisation, pad ------------------------------------------

def test_embedding_picks_rows_and_accumulates_repeated_gradients():
    w = minigrad.tensor(RNG.standard_normal((5, 2)), requires_grad=True)
    idx = np.array([[1, 3], [1, 0]])
    out = F.embedding(idx, w)
    np.testing.assert_array_equal(out.data, w.data[idx])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [1, 2, 0, 1, 0])


def test_embedding_errors_for_float_and_out_of_range_indices():
    w = minigrad.randn(4, 2)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([0.0]), w)
    with pytest.raises(IndexError, match=r"index 4 .*4 rows"):
        F.embedding(np.array([0, 4]), w)
    with pytest.raises(IndexError, match="index -1"):
        F.embedding(np.array([-1]), w)


def test_one_hot():
    out = F.one_hot(minigrad.tensor([0, 2]), num_classes=3)
    np.testing.assert_array_equal(out.data, [[1, 0, 0], [0, 0, 1]])
    assert out.dtype == np.int64


def test_layer_norm_matches_numpy_and_gradchecks():
    x, w, b = f64(3, 2, 4), f64(2, 4), f64(2, 4)
    mean = x.data.mean(axis=(1, 2), keepdims=True)
    var = x.data.var(axis=(1, 2), keepdims=True)
    expected = (x.data - mean) / np.sqrt(var + 1e-5) * w.data + b.data
    np.testing.assert_allclose(F.layer_norm(x, (2, 4), w, b).data, expected, rtol=1e-10)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, 4, c[0], d[0]), [f64(2, 4), w, b])


def test_layer_norm_rejects_wrong_trailing_shape():
    with pytest.raises(ValueError, match="trailing shape"):
        F.layer_norm(minigrad.randn(2, 3), 4)


def test_batch_norm_functional_train_updates_running_stats_with_unbiased_var():
    x = f64(5, 3)
    rm, rv = minigrad.zeros(3, dtype=np.float64), minigrad.ones(3, dtype=np.float64)
    out = F.batch_norm(x, rm, rv, training=True, momentum=0.1)
    expected = (x.data - x.data.mean(0)) / np.sqrt(x.data.var(0) + 1e-5)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10)
    np.testing.assert_allclose(rm.data, 0.1 * x.data.mean(0))
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * x.data.var(0, ddof=1))


def test_pad_uses_pytorch_last_axis_first_convention():
    x = minigrad.ones(1, 2, 3)
    assert F.pad(x, (1, 2)).shape == (1, 2, 6)
    assert F.pad(x, (1, 1, 2, 0)).shape == (1, 4, 5)
    out = F.pad(x, (0, 1), value=7.0)
    np.testing.assert_array_equal(out.data[..., -1], np.full((1, 2), 7.0))
    assert F.pad(x, 1).shape == (3, 4, 5)  # an int pads every axis (NumPy style)


# --- convolution and pooling ------------------------------------------------------------

def np_conv2d(x, w, b, stride, padding, dilation, groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for y in range(oh):
            for z in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg,
                           y * stride:y * stride + dilation * (kh - 1) + 1:dilation,
                           z * stride:z * stride + dilation * (kw - 1) + 1:dilation]
                out[:, oc, y, z] = (patch * w[oc]).sum(axis=(1, 2, 3)) + (b[oc] if b is not None else 0)
    return out


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2),
])
def test_conv2d_matches_naive_loops(stride, padding, dilation, groups):
    x, w, b = f64(2, 4, 7, 6), f64(6, 4 // groups, 3, 2), f64(6)
    out = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = np_conv2d(x.data, w.data, b.data, stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_gradcheck_with_stride_padding_dilation():
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=2),
                     [f64(1, 2, 5, 5), f64(2, 2, 2, 2), f64(2)])


def test_conv2d_same_padding_keeps_spatial_size():
    assert F.conv2d(f64(1, 1, 6, 5), f64(2, 1, 4, 3), padding="same").shape == (1, 2, 6, 5)


def test_im2col_and_col2im_are_adjoint():
    x, kernel, stride, dil = f64(2, 3, 6, 5), (2, 3), (2, 1), (1, 2)
    cols = Im2Col(kernel, stride, dil)(x)
    c = f64(*cols.shape)
    back = Col2Im(x.shape, kernel, stride, dil)(c)
    assert np.vdot(cols.data, c.data) == pytest.approx(np.vdot(x.data, back.data))


def test_conv2d_second_derivative_through_col2im():
    x = minigrad.tensor(RNG.standard_normal((1, 1, 4, 4)), requires_grad=True)
    w = minigrad.tensor(RNG.standard_normal((1, 1, 2, 2)), requires_grad=True)
    (gx,) = minigrad.grad((F.conv2d(x, w) ** 2).sum(), x, create_graph=True)
    (gw,) = minigrad.grad(gx.sum(), w)  # differentiates col2im (backward of im2col)
    assert gw.shape == (1, 1, 2, 2)

    def input_gradient(a, k):
        with minigrad.enable_grad():  # gradcheck evaluates its function under no_grad
            return minigrad.grad((F.conv2d(a, k) ** 2).sum(), a, create_graph=True)[0]

    assert gradcheck(input_gradient, [f64(1, 1, 3, 3), f64(1, 1, 2, 2)])


def test_im2col_rejects_kernel_larger_than_input():
    with pytest.raises(ValueError, match="larger than"):
        im2col(f64(1, 1, 2, 2), 3)


def np_max_pool(x, k, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    oh = (xp.shape[2] - k) // s + 1
    ow = (xp.shape[3] - k) // s + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for y in range(oh):
        for z in range(ow):
            out[:, :, y, z] = xp[:, :, y * s:y * s + k, z * s:z * s + k].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool2d_matches_numpy_and_gradchecks(k, s, p):
    x = f64(2, 2, 5, 6)
    np.testing.assert_allclose(F.max_pool2d(x, k, s, p).data, np_max_pool(x.data, k, s, p))
    assert gradcheck(lambda t: F.max_pool2d(t, k, s, p), [f64(1, 1, 4, 5)])


def test_max_pool2d_sends_gradient_to_first_maximum_on_ties():
    x = minigrad.tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_avg_pool2d_matches_numpy():
    x = f64(1, 2, 4, 4)
    expected = x.data.reshape(1, 2, 2, 2, 2, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(F.avg_pool2d(x, 2).data, expected)


# --- comparison with PyTorch, when it is installed -------------------------------------

@pytest.mark.parametrize("ignore_index, smoothing", [(-100, 0.0), (1, 0.3)])
def test_cross_entropy_equals_torch(ignore_index, smoothing):
    th = pytest.importorskip("torch")
    logits = RNG.standard_normal((5, 3, 2))
    target = RNG.integers(0, 3, size=(5, 2))
    weight = np.array([0.3, 1.0, 2.5])
    x = minigrad.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(x, target, minigrad.tensor(weight), ignore_index=ignore_index,
                           label_smoothing=smoothing)
    ours.backward()
    tx = th.tensor(logits, requires_grad=True)
    theirs = th.nn.functional.cross_entropy(tx, th.tensor(target), th.tensor(weight),
                                            ignore_index=ignore_index, label_smoothing=smoothing)
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-10)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_conv2d_and_max_pool_equal_torch():
    th = pytest.importorskip("torch")
    x, w, b = RNG.standard_normal((2, 4, 7, 7)), RNG.standard_normal((6, 2, 3, 3)), RNG.standard_normal(6)
    xs = minigrad.tensor(x, requires_grad=True)
    ws = minigrad.tensor(w, requires_grad=True)
    out = F.max_pool2d(F.conv2d(xs, ws, minigrad.tensor(b), stride=2, padding=1, dilation=1, groups=2), 2, 1, 1)
    out.sum().backward()
    tx, tw = th.tensor(x, requires_grad=True), th.tensor(w, requires_grad=True)
    tout = th.nn.functional.max_pool2d(
        th.nn.functional.conv2d(tx, tw, th.tensor(b), stride=2, padding=1, groups=2), 2, 1, 1)
    tout.sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xs.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ws.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bce_with_logits_equals_torch():
    th = pytest.importorskip("torch")
    x, y = RNG.standard_normal((4, 3)) * 5, RNG.random((4, 3))
    pw = np.array([2.0, 0.5, 1.0])
    ours = F.binary_cross_entropy_with_logits(minigrad.tensor(x), minigrad.tensor(y),
                                              pos_weight=minigrad.tensor(pw))
    theirs = th.nn.functional.binary_cross_entropy_with_logits(th.tensor(x), th.tensor(y),
                                                               pos_weight=th.tensor(pw))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-10)
