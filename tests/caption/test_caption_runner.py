"""Captioning a dataset: caption.json per clip, resumable, atomic per batch, synced to packaged tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from caption_support import frames_for, make_dataset, write_exit_entry

from hmworld.caption import Caption, caption_dataset, read_caption
from hmworld.caption.runner import (
    caption_clips,
    load_clip_input,
    pending_clips,
    uniform_frame_indices,
)
from hmworld.caption.template import TemplateCaptioner
from hmworld.catalog import SCENES
from hmworld.clip import CAPTION_JSON, clip_dir
from hmworld.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def captions(root: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / CAPTION_JSON).read_text()) for d in sorted((root / "clips").iterdir())
            if (d / CAPTION_JSON).is_file()}


class Counting:
    """The template captioner, counting the clips it is asked for; optionally 'killed' at batch `die_at`."""

    def __init__(self, die_at: int | None = None) -> None:
        self.inner = TemplateCaptioner()
        self.id, self.wants_frames = "template", 0
        self.asked: list[str] = []
        self.batches = 0
        self.die_at = die_at

    def caption_batch(self, clips):
        self.batches += 1
        if self.batches == self.die_at:
            raise KeyboardInterrupt
        self.asked += [c.clip_id for c in clips]
        return self.inner.caption_batch(clips)


def test_every_clip_gets_a_caption_json_with_the_agreed_fields(tmp_path):
    shots = make_dataset(tmp_path, 5, video=False)
    write_exit_entry(tmp_path, shots[0], 0, 3, 9)
    summary = caption_dataset(tmp_path, "template", batch_size=2)
    assert (summary.clips, summary.captioned, summary.kept, summary.empty) == (5, 5, 0, 0)
    got = captions(tmp_path)
    assert sorted(got) == sorted(s.clip_id for s in shots)
    for s in shots:
        d = got[s.clip_id]
        assert set(d) == {"caption", "captioner", "prompt", "model"}
        assert d["captioner"] == "template" and d["prompt"] is None and d["model"] is None
        assert SCENES[s.scene].description in d["caption"]
    assert re.search(r"comes back into view|reappears|re-entering the view", got[shots[0].clip_id]["caption"])
    assert not any(re.search(r"comes back into view|reappears|re-enter", got[s.clip_id]["caption"]) for s in shots[1:])
    assert not list(tmp_path.rglob("*.tmp"))


def test_rerun_keeps_existing_captions_and_overwrite_redoes_them(tmp_path):
    make_dataset(tmp_path, 4, video=False)
    caption_dataset(tmp_path, "template")
    path = next((tmp_path / "clips").iterdir()) / CAPTION_JSON
    path.write_text(json.dumps({"caption": "hand written", "captioner": "human", "prompt": None, "model": None}))
    again = Counting()
    s = caption_dataset(tmp_path, again)
    assert (s.captioned, s.kept) == (0, 4) and again.asked == []
    assert read_caption(path.parent) == Caption("hand written", "human")
    s = caption_dataset(tmp_path, again, overwrite=True)
    assert s.captioned == 4 and len(again.asked) == 4
    assert read_caption(path.parent).captioner == "template"


def test_interrupted_run_loses_at_most_its_batch_and_rerun_captions_only_what_is_missing(tmp_path):
    shots = make_dataset(tmp_path, 7, video=False)
    killed = Counting(die_at=2)
    with pytest.raises(KeyboardInterrupt):
        caption_dataset(tmp_path, killed, batch_size=3)
    first = captions(tmp_path)
    assert sorted(first) == sorted(killed.asked) and len(first) == 3  # batch 1 written, batch 2 lost
    assert all(read_caption(clip_dir(tmp_path, c)) is not None for c in first)
    assert not list(tmp_path.rglob("*.tmp"))

    resumed = Counting()
    s = caption_dataset(tmp_path, resumed, batch_size=3)
    assert sorted(resumed.asked) == sorted({x.clip_id for x in shots} - set(first))
    assert (s.captioned, s.kept) == (4, 3)
    assert captions(tmp_path).keys() == {x.clip_id for x in shots}
    assert {k: v for k, v in captions(tmp_path).items() if k in first} == first  # untouched


def test_broken_caption_json_is_redone(tmp_path):
    shots = make_dataset(tmp_path, 2, video=False)
    caption_dataset(tmp_path, "template")
    bad = clip_dir(tmp_path, shots[1].clip_id) / CAPTION_JSON
    bad.write_text('{"caption": "')  # a half file from some other tool
    todo, kept = pending_clips(tmp_path)
    assert [d.name for d in todo] == [shots[1].clip_id] and len(kept) == 1
    caption_dataset(tmp_path, "template")
    assert read_caption(bad.parent).captioner == "template"


def test_empty_model_text_is_not_written(tmp_path):
    make_dataset(tmp_path, 3, video=False)

    class Mute(Counting):
        def caption_batch(self, clips):
            return [Caption("   ", "mute") for _ in clips]

    s = caption_dataset(tmp_path, Mute())
    assert (s.captioned, s.empty) == (0, 3)
    assert captions(tmp_path) == {}


def test_uniform_frame_indices():
    assert uniform_frame_indices(150, 16).tolist() == [int((i + 0.5) * 150 / 16) for i in range(16)]
    assert uniform_frame_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    for total, count in [(150, 1), (150, 7), (77, 16), (3, 3)]:
        idx = uniform_frame_indices(total, count)
        assert len(idx) == min(total, count) and np.all(np.diff(idx) > 0) and 0 <= idx[0] and idx[-1] < total
        if count > 1 and total > count:
            assert np.ptp(np.diff(idx)) <= 1  # evenly spaced ...
            assert abs(int(idx[0]) - (total - 1 - int(idx[-1]))) <= 1  # ... and centred, not bunched at one end


def test_frames_are_decoded_uniformly_from_the_real_video(tmp_path):
    shot = make_dataset(tmp_path, 1)[0]
    got = load_clip_input(clip_dir(tmp_path, shot.clip_id), frames=4)
    want_idx = uniform_frame_indices(shot.frames, 4)
    assert got.frame_indices.tolist() == want_idx.tolist()
    assert got.frames.shape == (4, shot.height, shot.width, 3) and got.frames.dtype == np.uint8
    ref = frames_for(shot)[want_idx].astype(int)
    assert np.abs(got.frames.astype(int) - ref).mean() < 12  # H.264 round trip of the same frames
    assert load_clip_input(clip_dir(tmp_path, shot.clip_id)).frames is None  # metadata-only captioners decode nothing


def test_caption_clips_is_a_pure_batch_function(tmp_path):
    shots = make_dataset(tmp_path, 3, video=False)
    dirs = [clip_dir(tmp_path, s.clip_id) for s in shots]
    out = caption_clips(TemplateCaptioner(), dirs)
    assert [d for d, _ in out] == dirs
    assert captions(tmp_path) == {}  # it wrote nothing


def test_bad_inputs_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match="no clips/ folder"):
        caption_dataset(tmp_path, "template")
    make_dataset(tmp_path, 1, video=False)
    with pytest.raises(UserError, match="unknown captioner 'gpt'"):
        caption_dataset(tmp_path, "gpt")
    with pytest.raises(UserError, match="batch-size"):
        caption_dataset(tmp_path, "template", batch_size=0)


def test_packaged_tables_follow_the_captions(tmp_path):
    datasets = pytest.importorskip("datasets")
    from hmworld.dataset import package
    from hmworld.dataset.writer import sync_captions
    from hmworld.render.base import write_instances

    shots = make_dataset(tmp_path, 4)
    for s in shots:
        write_instances(clip_dir(tmp_path, s.clip_id), np.zeros((s.frames, s.height, s.width), np.uint8))
    package(tmp_path)
    caption_dataset(tmp_path, "template")
    assert sync_captions(tmp_path) == 4
    loaded = datasets.load_dataset(str(tmp_path))
    rows = {r["clip_id"]: r for split in loaded for r in loaded[split]}
    assert rows.keys() == {x.clip_id for x in shots}
    for cid, d in captions(tmp_path).items():
        assert (rows[cid]["caption"], rows[cid]["captioner"]) == (d["caption"], d["captioner"])
    caption_dataset(tmp_path, "template")
    assert sync_captions(tmp_path) == 0  # nothing changed, nothing rewritten


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_captions_a_dataset_and_resumes(tmp_path):
    make_dataset(tmp_path, 3, video=False)
    r = run_cli("caption", str(tmp_path))  # with the progress bar
    assert r.returncode == 0, r.stderr
    assert "captioned 3 of 3" in r.stdout and len(captions(tmp_path)) == 3
    r = run_cli("caption", str(tmp_path), "--no-progress")
    assert r.returncode == 0 and "already have a caption" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--captioner", "gpt4"], "unknown captioner 'gpt4'; allowed: minicpm-v, template"),
        (["--captioner", "minicpm-v", "--device", "tpu"], "unknown device 'tpu'"),
        (["--captioner", "minicpm-v", "--dtype", "int3"], "unknown dtype 'int3'"),
        (["--captioner", "minicpm-v", "--max-frames", "0"], "max-frames must be at least 1"),
        (["--captioner", "minicpm-v", "--prompt", "Describe {scene}"], "the only placeholders allowed are {n}"),
    ],
)
def test_cli_rejects_bad_options_in_one_line(tmp_path, args, message):
    make_dataset(tmp_path, 1, video=False)
    r = run_cli("caption", str(tmp_path), *args)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and message in r.stderr and "Traceback" not in r.stderr


def test_cli_on_a_folder_without_clips(tmp_path):
    r = run_cli("caption", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no clips/ folder" in r.stderr and r.stderr.count("\n") == 1
