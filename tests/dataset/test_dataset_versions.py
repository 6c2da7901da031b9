"""Rewriting a packaged dataset: all shards and meta/ switch at once, `load_dataset` never stale.

Every `load_dataset` here uses default arguments (the session's cache, see
tests/conftest.py), as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_support import RULE

from hmworld.atomic import temp_prefix
from hmworld.clip import list_clip_dirs
from hmworld.dataset import package, update_columns
from hmworld.dataset.tables import read_all, shard_paths
from hmworld.dataset.writer import refresh_meta

datasets = pytest.importorskip("datasets")


def loaded_ids(root: Path) -> list[str]:
    ds = datasets.load_dataset(str(root))
    return sorted(i for split in ds.values() for i in split["clip_id"])


def table_ids(root: Path) -> list[str]:
    return sorted(read_all(root, ["clip_id"])["clip_id"].to_pylist())


def test_load_change_load_again_returns_what_the_shards_hold(fresh: Path) -> None:
    all_ids = [p.name for p in list_clip_dirs(fresh)]
    assert loaded_ids(fresh) == sorted(all_ids)
    shutil.rmtree(fresh / "clips" / all_ids[0])
    package(fresh, RULE, shard_rows=2)
    assert table_ids(fresh) == sorted(all_ids[1:])
    assert loaded_ids(fresh) == sorted(all_ids[1:])  # not the cached 6
    update_columns(fresh, [all_ids[1]], {"caption": ["a new caption"]})
    ds = datasets.load_dataset(str(fresh))
    captions = {r["clip_id"]: r["caption"] for split in ds.values() for r in split}
    assert captions[all_ids[1]] == "a new caption"


def test_two_datasets_in_folders_of_the_same_name_do_not_share_a_cache(packaged: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "ds", tmp_path / "two" / "ds"
    shutil.copytree(packaged, a)
    shutil.copytree(packaged, b)
    ids = [p.name for p in list_clip_dirs(b)]
    shutil.rmtree(b / "clips" / ids[-1])
    package(b, RULE, shard_rows=2)
    assert loaded_ids(a) == sorted(ids)
    assert loaded_ids(b) == sorted(ids[:-1])


def test_an_unchanged_rewrite_keeps_the_version_and_leaves_no_leftovers(fresh: Path) -> None:
    info = json.loads((fresh / "meta" / "info.json").read_text())
    package(fresh, RULE, shard_rows=2)
    again = json.loads((fresh / "meta" / "info.json").read_text())
    assert again["tables_version"] == info["tables_version"]
    assert [p.name for p in (fresh / "data").iterdir()] == [info["tables_version"]]
    assert not list(fresh.rglob("*.tmp"))


KILLER = textwrap.dedent(
    """
    import os, shutil, sys
    from pathlib import Path

    step, op, root = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    count = 0

    def wrap(fn):
        def inner(*a, **k):
            global count
            count += 1
            if count == step:
                os._exit(9)  # killed: no cleanup, no finally blocks
            return fn(*a, **k)
        return inner

    for name in ("replace", "rename", "unlink", "link"):
        setattr(os, name, wrap(getattr(os, name)))
    shutil.rmtree = wrap(shutil.rmtree)

    from dataset_support import RULE
    from hmworld.dataset import package, update_columns
    if op == "package":
        package(root, RULE, shard_rows=2)
    else:
        update_columns(root, sys.argv[4:], {"caption": ["new"] * len(sys.argv[4:])})
    """
)


def _state(root: Path) -> tuple[list[str], dict[str, str]]:
    table = read_all(root, ["clip_id", "caption"])
    return sorted(table["clip_id"].to_pylist()), dict(zip(*table.to_pydict().values(), strict=True))


@pytest.mark.parametrize("op", ["package", "update"])
def test_a_kill_at_any_step_leaves_the_old_tables_or_the_new(fresh: Path, tmp_path: Path, op: str) -> None:
    ids = [p.name for p in list_clip_dirs(fresh)]
    shutil.rmtree(fresh / "clips" / ids[0])  # the change a re-package picks up
    old = _state(fresh)
    old_loaded = loaded_ids(fresh)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.getcwd()])}
    if op == "package":
        want = (sorted(ids[1:]), {c: t for c, t in old[1].items() if c != ids[0]})
    else:
        want = (old[0], {**old[1], ids[1]: "new", ids[2]: "new"})
    new = None
    for step in range(1, 200):
        work = tmp_path / f"k{step}" / "ds"
        shutil.copytree(fresh, work)
        args = [sys.executable, str(script), str(step), op, str(work)] + (ids[1:3] if op == "update" else [])
        run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode in (0, 9), run.stderr
        state = _state(work)
        if run.returncode == 0:
            new = state
            assert not list(work.rglob("*.tmp")) and len(list((work / "data").iterdir())) == 1
            break
        # killed: hmworld's readers and `datasets` see all of the old tables or all of the new
        assert state in (old, want), step
        assert loaded_ids(work) in (old_loaded, want[0]), step
        # the next run completes, sweeps the dead run's temporaries and leaves one version
        package(work, RULE, shard_rows=2) if op == "package" else update_columns(
            work, ids[1:3], {"caption": ["new", "new"]}
        )
        assert not list(work.rglob("*.tmp")), step
        assert len(list((work / "data").iterdir())) == 1, step
        shutil.rmtree(work.parent)
    assert new == want and step > 3


def test_a_rerun_rebuilds_meta_a_killed_older_run_left_stale(fresh: Path) -> None:
    info_path = fresh / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    stale = {**info, "counts": {**info["counts"], "captioned": 0, "clips": 99}}
    info_path.write_text(json.dumps(stale))
    (fresh / "meta" / "pixel_counts.parquet").unlink()
    assert set(refresh_meta(fresh)) == {"meta/info.json", "README.md", "meta/pixel_counts.parquet"}
    assert json.loads(info_path.read_text())["counts"] == info["counts"]
    assert pq.read_table(fresh / "meta" / "pixel_counts.parquet").num_rows == 6
    assert refresh_meta(fresh) == []  # nothing stale any more


def test_temporaries_of_dead_runs_are_swept_and_a_live_runs_kept(fresh: Path) -> None:
    clip = list_clip_dirs(fresh)[0]
    dead = clip / f"{temp_prefix('rgb.mp4').rsplit('.', 2)[0]}.999999999.abcd.tmp"
    live = clip / f"{temp_prefix('rgb.mp4')}efgh.tmp"
    stage = fresh / "data" / f"{temp_prefix('stage').rsplit('.', 2)[0]}.999999999.ijkl.tmp"
    for p in (dead, live):
        p.write_bytes(b"half")
    stage.mkdir()
    pq.write_table(pa.table({"clip_id": ["x"]}), stage / "train-00000-of-00001.parquet")
    package(fresh, RULE, shard_rows=2)
    assert not dead.exists() and not stage.exists()
    assert live.exists()  # this very process is alive: its temporaries are not leftovers
    assert len(shard_paths(fresh)) == 3
