"""The chapters' code examples, ported: import renames plus small data.

``torch`` -> ``minigrad``, ``torch.nn`` -> ``minigrad.nn``, ``torch.optim`` -> ``optim``,
``torch.optim.lr_scheduler`` -> ``schedules``, ``torch.utils.data`` -> ``minigrad.data``,
``torch.cuda.amp`` -> ``minigrad.amp``. Where an example calls a Tensor method on
``p.grad`` (a plain ndarray here), the port uses the NumPy form from the README's
"Coming from PyTorch" table, and says so. Each test is named after the chapter
(``ch000`` ... ``ch004``) and its section, and asserts what the chapter prints or states.

Left out, and why:

* ch000 §1.2 ``visualize_loss_surface``, the ``plt`` parts of every example: plots only
  (the figures are the gallery's job, ``minigrad.gallery``).
* ch000 §4.1, §4.2, §4.4, §4.5 (``pytorch_lamb``, ``transformers.Adafactor``,
  ``bitsandbytes``, Sophia's repository): external packages; ``optim.LAMB``,
  ``optim.Adafactor``, ``optim.Adam8bit`` and ``optim.SophiaG`` are tested in their own
  files. Only the chapter's own Lion fallback is ported here.
* ch000 §6.4 first snippet, ch002 ``mixed_precision_training_example``: ``model.to('cuda')``
  needs a GPU (the gradient-accumulation variant of §6.4 runs on the CPU and is here).
* ch000 §7.2, §7.3 recipes 1, 3, 5: ``torchvision`` models and ``AutoModel`` (downloads);
  their optimizer and schedule lines are checked with a small model.
* ch001 SAM class: sets ``p.e_w`` on a parameter; minigrad Tensors have fixed slots
  (no extra attributes), so the port keeps the perturbations in a dict.
* ch003 §4 from-scratch optimizers and schedules: plain NumPy with no PyTorch to port; its
  worked numeric examples (EWA, bias correction, Adam's three steps) are checked here.
* ch004: slides with formulas and no runnable code beyond one-line calls that the tests
  of ``optim`` and ``schedules`` cover.
"""
import copy
import math

import numpy as np
import pytest

import minigrad
import optim
import schedules
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset


