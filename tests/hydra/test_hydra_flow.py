"""Flow matching: noising, its velocity, the timestep shift, and the Euler sampler."""

from __future__ import annotations

import torch

from hmworld.hydra import flow


def test_noising_interpolates_and_the_target_is_its_time_derivative():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 4, 2, generator=g), torch.randn(3, 4, 2, generator=g)
    torch.testing.assert_close(flow.add_noise(x0, eps, torch.zeros(3)), x0)
    torch.testing.assert_close(flow.add_noise(x0, eps, torch.ones(3)), eps)
    t, dt = torch.full((3,), 0.4), 1e-3
    slope = (flow.add_noise(x0, eps, t + dt) - flow.add_noise(x0, eps, t)) / dt
    torch.testing.assert_close(slope, flow.velocity_target(x0, eps), atol=1e-3, rtol=1e-3)


def test_shift_keeps_the_ends_and_spends_more_time_at_high_noise():
    t = torch.linspace(0, 1, 11)
    torch.testing.assert_close(flow.shift_time(t, 1.0), t)
    s = flow.shift_time(t, 5.0)
    assert s[0] == 0 and s[-1] == 1
    assert (s[1:-1] > t[1:-1]).all() and (s.diff() > 0).all()
    times = flow.sample_time(10_000, 5.0, torch.Generator().manual_seed(0))
    assert 0.0 <= times.min() and times.max() <= 1.0 and times.median() > 0.8  # median of 5u/(1+4u) is 5/6


def test_euler_sampler_lands_on_the_data_under_the_exact_velocity_field():
    target = torch.tensor([[0.5, -1.0, 2.0]])

    def exact(x, t):  # the true velocity when the data is a single point: (x_t - x_0) / t
        return (x - target) / t.view(-1, 1)

    noise = torch.randn(1, 3, generator=torch.Generator().manual_seed(1))
    for steps in (1, 4, 20):
        torch.testing.assert_close(flow.euler_sample(exact, noise, steps, 5.0), target, atol=1e-5, rtol=1e-5)


def test_flow_loss_is_zero_for_a_perfect_predictor_and_positive_otherwise():
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g)
    t = torch.tensor([0.3, 0.9])
    assert flow.flow_loss(lambda x, tt: eps - x0, x0, eps, t) == 0
    assert flow.flow_loss(lambda x, tt: torch.zeros_like(x), x0, eps, t) > 0.1
