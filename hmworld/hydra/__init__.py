"""HyDRA reference trainer: a small video diffusion transformer with hybrid memory.

Installed with the `train` extra (torch); the core dataset pipeline never
imports this package. One model, three attention modes (a switch, not three
code bases): `hydra` (memory tokenizer + dynamic retrieval attention),
`full-context` (every context token in full attention) and `fov-retrieval`
(Context-as-Memory: context frames picked by field-of-view overlap).

    config.py     ModelConfig (named sizes tiny/small/base) and its checks
    latent.py     pluggable latent space: pixel patchify or Wan VAE (diffusers)
    cameras.py    per-frame relative 3×4 camera poses from c2w (via geometry)
    baselines.py  field-of-view overlap selection for fov-retrieval
    attention.py  dynamic retrieval attention (gathers + SDPA) and a dense reference
    text.py       optional caption encoders (hash bag-of-words, local transformers)
    model.py      the diffusion transformer
    flow.py       flow matching: noising, timestep shift, loss, Euler sampler
    data.py       a dataset folder (hmworld.dataset.ClipDataset) or any Dataset object
    pipeline.py   batch → latents and cameras; loss and generation for one batch
    checkpoint.py run folder: run.json, atomic checkpoints, loading a trained run
    train.py      training loop: checkpoints, exact resume, CSV/TensorBoard, DDP
    metrics.py    PSNR, SSIM, subject-region metrics, re-entry error, LPIPS, CLIP
    evaluate.py   generate from context and score several runs side by side
"""