def regression_loader(n=64, batch_size=8, features=10, seed=0, shuffle=False):
    """Small data for the examples that assume a ``train_loader``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(np.float32)
    y = (X @ rng.standard_normal((features, 1)) * 0.5).astype(np.float32)
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle)


def lrs_of(scheduler, optimizer, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


# ============================================================ chapter 000 (Optimizers)
def train_epoch_batch_gd(model, train_loader, criterion, optimizer):
    model.train()
    optimizer.zero_grad()
    total_loss = 0
    for X, y in train_loader:
        loss = criterion(model(X), y)
        loss.backward()
        total_loss += loss.item()
    optimizer.step()
    return total_loss / len(train_loader)


def train_epoch_sgd(model, train_loader, criterion, optimizer):
    model.train()
    total_loss = 0
    for X, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    return total_loss / len(train_loader)


def train_epoch_mini_batch(model, train_loader, criterion, optimizer, accumulation_steps=4):
    model.train()
    optimizer.zero_grad()
    total_loss = 0
    for i, (X, y) in enumerate(train_loader):
        loss = criterion(model(X), y) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
        total_loss += loss.item() * accumulation_steps
    return total_loss / len(train_loader)


@pytest.mark.parametrize("train_epoch, updates", [(train_epoch_batch_gd, 1),
                                                  (train_epoch_sgd, 8),
                                                  (train_epoch_mini_batch, 2)])
def test_ch000_1_1_gradient_descent_variants_update_as_often_as_stated(train_epoch, updates):
    minigrad.manual_seed(0)
    model, loader = nn.Linear(10, 1), regression_loader()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    steps = []
    optimizer.register_step_post_hook(lambda opt, args, kwargs: steps.append(1))
    first = train_epoch(model, loader, nn.MSELoss(), optimizer)
    assert len(steps) == updates  # one update per epoch, per batch, per 4 batches
    second = train_epoch(model, loader, nn.MSELoss(), optimizer)
    assert second < first


def optimize_trajectory(optimizer_fn, steps=100):
    trajectory = []
    theta = minigrad.tensor([2.5, 2.5], requires_grad=True)
    optimizer = optimizer_fn([theta])
    for _ in range(steps):
        optimizer.zero_grad()
        r2 = theta[0] ** 2 + theta[1] ** 2
        loss = minigrad.sin(r2) / (r2 + 1) + 0.1 * r2
        loss.backward()
        trajectory.append(theta.detach().clone().numpy())
        optimizer.step()
    return np.array(trajectory)


def test_ch000_1_2_trajectories_on_the_non_convex_surface():
    def surface(p):
        r2 = (p ** 2).sum(axis=-1)
        return np.sin(r2) / (r2 + 1) + 0.1 * r2

    for make in (lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                 lambda p: optim.Adam(p, lr=0.1)):
        path = optimize_trajectory(make)
        assert path.shape == (100, 2)
        np.testing.assert_array_equal(path[0], [2.5, 2.5])
        assert surface(path[-1]) < surface(path[0])


class SGDMomentum:
    """ch000 §2.2, ported: ``p.grad.zero_()`` and ``grad.add(p, alpha=wd)`` take their
    NumPy forms (``p.grad`` is an ndarray)."""

    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0):
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocities = [minigrad.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad[...] = 0

    def step(self):
        with minigrad.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad
                if self.weight_decay != 0:
                    grad = grad + self.weight_decay * p.data
                self.velocities[i] = self.momentum * self.velocities[i] + grad
                p.add_(self.velocities[i], alpha=-self.lr)


def test_ch000_2_2_manual_momentum_matches_optim_sgd():
    minigrad.manual_seed(0)
    model = nn.Linear(10, 1)
    twin = copy.deepcopy(model)
    criterion = nn.MSELoss()
    optimizer = SGDMomentum(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    optimizer_ref = optim.SGD(twin.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    for _ in range(5):
        X, y = minigrad.randn(32, 10), minigrad.randn(32, 1)
        for net, opt in ((model, optimizer), (twin, optimizer_ref)):
            opt.zero_grad()
            criterion(net(X), y).backward()
            opt.step()
    # "Both should produce identical results"
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-7)
    velocity_norm = minigrad.norm(optimizer.velocities[0]).item()
    assert f"Velocity norm: {velocity_norm:.6f}" and velocity_norm > 0


def test_ch000_2_3_sgd_variants_on_a_quadratic():
    minigrad.manual_seed(42)
    target = minigrad.tensor([1.0, 1.0])
    results = {}
    for name, opt_fn in [("SGD", lambda p: optim.SGD(p, lr=0.1)),
                         ("Momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9)),
                         ("Nesterov", lambda p: optim.SGD(p, lr=0.1, momentum=0.9,
                                                          nesterov=True))]:
        theta = minigrad.tensor([0.0, 0.0], requires_grad=True)
        optimizer = opt_fn([theta])
        losses = []
        for _ in range(50):
            optimizer.zero_grad()
            loss = minigrad.sum((theta - target) ** 2)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        results[name] = losses
    # plain SGD on ‖θ − 1‖²: the error shrinks by (1 − 2·lr) a step, the loss by its square
    expected = [2 * (1 - 2 * 0.1) ** (2 * k) for k in range(50)]
    np.testing.assert_allclose(results["SGD"], expected, rtol=1e-4, atol=1e-8)  # float32
    assert results["Nesterov"][-1] < results["Momentum"][-1]


class WordEmbeddingModel(nn.Module):
    def __init__(self, vocab_size, embed_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.fc = nn.Linear(embed_dim, vocab_size)

    def forward(self, x):
        return self.fc(self.embedding(x).mean(dim=1))


class SimpleRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def test_ch000_3_1_and_3_2_adagrad_embeddings_and_rmsprop_rnn_take_a_step():
    import minigrad.nn.functional as F

    minigrad.manual_seed(0)
    model = WordEmbeddingModel(vocab_size=1000, embed_dim=16)  # the chapter: 10000, 128
    optimizer = optim.Adagrad(model.parameters(), lr=0.01)
    tokens = minigrad.tensor(np.random.default_rng(0).integers(0, 1000, (4, 5)))
    labels = minigrad.tensor([1, 2, 3, 4])
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

    rnn_model = SimpleRNN(input_size=10, hidden_size=64, output_size=2)
    optimizer = optim.RMSprop(rnn_model.parameters(), lr=0.001)
    x = minigrad.randn(3, 7, 10)
    assert rnn_model(x).shape == (3, 2)


class AdamOptimizer:
    """ch000 §3.3, ported: ``p.grad.zero_()``, ``grad.add(p, alpha=)`` and
    ``grad.pow(2)`` take their NumPy forms."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        self.params = list(params)
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = [minigrad.zeros_like(p) for p in self.params]
        self.v = [minigrad.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad[...] = 0

    def step(self):
        self.t += 1
        with minigrad.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad
                if self.weight_decay != 0:
                    grad = grad + self.weight_decay * p.data
                self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * grad
                self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * grad ** 2
                m_hat = self.m[i] / (1 - self.beta1 ** self.t)
                v_hat = self.v[i] / (1 - self.beta2 ** self.t)
                p.add_(m_hat / (v_hat.sqrt() + self.eps), alpha=-self.lr)


def test_ch000_3_3_manual_adam_matches_optim_adam():
    minigrad.manual_seed(42)
    model1 = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1))
    model2 = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1))
    model2.load_state_dict(model1.state_dict())
    opt_custom = AdamOptimizer(model1.parameters(), lr=0.001)
    opt_reference = optim.Adam(model2.parameters(), lr=0.001)
    criterion = nn.MSELoss()
    for _ in range(10):
        X, y = minigrad.randn(32, 10), minigrad.randn(32, 1)
        for model, opt in ((model1, opt_custom), (model2, opt_reference)):
            opt.zero_grad()
            criterion(model(X), y).backward()
            opt.step()
    # "may have small numerical differences"
    for p1, p2 in zip(model1.parameters(), model2.parameters()):
        assert minigrad.max(minigrad.abs(p1 - p2)).item() < 1e-6


