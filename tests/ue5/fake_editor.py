"""Stands in for UnrealEditor-Cmd as far as the host driver can tell.

Invoked exactly like the real one:

    fake_editor.py Project.uproject -ExecutePythonScript=/path/render_batch.py -unattended ...

It checks the project file, prints editor-style log lines, runs the script on
the recording `unreal` stand-in (tests/ue5/fake_unreal) with __name__ ==
"__main__", then runs the editor loop until the script calls quit_editor().
Like the real editor it exits 0 even when the script raised, and it closes
by itself after the script returns unless the keep-alive flag was set (5.2+).

HMWORLD_FAKE_UE_MODE picks engine behaviour the script cannot control:
ok, crash, crash_once (needs HMWORLD_FAKE_UE_STATE), hang, hang_at_quit,
few_frames, offset_camera, mrq_error, no_python (ignores the script).
HMWORLD_FAKE_UE_ARGV, if set, names a file the pid and command line are appended to;
HMWORLD_FAKE_UE_STARTUP_S adds a start-up delay (benchmarks), HMWORLD_FAKE_UE_SHOT_S a render time per shot; HMWORLD_FAKE_UE_FAULTS injects per-clip
crashes and hangs (see the stand-in's _Engine.fault).
"""

from __future__ import annotations

import os
import runpy
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    if os.environ.get("HMWORLD_FAKE_UE_ARGV"):
        with open(os.environ["HMWORLD_FAKE_UE_ARGV"], "a", encoding="utf-8") as f:
            f.write("\t".join([str(os.getpid()), *argv]) + "\n")
    positional = [a for a in argv if not a.startswith("-")]
    if not positional or not positional[0].endswith(".uproject") or not Path(positional[0]).is_file():
        print("LogInit: Error: no project file on the command line", flush=True)
        return 1
    print(f"LogInit: Display: Running engine for project {positional[0]}", flush=True)
    time.sleep(float(os.environ.get("HMWORLD_FAKE_UE_STARTUP_S", "0")))  # a real editor's start-up, for benchmarks
    script = next((a.split("=", 1)[1] for a in argv if a.startswith("-ExecutePythonScript=")), None)
    mode = os.environ.get("HMWORLD_FAKE_UE_MODE", "ok")
    if mode == "no_python" or script is None:
        print("LogInit: Display: no Python script to run; exiting", flush=True)
        return 0
    script = script.strip('"')
    sys.path.insert(0, str(HERE / "fake_unreal"))
    import unreal  # the stand-in

    print(f"LogPython: Running {script}", flush=True)
    try:
        runpy.run_path(script, run_name="__main__")
    except Exception:
        # the editor logs script errors and keeps running
        print("LogPython: Error: " + traceback.format_exc(), flush=True)
    outcome = unreal._engine.run_loop(max_seconds=3600.0)
    if outcome == "loop_timeout":
        while True:  # an old editor (< 5.2) stays open until someone quits it
            time.sleep(1)
    print(f"LogExit: Exiting ({outcome}).", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
