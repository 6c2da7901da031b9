"""The fake UnrealEditor-Cmd for driver tests: its files and knobs (HMWORLD_FAKE_UE_*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmworld.render.ue5 import make_config
from ue5.support import asset_map, fake_editor_executable, project_file, world_file


class Editor:
    """The fake editor's files and knobs for one test."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp_path
        self.exe = fake_editor_executable(tmp_path)
        self.project = project_file(tmp_path)
        self.argv_log = tmp_path / "argv.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(world_file(tmp_path)))
        monkeypatch.setenv("HMWORLD_FAKE_UE_ARGV", str(self.argv_log))
        monkeypatch.setenv("HMWORLD_FAKE_UE_STATE", str(tmp_path / "crash_state"))
        monkeypatch.setenv("HMWORLD_FAKE_UE_VERSION", "5.4")
        self.renders_log = tmp_path / "renders.log"
        monkeypatch.setenv("HMWORLD_FAKE_UE_RENDERS", str(self.renders_log))
        monkeypatch.delenv("HMWORLD_FAKE_UE_FAULTS", raising=False)
        self.mode("ok")

    def mode(self, mode: str) -> None:
        self.monkeypatch.setenv("HMWORLD_FAKE_UE_MODE", mode)

    def config(self, **kw):
        kw.setdefault("ue_timeout", 60)
        kw.setdefault("ue_retries", 0)
        return make_config(self.project, kw.pop("assets", asset_map()), self.exe, **kw)

    def renders(self) -> list[tuple[str, str, str]]:
        """(editor pid, 'start' | 'done', clip id) for every render the fake editors began or completed."""
        if not self.renders_log.is_file():
            return []
        return [tuple(line.split("\t")) for line in self.renders_log.read_text().splitlines()]

    def runs(self) -> list[list[str]]:
        if not self.argv_log.is_file():
            return []
        return [line.split("\t") for line in self.argv_log.read_text().splitlines()]


@pytest.fixture
def editor(tmp_path, monkeypatch):
    return Editor(tmp_path, monkeypatch)
