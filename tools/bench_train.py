"""Training speed of the HyDRA reference trainer.

CPU: optimizer steps per second and peak resident memory of the `tiny`
config in each mode (batch 2, the real training step: latents, cameras,
fov selection, flow loss, backward, AdamW), how retrieval attention's time
grows with clip length next to full attention, and cached vs uncached
training on Wan VAE latents (a tiny random AutoencoderKLWan: uncached runs
the VAE every step, cached reads `hmworld encode`'s safetensors shards).
GPU (when CUDA is present): `small` and `base` step time in bf16, tokens per
second, peak GPU memory, FLOPs per step counted by torch's FlopCounterMode,
and model FLOPs utilisation against the GPU's dense bf16 peak.

    .venv/bin/python tools/bench_train.py [--steps 20] [--threads N] [--peak-tflops 989]

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data._utils.collate import default_collate

from hmworld import geometry
from hmworld.hydra.attention import (
    gathered_attention,
    per_head_affinity,
    select_memory,
    window_indices,
)
from hmworld.hydra.cache import CacheDataset, EncodeOptions, encode, prepare_cached
from hmworld.hydra.config import model_config
from hmworld.hydra.latent import make_codec
from hmworld.hydra.model import HydraDiT
from hmworld.hydra.pipeline import prepare_batch, training_loss

MODES = ("hydra", "full-context", "fov-retrieval")
# dense bf16 peak per GPU, TFLOP/s (no sparsity)
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "4090": 165.0}


def contract_batch(batch: int, frames: int, size: tuple[int, int]) -> dict:
    """Random clips in the sample contract, with a camera that pans away and back."""
    H, W = size
    t = np.arange(frames)
    yaw = np.radians(100.0) * np.sin(np.pi * t / (frames - 1))
    c2w = geometry.pose_from_angles(np.stack([0.05 * t, 0 * t, 1.5 + 0 * t], -1), yaw, np.full(frames, -0.1))
    K = geometry.intrinsics(60.0, W, H)
    g = torch.Generator().manual_seed(0)
    return {
        "video": torch.rand(batch, frames, 3, H, W, generator=g),
        "c2w": torch.from_numpy(c2w).float().expand(batch, frames, 4, 4).clone(),
        "K": torch.from_numpy(K).float().expand(batch, 3, 3).clone(),
        "caption": ["a person walks in a park"] * batch,
    }


def bench_cpu(steps: int) -> dict[str, dict[str, float]]:
    out = {}
    device = torch.device("cpu")
    for mode in MODES:
        cfg = model_config("tiny", mode)
        codec = make_codec(cfg)
        torch.manual_seed(0)
        model = HydraDiT(cfg).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batch = contract_batch(2, cfg.frames, cfg.frame_size)

        def step(i: int, cfg=cfg, codec=codec, model=model, opt=opt, batch=batch) -> None:
            prep = prepare_batch(batch, codec, cfg, device)
            loss = training_loss(model, prep, torch.Generator().manual_seed(i), cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for i in range(3):
            step(i)
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        dt = (time.perf_counter() - t0) / steps
        out[mode] = {
            "steps_per_s": 1.0 / dt,
            "ms_per_step": 1e3 * dt,
            "params_m": model.num_params() / 1e6,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        print(f"cpu tiny {mode:14s} {1 / dt:7.2f} steps/s  {1e3 * dt:7.1f} ms/step  "
              f"{model.num_params() / 1e6:.2f}M params  process peak RSS {out[mode]['peak_rss_mb']:.0f} MB")  # fmt: skip
    return out


def bench_attention_scaling(frames_list=(16, 64, 128), S=64, H=4, d=32, top_k=4, window=3) -> dict[str, dict[str, float]]:
    """Forward time of one attention call as the clip grows: retrieval (top-k + window) vs full."""
    out = {}
    for n in frames_list:
        g = torch.Generator().manual_seed(0)
        q, k, v = (torch.randn(1, H, n, S, d, generator=g) for _ in range(3))
        mk, mv = (torch.randn(1, H, n // 2, S // 4, d, generator=g) for _ in range(2))

        def timed(fn) -> float:
            fn()
            t0 = time.perf_counter()
            for _ in range(3):
                fn()
            return 1e3 * (time.perf_counter() - t0) / 3

        def retrieval(q=q, k=k, v=v, mk=mk, mv=mv, n=n):
            selected, valid = select_memory(per_head_affinity(q, mk), top_k)
            return gathered_attention(q, k, v, window_indices(n, window), mk, mv, selected, valid)

        with torch.no_grad():
            t_ret = timed(retrieval)
            t_full = timed(lambda q=q, k=k, v=v: torch.nn.functional.scaled_dot_product_attention(
                q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3)))  # fmt: skip
        keys_ret = window * S + top_k * (S // 4)
        out[str(n)] = {"retrieval_ms": t_ret, "full_ms": t_full, "keys_per_query_retrieval": keys_ret, "keys_per_query_full": n * S}
        print(f"attention F={n:4d} frames × {S} tokens: retrieval {t_ret:8.2f} ms ({keys_ret} keys/query), "
              f"full {t_full:8.2f} ms ({n * S} keys/query)")  # fmt: skip
    return out


class RandomClips(torch.utils.data.Dataset):
    """`n` random clips in the sample contract (one dict per clip)."""

    def __init__(self, n: int, frames: int, size: tuple[int, int]) -> None:
        self.batch = contract_batch(n, frames, size)

    def __len__(self) -> int:
        return self.batch["video"].shape[0]

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.batch.items()} | {"clip_id": f"c{i}"}


def bench_cache(steps: int) -> dict[str, float]:
    """Steps/s of tiny hydra on Wan VAE latents: VAE every step (uncached) vs `hmworld encode`'s cache."""
    import diffusers

    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        vae = diffusers.AutoencoderKLWan(base_dim=16, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                                         temperal_downsample=[False, True, True])  # fmt: skip
        vae.save_pretrained(Path(tmp) / "vae")
        cfg = model_config("tiny", "hydra", latent="wan-vae", vae_path=str(Path(tmp) / "vae"), frames=18, frame_size=(64, 64))
        data = RandomClips(4, cfg.frames, cfg.frame_size)
        t0 = time.perf_counter()
        encode(data, cfg, EncodeOptions(out=Path(tmp) / "cache", shard_clips=2), log=None)
        encode_s = time.perf_counter() - t0
        cached = CacheDataset(Path(tmp) / "cache")
        codec = make_codec(cfg)
        out = {"encode_s_per_clip": encode_s / len(data)}
        for name in ("uncached", "cached"):
            torch.manual_seed(0)
            model = HydraDiT(cfg).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

            def step(i: int, name=name, model=model, opt=opt) -> None:
                idx = [(2 * i) % 4, (2 * i + 1) % 4]
                if name == "cached":
                    prep = prepare_cached(default_collate([cached[j] for j in idx]), cfg, device)
                else:
                    prep = prepare_batch(default_collate([data[j] for j in idx]), codec, cfg, device)
                loss = training_loss(model, prep, torch.Generator().manual_seed(i), cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            step(0)
            t0 = time.perf_counter()
            for i in range(steps):
                step(i)
            dt = (time.perf_counter() - t0) / steps
            out[f"{name}_steps_per_s"] = 1.0 / dt
            print(f"cpu tiny hydra on Wan VAE latents, {name:8s} {1 / dt:7.2f} steps/s  {1e3 * dt:7.1f} ms/step")
        out["speedup"] = out["cached_steps_per_s"] / out["uncached_steps_per_s"]
        print(f"cache: {out['speedup']:.1f}× the uncached steps/s; encoding took {out['encode_s_per_clip']:.2f} s per clip once")
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_gpu(
    steps: int, peak_tflops: float | None, sizes: tuple[str, ...] = ("small", "base"), device_name: str = "cuda"
) -> dict[str, dict[str, float]]:
    """bf16 step time, FLOPs and MFU of the diffusion transformer on random latents (no VAE in the step)."""
    from torch.utils.flop_counter import FlopCounterMode

    device = torch.device(device_name)
    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    if peak_tflops is None:
        peak_tflops = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    out = {}
    for size in sizes:
        for mode in MODES:
            cfg = model_config(size, mode, vae_path="(bench: random latents)" if size == "base" else None)
            torch.manual_seed(0)
            model = HydraDiT(cfg).to(device).train()
            model.grad_checkpoint = size == "base"
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            n = cfg.frames // 2  # context frames; a Wan stream is padded to 4k+1 frames (75 → 77 → 20 latents)
            lat = 1 + -(-(n - 1) // cfg.time_factor) if cfg.latent == "wan-vae" else -(-n // cfg.time_factor)
            h, w = cfg.frame_size[0] // cfg.space_factor, cfg.frame_size[1] // cfg.space_factor
            ctx = torch.randn(1, cfg.latent_channels, lat, h, w, device=device)
            tgt = torch.randn_like(ctx)
            cams = torch.randn(1, 2 * lat, 12, device=device)
            keep = torch.arange(min(cfg.fov_k, lat), device=device)[None]
            fov = keep[:, None].expand(1, lat, keep.shape[1])  # per-frame rule: each target frame's context frames

            def step(ctx=ctx, tgt=tgt, cams=cams, keep=keep, fov=fov, model=model, opt=opt, lat=lat) -> None:
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    v = model(ctx, tgt, torch.rand(1, device=device), cams[:, :lat], cams[:, lat:], ctx_keep=keep,
                              fov_frames=fov)  # fmt: skip
                    loss = (v.float() - tgt).square().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            step()
            with FlopCounterMode(display=False) as counter:
                step()
            flops = counter.get_total_flops()
            _sync(device)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            _sync(device)
            dt = (time.perf_counter() - t0) / steps
            mfu = flops / dt / (peak_tflops * 1e12) if peak_tflops else None
            key = f"{size}/{mode}"
            out[key] = {
                "ms_per_step": 1e3 * dt, "tflops_per_step": flops / 1e12, "mfu": mfu,
                "peak_gb": torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"),
                "params_m": model.num_params() / 1e6,
                "tokens": 2 * lat * cfg.token_grid[0] * cfg.token_grid[1],
                "tokens_per_s": 2 * lat * cfg.token_grid[0] * cfg.token_grid[1] / dt,
            }  # fmt: skip
            print(f"{name} {key:24s} {1e3 * dt:8.1f} ms/step  {out[key]['tokens_per_s']:9.0f} tokens/s  {flops / 1e12:8.1f} TFLOP/step  "
                  f"MFU {'%.1f%%' % (100 * mfu) if mfu else 'n/a'}  peak {out[key]['peak_gb']:.1f} GiB")  # fmt: skip
            del model, opt
            if cuda:
                torch.cuda.empty_cache()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="GPU dense bf16 peak for MFU")
    ap.add_argument("--no-gpu", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads", file=sys.stderr)
    cpu = bench_cpu(args.steps)
    scaling = bench_attention_scaling()
    cache = bench_cache(max(3, args.steps // 4))
    gpu = bench_gpu(args.steps, args.peak_tflops) if torch.cuda.is_available() and not args.no_gpu else None
    summary = {
        "cpu_tiny_steps_per_s": {m: round(v["steps_per_s"], 2) for m, v in cpu.items()},
        "cpu_peak_rss_mb": round(max(v["peak_rss_mb"] for v in cpu.values())),
        "attention_ms_retrieval_vs_full": {f: [round(v["retrieval_ms"], 2), round(v["full_ms"], 2)] for f, v in scaling.items()},
        "cpu_tiny_wan_latents_steps_per_s": {"uncached": round(cache["uncached_steps_per_s"], 4),
                                             "cached": round(cache["cached_steps_per_s"], 4),
                                             "speedup": round(cache["speedup"], 2)},
        "gpu": None if gpu is None else {k: {"ms": round(v["ms_per_step"], 1), "tokens_per_s": round(v["tokens_per_s"]),
                                              "mfu": None if v["mfu"] is None else round(v["mfu"], 3),
                                              "peak_gb": round(v["peak_gb"], 1)} for k, v in gpu.items()},
    }  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