def test_ch000_3_4_adam_and_adamw_weight_norms_are_recorded():
    minigrad.manual_seed(42)
    model_adam = nn.Sequential(nn.Linear(10, 100), nn.ReLU(), nn.Linear(100, 1))
    model_adamw = nn.Sequential(nn.Linear(10, 100), nn.ReLU(), nn.Linear(100, 1))
    model_adamw.load_state_dict(model_adam.state_dict())
    opt_adam = optim.Adam(model_adam.parameters(), lr=0.001, weight_decay=0.01)
    opt_adamw = optim.AdamW(model_adamw.parameters(), lr=0.001, weight_decay=0.01)
    criterion = nn.MSELoss()
    adam_norms, adamw_norms = [], []
    for _ in range(20):  # the chapter: 100
        X, y = minigrad.randn(32, 10), minigrad.randn(32, 1)
        for model, opt in ((model_adam, opt_adam), (model_adamw, opt_adamw)):
            opt.zero_grad()
            criterion(model(X), y).backward()
            opt.step()
        adam_norms.append(minigrad.norm(model_adam[0].weight).item())
        adamw_norms.append(minigrad.norm(model_adamw[0].weight).item())
    assert adam_norms != adamw_norms and all(map(math.isfinite, adam_norms + adamw_norms))


