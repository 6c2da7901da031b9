"""Where Ray work runs: the settings shared by `render --executor ray` and `caption --executor ray`.

Ray is an optional extra (pip install 'hmworld[ray]'); this module imports it
only when a Ray run starts, so the default install never needs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hmworld.errors import UserError


@dataclass(frozen=True)
class RaySettings:
    """How the render runs on Ray.

    address: None starts a local Ray on this machine; "auto" joins the cluster
      this machine belongs to; "ray://HOST:PORT" connects through Ray Client.
    cpus_per_clip: CPUs each builtin task declares (and numba threads it uses).
    gpus_per_actor: GPUs each session actor declares (one editor per GPU).
    actors: size of the session actor pool (None: as many as the cluster's GPUs allow).
    max_retries: times Ray reruns a task whose worker died.
    """

    address: str | None = None
    cpus_per_clip: float = 1.0
    gpus_per_actor: float = 1.0
    actors: int | None = None
    max_retries: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.cpus_per_clip < math.inf:
            raise UserError(f"ray-cpus must be a finite number more than 0, got {self.cpus_per_clip}")
        if not 0 <= self.gpus_per_actor < math.inf:
            raise UserError(f"ray-gpus must be a finite number, 0 or more, got {self.gpus_per_actor}")
        if self.actors is not None and self.actors < 1:
            raise UserError(f"ray-actors must be at least 1, got {self.actors}")
        if self.max_retries < 0:
            raise UserError(f"max-retries must be 0 or more, got {self.max_retries}")


def require_ray() -> Any:
    """The `ray` module, or a one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise UserError(f"--executor ray needs Ray ({e.name} is missing); install it with: "
                        "pip install 'hmworld[ray]'") from None
    return ray


def connect(address: str | None) -> Any:
    """Join Ray at `address` (see RaySettings), or start a local Ray when None; once per process.

    Ray's own log lines stay in its session logs (not the terminal), so the
    progress bar and the summary read as with the local executor.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    if address is not None and address != "auto" and not address.startswith("ray://") and ":" not in address:
        raise UserError(f"ray-address {address!r} is not allowed; use auto, ray://HOST:PORT (Ray Client) or "
                        "HOST:PORT (the head node's GCS), or omit it to start a local Ray")
    try:
        # "local": a fresh Ray here, even when RAY_ADDRESS or an earlier `ray start` names another
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = "a local Ray" if address is None else f"Ray at {address!r}"
        raise UserError(f"cannot connect to {where}: {' '.join(str(e).split())[:300]}") from None
    return ray
