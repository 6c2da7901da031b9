"""One owner per file name: the clip folder's in hmworld/clip.py, the dataset folder's in hmworld/dataset/layout.py.

Every other module imports the names. This walks hmworld/ and fails on a
string literal (docstrings and prose messages aside) that spells one of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hmworld
from hmworld import clip
from hmworld.dataset import layout

PACKAGE = Path(hmworld.__file__).parent
OWNERS = {PACKAGE / "clip.py", PACKAGE / "dataset" / "layout.py"}
FILE_NAMES = {
    clip.VIDEO_FILE, clip.INSTANCES_FILE, clip.DEPTH_FILE, clip.CLIP_JSON, clip.EVENTS_JSON, clip.CAPTION_JSON,
    layout.INFO_JSON, layout.PIXEL_COUNTS, layout.EVENTS_TABLE,
}
FOLDERS = {clip.CLIPS_DIR, layout.DATA_DIR, layout.META_DIR}
PATH_PREFIXES = tuple(f"{d}/" for d in FOLDERS)


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def spelled_out(path: Path) -> list[str]:
    """`path:line: 'literal'` for each literal that names a clip or dataset file or folder."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # root / "clips"
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in FOLDERS:
                    found.append(f"{path}:{side.lineno}: {side.value!r}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if node.value in FILE_NAMES or node.value.startswith(PATH_PREFIXES):
                found.append(f"{path}:{node.lineno}: {node.value!r}")
    return found


def test_file_names_are_spelled_only_by_their_owner() -> None:
    found = [f for p in sorted(PACKAGE.rglob("*.py")) if p not in OWNERS for f in spelled_out(p)]
    assert not found, "import these names from hmworld.clip / hmworld.dataset.layout:\n" + "\n".join(found)


def test_the_check_finds_a_spelled_out_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""doc: clip.json is fine here."""\nP = ROOT / "clips" / "x" / "clip.json"\nQ = "meta/info.json"\n')
    assert len(spelled_out(bad)) == 3


def test_the_owners_name_every_path_once() -> None:
    assert layout.CLIP_FILES_TEMPLATE.startswith(f"{clip.CLIPS_DIR}/<clip_id>/")
    assert layout.shard_name("test", 0, 1) == "test-00000-of-00001.parquet"
    assert layout.INFO_PATH == f"{layout.META_DIR}/{layout.INFO_JSON}"