class Lion(optim.Optimizer):
    """ch000 §4.3's fallback Lion, ported (its step wrapped in ``no_grad``, which the
    chapter's version needs in PyTorch too)."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @minigrad.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = minigrad.zeros_like(p)
                exp_avg = state["exp_avg"]
                beta1, beta2 = group["betas"]
                if group["weight_decay"] != 0:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                update = exp_avg.mul(beta1).add(grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)


def test_ch000_4_3_simplified_lion_matches_optim_lion():
    minigrad.manual_seed(1)
    w = minigrad.Parameter(minigrad.randn(4, 3).data)
    w_ref = minigrad.Parameter(w.data.copy())
    ours = Lion([w], lr=1e-2, weight_decay=0.1)
    reference = optim.Lion([w_ref], lr=1e-2, weight_decay=0.1)
    for _ in range(5):
        for p, opt in ((w, ours), (w_ref, reference)):
            opt.zero_grad()
            ((p - 1.0) ** 2).sum().backward()
            opt.step()
    np.testing.assert_allclose(w.data, w_ref.data, rtol=1e-6)


def test_ch000_5_1_step_and_multistep_rates_per_epoch():
    model = nn.Linear(10, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    lrs = lrs_of(schedules.StepLR(optimizer, step_size=30, gamma=0.1), optimizer, 100)
    # "Epoch 0-29: lr=0.1, Epoch 30-59: lr=0.01, Epoch 60+: lr=0.001"
    assert lrs[0] == lrs[29] == pytest.approx(0.1)
    assert lrs[30] == pytest.approx(0.01) and lrs[59] == pytest.approx(0.01)
    assert lrs[60] == pytest.approx(0.001)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    lrs = lrs_of(schedules.MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1), optimizer, 100)
    # "Epoch 0-29: lr=0.1, Epoch 30-79: lr=0.01, Epoch 80+: lr=0.001"
    assert [lrs[29], lrs[30], lrs[79], lrs[80]] == pytest.approx([0.1, 0.01, 0.01, 0.001])


def test_ch000_5_2_and_5_3_exponential_and_cosine_annealing():
    model = nn.Linear(10, 1)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    lrs = lrs_of(schedules.ExponentialLR(optimizer, gamma=0.95), optimizer, 100)
    assert lrs[1] / lrs[0] == pytest.approx(0.95)  # "Each epoch: lr *= 0.95"
    optimizer = optim.AdamW(model.parameters(), lr=0.001)
    lrs = lrs_of(schedules.CosineAnnealingLR(optimizer, T_max=100, eta_min=1e-6),
                 optimizer, 101)
    # "LR smoothly decays from 0.001 to 1e-6 over 100 epochs"
    assert lrs[0] == pytest.approx(0.001) and lrs[100] == pytest.approx(1e-6)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_ch000_5_3_warm_restarts_match_the_chapters_numpy_loop():
    model = nn.Linear(10, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    scheduler = schedules.CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2, eta_min=1e-6)
    lrs = lrs_of(scheduler, optimizer, 100)
    lr_max, lr_min, expected, t, T_cur = 0.001, 1e-6, [], 0, 10
    for _ in range(100):  # the chapter's visualize_cosine_schedule
        expected.append(lr_min + 0.5 * (lr_max - lr_min) * (1 + np.cos(np.pi * t / T_cur)))
        t += 1
        if t >= T_cur:
            t, T_cur = 0, T_cur * 2
    np.testing.assert_allclose(lrs, expected, rtol=1e-9)
    # "10 epochs, restart, 20 epochs, restart, 40 epochs"
    assert [k for k in range(1, 100) if lrs[k] > lrs[k - 1]] == [10, 30, 70]


def test_ch000_5_4_one_cycle_peaks_at_the_end_of_warmup():
    model = nn.Linear(10, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = schedules.OneCycleLR(optimizer, max_lr=0.1, total_steps=1000, pct_start=0.3,
                                     anneal_strategy="cos")
    lrs = lrs_of(scheduler, optimizer, 1000)
    assert int(np.argmax(lrs)) == 299 and max(lrs) == pytest.approx(0.1)
    assert lrs[0] == pytest.approx(0.1 / 25.0)  # "Initial LR = max_lr / div_factor"
    assert lrs[-1] == pytest.approx(0.1 / 25.0 / 1e4, rel=1e-2)


class WarmupCosineSchedule(schedules.LambdaLR):
    """ch000 §5.5: linear warmup and cosine decay as a LambdaLR subclass."""

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, self.lr_lambda)

    def lr_lambda(self, step):
        if step < self.warmup_steps:
            return float(step) / float(max(1, self.warmup_steps))
        progress = float(step - self.warmup_steps) / float(
            max(1, self.total_steps - self.warmup_steps))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (
            1.0 + math.cos(math.pi * progress))


def test_ch000_5_5_warmup_cosine_reaches_the_peak_and_decays_to_the_floor():
    model = nn.Linear(10, 1)
    optimizer = optim.AdamW(model.parameters(), lr=5e-4)
    lrs = lrs_of(WarmupCosineSchedule(optimizer, 100, 1000, min_lr_ratio=0.1), optimizer, 1001)
    assert lrs[0] == 0.0 and lrs[50] == pytest.approx(2.5e-4)
    assert lrs[100] == pytest.approx(5e-4)
    assert lrs[1000] == pytest.approx(5e-5)  # "Decay to 10% of peak LR"


def test_ch000_5_6_reduce_on_plateau_halves_after_patience():
    model = nn.Linear(10, 1)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    with pytest.raises(TypeError, match=r"get_last_lr"):  # verbose=True: removed
        schedules.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=10,
                                    verbose=True, min_lr=1e-6)
    scheduler = schedules.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=10,
                                            min_lr=1e-6)
    lrs = []
    for epoch in range(30):
        scheduler.step(1.0)  # a validation loss that never improves
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[10] == pytest.approx(0.001) and lrs[11] == pytest.approx(0.0005)
    assert lrs[22] == pytest.approx(0.00025)


def test_ch000_5_7_polynomial_warmup_and_chained_schedulers():
    def polynomial_decay_with_warmup(step, warmup_steps, total_steps, power=1.0):
        if step < warmup_steps:
            return float(step) / float(max(1, warmup_steps))
        progress = (step - warmup_steps) / (total_steps - warmup_steps)
        return (1 - progress) ** power

    model = nn.Linear(10, 1)
    optimizer = optim.AdamW(model.parameters(), lr=5e-4)
    scheduler = schedules.LambdaLR(
        optimizer, lr_lambda=lambda step: polynomial_decay_with_warmup(step, 10, 100, power=2.0))
    lrs = lrs_of(scheduler, optimizer, 101)
    assert lrs[10] == pytest.approx(5e-4) and lrs[55] == pytest.approx(5e-4 * 0.25)
    optimizer = optim.AdamW(model.parameters(), lr=5e-4)
    scheduler1 = schedules.LinearLR(optimizer, start_factor=0.1, total_iters=10)
    scheduler2 = schedules.ExponentialLR(optimizer, gamma=0.9)
    lrs = lrs_of(schedules.ChainedScheduler([scheduler1, scheduler2]), optimizer, 12)
    assert lrs[0] == pytest.approx(5e-5) and lrs[11] == pytest.approx(5e-4 * 0.9 ** 11)


def test_ch000_5_8_scheduler_comparison_suite_runs_every_schedule():
    model, total_steps = nn.Linear(10, 1), 300
    suite = {
        "StepLR": lambda opt: schedules.StepLR(opt, step_size=100, gamma=0.1),
        "ExponentialLR": lambda opt: schedules.ExponentialLR(opt, gamma=0.995),
        "CosineAnnealing": lambda opt: schedules.CosineAnnealingLR(opt, T_max=total_steps),
        "OneCycleLR": lambda opt: schedules.OneCycleLR(opt, max_lr=0.1, total_steps=total_steps),
        "Warmup+Cosine": lambda opt: WarmupCosineSchedule(opt, warmup_steps=30,
                                                          total_steps=total_steps),
    }
    for name, make in suite.items():
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        lrs = lrs_of(make(optimizer), optimizer, total_steps)
        assert len(lrs) == total_steps and max(lrs) <= 0.1 + 1e-12, name


class LRFinder:
    """ch000 §6.1, ported with ``device='cpu'``; ``torch.isnan(loss)`` is
    ``minigrad.isnan(loss)``. ``snapshot`` switches on the deepcopy the chapter lacks."""

    def __init__(self, model, optimizer, criterion, device="cpu", snapshot=False):
        self.model, self.optimizer, self.criterion = model, optimizer, criterion
        self.device, self.snapshot = device, snapshot

    def range_test(self, train_loader, start_lr=1e-7, end_lr=10, num_iter=100, smooth_f=0.05):
        model_state = self.model.state_dict()
        optim_state = self.optimizer.state_dict()
        if self.snapshot:
            model_state, optim_state = copy.deepcopy(model_state), copy.deepcopy(optim_state)
        lrs, losses, best_loss = [], [], float("inf")
        lr_mult = (end_lr / start_lr) ** (1 / num_iter)
        lr = start_lr
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr
        self.model.train()
        iterator = iter(train_loader)
        for i in range(num_iter):
            try:
                X, y = next(iterator)
            except StopIteration:
                iterator = iter(train_loader)
                X, y = next(iterator)
            X, y = X.to(self.device), y.to(self.device)
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(X), y)
            avg_loss = loss.item() if i == 0 else smooth_f * loss.item() + (1 - smooth_f) * avg_loss
            if avg_loss > 4 * best_loss or minigrad.isnan(loss):
                break
            best_loss = min(best_loss, avg_loss)
            lrs.append(lr)
            losses.append(avg_loss)
            loss.backward()
            self.optimizer.step()
            lr *= lr_mult
            for param_group in self.optimizer.param_groups:
                param_group["lr"] = lr
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(optim_state)
        return lrs, losses


@pytest.mark.parametrize("snapshot", [False, True])
def test_ch000_6_1_lr_finder_restores_the_model_only_with_a_deepcopy(snapshot):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    before = copy.deepcopy(model.state_dict())
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    finder = LRFinder(model, optimizer, nn.MSELoss(), snapshot=snapshot)
    lrs, losses = finder.range_test(regression_loader(), start_lr=1e-7, end_lr=1, num_iter=40)
    assert lrs[0] == pytest.approx(1e-7) and len(lrs) == len(losses) > 10
    min_grad_idx = np.gradient(np.array(losses)).argmin()  # the chapter's suggestion
    assert 1e-7 <= lrs[min_grad_idx] <= 1
    restored = all(np.array_equal(model.state_dict()[k], before[k]) for k in before)
    # state_dict() shares memory, as in PyTorch: without the deepcopy nothing is restored
    assert restored == snapshot


def get_grad_norm(model):
    """ch000 §6.2: ``p.grad.data.norm(2)`` is ``np.linalg.norm(p.grad)`` here."""
    total_norm = 0
    for p in model.parameters():
        if p.grad is not None:
            total_norm += np.linalg.norm(p.grad).item() ** 2
    return total_norm ** 0.5


def test_ch000_6_2_clipping_caps_the_monitored_gradient_norm():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    criterion, grad_norms = nn.MSELoss(), []
    for X, y in regression_loader():
        optimizer.zero_grad()
        (criterion(model(X), y) * 100).backward()
        before = get_grad_norm(model)
        returned = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        grad_norms.append((before, get_grad_norm(model)))
        assert returned.item() == pytest.approx(before, rel=1e-5)
        optimizer.step()
    assert all(after <= 1.0 + 1e-5 for _, after in grad_norms)
    nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    assert all(np.abs(p.grad).max() <= 0.5 for p in model.parameters())


def train_with_accumulation(model, train_loader, optimizer, criterion, accumulation_steps=4,
                            clip_norm=1.0, device="cpu"):
    model.train()
    total_loss = 0
    optimizer.zero_grad()
    for i, (X, y) in enumerate(train_loader):
        X, y = X.to(device), y.to(device)
        loss = criterion(model(X), y) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            optimizer.zero_grad()
        total_loss += loss.item() * accumulation_steps
    if (i + 1) % accumulation_steps != 0:
        optimizer.step()
        optimizer.zero_grad()
    return total_loss / len(train_loader)


def test_ch000_6_3_accumulation_equals_one_step_on_the_effective_batch():
    minigrad.manual_seed(0)
    model = nn.Linear(10, 1)
    twin = copy.deepcopy(model)
    criterion = nn.MSELoss()
    small = regression_loader(n=32, batch_size=8)  # 4 × 8 = "effective batch size" 32
    train_with_accumulation(model, small, optim.SGD(model.parameters(), lr=0.1), criterion,
                            clip_norm=1e9)
    train_epoch_sgd(twin, regression_loader(n=32, batch_size=32), criterion,
                    optim.SGD(twin.parameters(), lr=0.1))
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-7)


def test_ch000_6_4_mixed_precision_with_accumulation_on_the_cpu():
    from minigrad.amp import GradScaler, autocast

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = optim.AdamW(model.parameters(), lr=1e-3)
    criterion, scaler, accumulation_steps = nn.MSELoss(), GradScaler(), 4
    before = [p.data.copy() for p in model.parameters()]
    for i, (X, y) in enumerate(regression_loader()):
        with autocast():
            loss = criterion(model(X), y) / accumulation_steps
        scaler.scale(loss).backward()
        if (i + 1) % accumulation_steps == 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
    assert all(p.dtype == np.float32 for p in model.parameters())  # master weights
    assert any(not np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


class TransferModel(nn.Module):
    def __init__(self, backbone, num_classes):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def test_ch000_6_5_parameter_groups_and_layer_wise_decay():
    model = TransferModel(nn.Sequential(nn.Linear(8, 512), nn.ReLU()), num_classes=10)
    optimizer = optim.AdamW([{"params": model.backbone.parameters(), "lr": 1e-5},
                             {"params": model.head.parameters(), "lr": 1e-3}],
                            weight_decay=0.01)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-5, 1e-3]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.01]

    def get_layer_wise_lr_groups(model, base_lr=1e-3, decay_rate=0.9):
        num_layers = len(list(model.named_parameters()))
        return [{"params": param, "lr": base_lr * (decay_rate ** (num_layers - i - 1))}
                for i, (name, param) in enumerate(model.named_parameters())]

    optimizer = optim.AdamW(get_layer_wise_lr_groups(model, base_lr=1e-4, decay_rate=0.95),
                            weight_decay=0.01)
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs[-1] == pytest.approx(1e-4) and lrs[0] == pytest.approx(1e-4 * 0.95 ** 3)


def test_ch000_7_3_recipes_warmup_then_cosine_and_bert_linear():
    model = nn.Linear(10, 1)
    steps_per_epoch = 4  # len(train_loader)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    warmup = schedules.LinearLR(optimizer, start_factor=0.1, total_iters=5 * steps_per_epoch)
    cosine = schedules.CosineAnnealingLR(optimizer, T_max=90 * steps_per_epoch, eta_min=1e-5)
    scheduler = schedules.SequentialLR(optimizer, schedulers=[warmup, cosine],
                                       milestones=[5 * steps_per_epoch])
    lrs = lrs_of(scheduler, optimizer, 95 * steps_per_epoch + 1)
    assert lrs[0] == pytest.approx(0.01) and max(lrs) == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(1e-5)

    total_steps, warmup_steps = 100, 10
    optimizer = optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-6,
                            weight_decay=0.01)
    scheduler = schedules.LambdaLR(optimizer, lr_lambda=lambda step: min(
        step / warmup_steps, (total_steps - step) / (total_steps - warmup_steps)))
    lrs = lrs_of(scheduler, optimizer, total_steps + 1)
    assert lrs[0] == 0 and lrs[10] == pytest.approx(1e-4) and lrs[100] == pytest.approx(0)


def test_ch000_7_4_debugging_checklist_on_a_model_with_a_frozen_layer():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1))
    model[0].requires_grad_(False)
    X = minigrad.randn(5, 4)
    loss = nn.MSELoss()(model(X), minigrad.zeros(5, 1))
    loss.backward()
    report = []
    for name, param in model.named_parameters():
        if param.grad is not None:
            report.append(f"{name}: grad_norm={np.linalg.norm(param.grad):.6f}")
        else:
            report.append(f"{name}: NO GRADIENT!")
    assert report[:2] == ["0.weight: NO GRADIENT!", "0.bias: NO GRADIENT!"]
    assert not (minigrad.isnan(loss) or minigrad.isinf(loss))
    with np.errstate(divide="ignore"):
        assert minigrad.isnan(loss * float("nan")) and minigrad.isinf(loss / 0.0)
    assert X.var().item() > 0  # "Batch variance ... Should be non-zero"


# ================================================= chapter 001 (Optimization Algorithms)
class SGDMomentumInPlace:
    """ch001's SGD with momentum: ``param.data.add_(velocity, alpha=-lr)`` and
    ``param.grad.zero_()`` take their NumPy forms."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        self.params = list(params)
        self.lr, self.momentum = lr, momentum
        self.velocities = [minigrad.zeros_like(p) for p in self.params]

    def step(self):
        for param, velocity in zip(self.params, self.velocities):
            if param.grad is None:
                continue
            velocity.mul_(self.momentum).add_(param.grad)
            param.data -= self.lr * velocity

    def zero_grad(self):
        for param in self.params:
            if param.grad is not None:
                param.grad[...] = 0


