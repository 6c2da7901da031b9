"""Flow matching (rectified flow) as HyDRA's base model trains it.

x_t = (1 - t)·x_0 + t·ε, t = 1 is pure noise; the network predicts the
velocity v = ε - x_0 = dx_t/dt. A timestep shift s > 1 spends more of
training and sampling at high noise, where video structure is decided:
t' = s·t / (1 + (s - 1)·t).

The release trains on a discrete schedule (DiffSynth's FlowMatchScheduler
with shift 5, sigma_min 0, 1000 training steps): t is one of the N shifted
values shift(1 - i/N), i in [0, N), drawn uniformly, and the loss is weighted
by exp(-2·((1000·t - N/2)/N)²), shifted to a minimum of 0 and scaled to a
mean of 1 (`training_weight`). Sampling: Euler on shift(linspace(1, 0, steps+1)).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch


def shift_time(t: torch.Tensor, shift: float) -> torch.Tensor:
    return shift * t / (1.0 + (shift - 1.0) * t)


def sample_time(batch: int, shift: float, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """Training timesteps [batch]: uniform, then shifted."""
    u = torch.rand(batch, generator=generator, device=generator.device).to(device)
    return shift_time(u, shift)


def released_schedule(steps: int, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The release's training times [N] (t = sigma in (0, 1]) and loss weights [N] (mean 1)."""
    t = shift_time(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)[:-1], shift)
    y = torch.exp(-2.0 * ((t * 1000.0 - steps / 2) / steps) ** 2)
    y = y - y.min()
    return t.float(), (y * (steps / y.sum())).float()


def sample_time_released(
    batch: int, steps: int, shift: float, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training times [batch] drawn from the release's discrete schedule, and their loss weights [batch]."""
    times, weights = released_schedule(steps, shift)
    idx = torch.randint(0, steps, (batch,), generator=generator, device=generator.device).cpu()
    return times[idx].to(device), weights[idx].to(device)


def _bcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    tb = _bcast(t, x0)
    return (1.0 - tb) * x0 + tb * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return noise - x0


def flow_loss(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    noise: torch.Tensor,
    t: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """MSE between predicted and true velocity, per sample times weight [B] (default 1), averaged over the batch.

    `predict(x_t, t)` sees only the target latents.
    """
    v = predict(add_noise(x0, noise, t), t)
    per_sample = ((v.float() - velocity_target(x0, noise).float()) ** 2).flatten(1).mean(dim=1)
    return per_sample.mean() if weight is None else (per_sample * weight.to(per_sample)).mean()


def sample_schedule(steps: int, shift: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """steps + 1 times from 1 (noise) down to 0 (data), shifted like training."""
    return shift_time(torch.linspace(1.0, 0.0, steps + 1, device=device), shift)


@torch.no_grad()
def euler_sample(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    steps: int,
    shift: float,
) -> torch.Tensor:
    """Integrate dx/dt = v from t = 1 to t = 0 with `steps` Euler steps, starting at `noise`."""
    times = sample_schedule(steps, shift, noise.device)
    x = noise
    for t_now, t_next in itertools.pairwise(times):
        v = predict(x, t_now.expand(x.shape[0]))
        x = x + (t_next - t_now) * v.to(x.dtype)
    return x
