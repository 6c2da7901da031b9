"""ue_scripts and the stand-in, checked against the engine's own generated Python stubs (UE 5.5.4, 5.6.0).

Three layers:

1. static: every `unreal.X`, `unreal.X.Y` and call on them in ue_scripts/*.py
   exists in each stub (or in API.md's Movie Render Queue list) and its
   arguments fit the stub's signature;
2. recorded: render_batch.py runs on the stand-in under that engine
   version's profile (so compat.py takes that version's branches) while
   every method call, editor property and argument list the scripts make is
   recorded by receiver type and checked against the stub;
3. the stand-in itself implements nothing a stub or the MRQ list lacks, and
   its version profiles agree with the stubs on every compat.py feature check.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import sys
from pathlib import Path

import pytest

from ue5.stubindex import STUB_VERSIONS, binds, load_stub, stubs_installed
from ue5.support import SCRIPTS, load_fake_unreal, run_script

if not stubs_installed():
    if os.environ.get("CI"):
        raise RuntimeError("unreal-stub is not installed under .venv/unreal-stubs; `make test` installs it")
    pytest.skip("unreal-stub not installed (run `make test`, which installs it into .venv/unreal-stubs)",
                allow_module_level=True)

VERSIONS = sorted(STUB_VERSIONS)
SCRIPT_FILES = sorted(SCRIPTS.glob("*.py"))


def mrq_list() -> dict[str, str]:
    """API.md's Movie Render Queue table: name → the engine source it was checked against."""
    names = {}
    for line in (SCRIPTS / "API.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"`[\w.]+`", cells[0]):
            names[cells[0].strip("`").removeprefix("unreal.")] = cells[1]
    return names


MRQ = mrq_list()
MRQ_CLASSES = {n for n in MRQ if "." not in n}


def test_the_mrq_list_names_an_engine_source_for_every_entry():
    assert len(MRQ_CLASSES) >= 14 and len(MRQ) >= 50
    for name, source in MRQ.items():
        assert re.search(r"\.(h|cpp|py)\b|`\w+`|\b[A-Z]\w+\b", source), (name, source)
        assert name.split(".")[0].startswith("MoviePipeline"), name
    for version in VERSIONS:  # and they really are absent from the stubs
        stub = load_stub(version)
        assert not MRQ_CLASSES & set(stub.classes), version


# --------------------------------------------------------------------------- 1. static


def _unreal_chain(node: ast.AST) -> list[str] | None:
    """`unreal.A.B` → ['A', 'B']; None if the expression does not start at the module."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "unreal" and parts:
        return parts[::-1]
    return None


def static_uses() -> tuple[set[tuple[str, ...]], list[tuple[list[str], int, list[str], str]], set[str]]:
    """(attribute chains, calls (chain, positional count, keywords, where), probed module names)."""
    chains, calls, probes = set(), [], set()
    for path in SCRIPT_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain = _unreal_chain(node)
                if chain:
                    chains.add(tuple(chain[:2]))
            if isinstance(node, ast.Call):
                fn = node.func
                if (isinstance(fn, ast.Name) and fn.id in ("getattr", "hasattr") and isinstance(node.args[0], ast.Name)
                        and node.args[0].id == "unreal" and isinstance(node.args[1], ast.Constant)):
                    probes.add(node.args[1].value)
                chain = _unreal_chain(fn)
                if chain and len(chain) <= 2 and not any(isinstance(a, ast.Starred) for a in node.args):
                    calls.append((chain, len(node.args), [k.arg for k in node.keywords if k.arg],
                                  f"{path.name}:{node.lineno}"))
    return chains, calls, probes


@pytest.mark.parametrize("version", VERSIONS)
def test_every_unreal_name_the_scripts_write_exists_in_the_engine_stub(version):
    stub = load_stub(version)
    chains, _, probes = static_uses()
    assert len(chains) > 40
    missing = []
    for chain in chains:
        top = chain[0]
        if top in MRQ_CLASSES:
            if len(chain) == 2 and f"{top}.{chain[1]}" not in MRQ and not stub.has_member("Object", chain[1]):
                missing.append(".".join(chain))
            continue
        if top not in stub.classes and top not in stub.functions:
            if top not in probes:  # a name only reached behind a feature check may be absent
                missing.append(top)
            continue
        if len(chain) == 2 and top in stub.classes and not stub.has_member(top, chain[1]):
            missing.append(".".join(chain))
    assert missing == [], f"not in the UE {version} stub nor in API.md's MRQ list"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_call_on_a_module_name_fits_the_stub_signature(version):
    stub = load_stub(version)
    _, calls, _ = static_uses()
    bad = []
    for chain, npos, kws, where in calls:
        if chain[0] in MRQ_CLASSES:
            continue
        if len(chain) == 1:
            sigs = stub.functions.get(chain[0]) or stub.signatures(chain[0], "__init__")
        else:
            sigs = stub.signatures(chain[0], chain[1])
        if not sigs:
            continue  # a struct with no generated constructor, or a probe-guarded name
        reasons = [binds(sig, npos, kws) for sig in sigs]
        if all(reasons):
            bad.append(f"{where}: unreal.{'.'.join(chain)}: {reasons[0]}")
    assert bad == []


# --------------------------------------------------------------------------- 2. recorded


def _record(fn, calls, member, is_cls):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        caller = sys._getframe(1).f_code.co_filename
        if Path(caller).parent == SCRIPTS:
            receiver = args[0] if is_cls else type(args[0])
            calls.append((receiver.__name__, member, len(args) - 1, sorted(kwargs), args[1] if
                          member in ("get_editor_property", "set_editor_property") else None))
        return fn(*args, **kwargs)

    return wrapper


def recorded_calls(tmp_path, monkeypatch, version):
    """Run render_batch.py on the stand-in under `version`'s profile; every call the scripts make."""
    calls = []

    def patch(fake):
        for name, obj in list(vars(fake).items()):
            if name.startswith("_") or not isinstance(obj, type) or obj.__module__ != fake.__name__:
                continue
            for attr, value in list(vars(obj).items()):
                if attr.startswith("_"):
                    continue
                if isinstance(value, classmethod):
                    setattr(obj, attr, classmethod(_record(value.__func__, calls, attr, True)))
                elif inspect.isfunction(value):
                    setattr(obj, attr, _record(value, calls, attr, False))

    _, _, status, outcome, *_ = run_script(tmp_path, monkeypatch, version, patch=patch)
    assert outcome == "quit" and status["success"], status.get("error")
    return calls


@pytest.mark.parametrize("version", VERSIONS)
def test_every_method_editor_property_and_argument_list_the_scripts_use_is_in_the_stub(tmp_path, monkeypatch,
                                                                                        version):
    stub = load_stub(version)
    calls = recorded_calls(tmp_path, monkeypatch, version)
    assert len({(c, m) for c, m, *_ in calls}) > 40
    bad = set()
    for cls, member, npos, kws, prop in calls:
        mrq = cls in MRQ_CLASSES
        if mrq and f"{cls}.{member}" in MRQ:
            continue
        owner = "Object" if mrq else cls
        sigs = stub.signatures(owner, member)
        if sigs is None:
            bad.add(f"{cls}.{member}: no such method in the UE {version} stub")
            continue
        reasons = [binds(sig, npos, kws) for sig in sigs]
        if all(reasons):
            bad.add(f"{cls}.{member}({npos} args, {kws}): {reasons[0]}")
        if prop is not None:
            if mrq:
                if f"{cls}.{prop}" not in MRQ:
                    bad.add(f"{cls}.{prop}: editor property not in API.md's MRQ list")
            elif stub.editor_property(cls, prop) is None:
                bad.add(f"{cls}.{prop}: no such editor property in the UE {version} stub")
    assert sorted(bad) == []


# --------------------------------------------------------------------------- 3. the stand-in


def test_the_stand_in_implements_only_names_a_stub_or_the_mrq_list_has():
    fake = load_fake_unreal("all")
    stubs = [load_stub(v) for v in VERSIONS]
    extra = []
    for name in sorted(fake._api_names()):
        if name.startswith("unreal."):
            top = name.removeprefix("unreal.")
            if top not in MRQ and not any(top in s.classes or top in s.functions for s in stubs):
                extra.append(name)
        else:
            cls, member = name.split(".", 1)
            if name in MRQ or (cls in MRQ_CLASSES and stubs[0].has_member("Object", member)):
                continue
            if not any(s.has_member(cls, member) for s in stubs):
                extra.append(name)
    assert extra == [], "the stand-in implements names no engine stub has"


# the object each compat.py feature check probes: local name → engine class
PROBED = {"subsystem_class": "LevelSequenceEditorSubsystem", "sequence": "LevelSequence",
          "section": "MovieSceneCameraCutSection", "lib": "LevelSequenceEditorBlueprintLibrary"}


def compat_feature_checks() -> set[tuple[str, str | None]]:
    """(class, member) for hasattr(x, "member"); (class, None) for getattr(unreal, "Class", None)."""
    checks = set()
    tree = ast.parse((SCRIPTS / "compat.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("hasattr", "getattr") and isinstance(node.args[0], ast.Name)):
            continue
        owner, member = node.args[0].id, node.args[1].value
        if owner == "unreal":
            checks.add((member, None))
        else:
            assert owner in PROBED, f"compat.py probes {owner!r}: say which engine class it is in PROBED"
            checks.add((PROBED[owner], member))
    return checks


@pytest.mark.parametrize("version", VERSIONS)
def test_the_stand_in_profile_agrees_with_the_stub_on_every_compat_feature_check(version):
    stub = load_stub(version)
    fake = load_fake_unreal(version)
    checks = compat_feature_checks()
    assert len(checks) >= 5
    for cls, member in sorted(checks, key=str):
        in_stub = cls in stub.classes if member is None else stub.has_member(cls, member)
        in_fake = hasattr(fake, cls) if member is None else hasattr(getattr(fake, cls), member)
        assert in_fake == in_stub, (cls, member, version)
    # set_play_rate's isinstance check: the play-rate property's type in this engine
    play_rate = stub.editor_property("MovieSceneSkeletalAnimationParams", "play_rate")
    fake_rate = fake.MovieSceneSkeletalAnimationParams().get_editor_property("play_rate")
    assert (play_rate == "float") == isinstance(fake_rate, float), (play_rate, fake_rate)