def test_ch001_sgd_momentum_and_adam_from_scratch_match_optim():
    minigrad.manual_seed(3)
    w = minigrad.Parameter(minigrad.randn(3).data)
    w_ref = minigrad.Parameter(w.data.copy())
    ours, reference = SGDMomentumInPlace([w]), optim.SGD([w_ref], lr=0.01, momentum=0.9)
    for _ in range(5):
        for p, opt in ((w, ours), (w_ref, reference)):
            opt.zero_grad()
            (p ** 2).sum().backward()
            opt.step()
    np.testing.assert_allclose(w.data, w_ref.data, rtol=1e-6)


def test_ch001_lion_sign_update():
    beta1 = 0.9
    m, g = minigrad.tensor([0.5, -0.2, 0.0]), minigrad.tensor([-1.0, -1.0, 0.0])
    sign_momentum = minigrad.sign(beta1 * m + (1 - beta1) * g)
    assert sign_momentum.tolist() == [1.0, -1.0, 0.0]


def test_ch001_sam_two_steps_with_perturbations_kept_in_a_dict():
    minigrad.manual_seed(0)
    w = minigrad.Parameter(minigrad.randn(3).data)
    base, rho, e_w = optim.SGD([w], lr=0.1), 0.05, {}
    loss_fn = lambda: ((w - 1.0) ** 2).sum()  # noqa: E731
    loss_fn().backward()
    params = base.param_groups[0]["params"]
    grad_norm = minigrad.sqrt(sum(minigrad.norm(minigrad.tensor(p.grad)) ** 2 for p in params))
    start = w.data.copy()
    with minigrad.no_grad():
        for p in params:
            e_w[p] = rho * p.grad / (grad_norm + 1e-12).item()
            p.add_(e_w[p])
    assert np.linalg.norm(w.data - start) == pytest.approx(rho, rel=1e-5)
    base.zero_grad()
    loss_fn().backward()
    with minigrad.no_grad():
        for p in params:
            p.sub_(e_w[p])
    base.step()
    sharp_grad = 2 * (start + e_w[w] - 1.0)  # the gradient taken at the perturbed point
    np.testing.assert_allclose(w.data, start - 0.1 * sharp_grad, rtol=1e-5)


# ============================================ chapter 002 (Optimizers and Learning Rates)
def test_ch002_rosenbrock_comparison_moves_every_optimizer_downhill():
    def rosenbrock(xy):
        x, y = xy[0], xy[1]
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2

    makers = {
        "SGD (lr=0.001)": lambda p: optim.SGD(p, lr=0.001),
        "SGD+Momentum": lambda p: optim.SGD(p, lr=0.001, momentum=0.9),
        "Adam": lambda p: optim.Adam(p, lr=0.01),
        "AdamW": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.01),
        "RMSprop": lambda p: optim.RMSprop(p, lr=0.01),
    }
    start = minigrad.tensor([-1.0, 1.0])
    for name, make in makers.items():
        xy = start.clone().requires_grad_(True)
        optimizer = make([xy])
        for _ in range(200):  # the chapter: 2000
            optimizer.zero_grad()
            loss = rosenbrock(xy)
            loss.backward()
            nn.utils.clip_grad_norm_([xy], max_norm=10.0)
            optimizer.step()
        assert rosenbrock(xy).item() < rosenbrock(start).item(), name


def test_ch002_bias_correction_makes_the_first_adam_step_the_learning_rate():
    minigrad.manual_seed(42)
    theta = minigrad.tensor([10.0], requires_grad=True)
    optimizer = optim.Adam([theta], lr=0.1)
    values = [theta.item()]
    for _ in range(50):
        optimizer.zero_grad()
        (theta ** 2).sum().backward()
        optimizer.step()
        values.append(theta.item())
    assert values[1] == pytest.approx(9.9, abs=1e-6)  # |step 1| = lr, whatever the gradient
    assert values[50] < values[5] < values[1]


# ===================================================== chapter 003 (Optimization)
def test_ch003_ewa_numerical_example_and_bias_correction():
    beta, temperatures = 0.9, [35, 33, 36, 34, 38]
    v, trace, corrected = 0.0, [], []
    for t, theta in enumerate(temperatures, start=1):
        v = beta * v + (1 - beta) * theta
        trace.append(v)
        corrected.append(v / (1 - beta ** t))
    assert trace == pytest.approx([3.5, 6.45, 9.405, 11.8645, 14.47805])
    assert trace[2] == pytest.approx(9.41, abs=0.0051)  # printed 9.41: 9.405 rounded up
    assert trace[4] == pytest.approx(14.48, abs=0.005)
    assert corrected[0] == pytest.approx(35.0) and round(corrected[1], 1) == 33.9


def test_ch003_worked_adam_example_three_steps_on_w_squared():
    w = minigrad.Parameter([5.0])
    optimizer = optim.Adam([w], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    expected = [(1.0, 0.1, 4.9), (1.88, 0.1960, 4.8), (2.652, 0.288, 4.7)]
    for m, v, w_next in expected:
        optimizer.zero_grad()
        (w ** 2).sum().backward()
        optimizer.step()
        state = optimizer.state[w]
        assert state["exp_avg"].item() == pytest.approx(m, rel=1e-3)
        assert state["exp_avg_sq"].item() == pytest.approx(v, rel=2e-3)
        assert w.item() == pytest.approx(w_next, abs=1e-3)
