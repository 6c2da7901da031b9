"""An index of the engine's generated `unreal.py` stub (PyPI `unreal-stub`): classes, members, signatures.

The stub is not importable Python (some generated defaults are not valid
syntax), so it is read line by line: `class X(Bases):`, `def name(params)`
inside it (methods, with `@property` marking properties), `NAME: X = ...`
(enum values and class constants), and the docstring's
"- ``prop`` (Type): [Read-Write]" lines (editor properties). `make test`
installs the stubs under .venv/unreal-stubs/<engine version>/ (Makefile).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STUB_ROOT = Path(os.environ.get("HMWORLD_UNREAL_STUBS", REPO / ".venv" / "unreal-stubs"))
STUB_VERSIONS = {"5.5": "0.2.1", "5.6": "0.3"}  # engine version → unreal-stub release (5.5.4, 5.6.0)

_CLASS = re.compile(r"^class (\w+)\((.*)\):")
_METHOD = re.compile(r"^    def (\w+)\((.*)\)(?:\s*->.*)?:\s*$")
_FUNC = re.compile(r"^def (\w+)\((.*)\)(?:\s*->.*)?:\s*$")
_CONST = re.compile(r"^    ([A-Za-z_]\w*): [\w\[\], .']+?(?: = \.\.\.)?\s*(?:#.*)?$")
_EDITOR_PROP = re.compile(r"^    - ``(\w+)`` \(([^)]*)\)")


@dataclass(frozen=True)
class Param:
    name: str
    has_default: bool
    kind: str = ""  # "", "*" or "**"


@dataclass
class StubClass:
    name: str
    bases: list[str]
    methods: dict[str, list[list[Param]]] = field(default_factory=dict)
    attributes: set[str] = field(default_factory=set)  # properties, enum values, constants
    editor_properties: dict[str, str] = field(default_factory=dict)  # name → type text


@dataclass
class Stub:
    version: str
    classes: dict[str, StubClass]
    functions: dict[str, list[list[Param]]]

    def mro(self, cls: str) -> list[StubClass]:
        """The class and its stub ancestors, nearest first."""
        out, todo, seen = [], [cls], set()
        while todo:
            name = todo.pop(0)
            if name in seen or name not in self.classes:
                continue
            seen.add(name)
            out.append(self.classes[name])
            todo.extend(self.classes[name].bases)
        return out

    def has_member(self, cls: str, member: str) -> bool:
        return any(member in c.methods or member in c.attributes or member in c.editor_properties
                   for c in self.mro(cls))

    def signatures(self, cls: str, method: str) -> list[list[Param]] | None:
        for c in self.mro(cls):
            if method in c.methods:
                return c.methods[method]
        return None

    def editor_property(self, cls: str, prop: str) -> str | None:
        for c in self.mro(cls):
            if prop in c.editor_properties:
                return c.editor_properties[prop]
        return None


def _split_top(text: str) -> list[str]:
    """Split a parameter list at top-level commas (not inside brackets or quotes)."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_params(text: str, drop_first: bool) -> list[Param]:
    params = []
    for part in _split_top(text):
        kind = "**" if part.startswith("**") else "*" if part.startswith("*") else ""
        name = re.split(r"[:=]", part.lstrip("*"), maxsplit=1)[0].strip()
        head = part.split(":", 1)[0] if ":" in part else part
        has_default = "=" in part and ("=" in head or ":" in part)
        params.append(Param(name, has_default, kind))
    if drop_first and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params


def binds(params: list[Param], n_positional: int, keywords: list[str]) -> str | None:
    """None when a call with that many positional arguments and these keywords fits; else why not."""
    plain = [p for p in params if not p.kind]
    if n_positional > len(plain) and not any(p.kind == "*" for p in params):
        return f"{n_positional} positional arguments, the engine takes {len(plain)}"
    given = {p.name for p in plain[:n_positional]}
    for k in keywords:
        if k in given:
            return f"argument {k!r} given twice"
        if k not in {p.name for p in plain} and not any(p.kind == "**" for p in params):
            return f"no parameter {k!r} (the engine has {', '.join(p.name for p in plain) or 'none'})"
        given.add(k)
    missing = [p.name for p in plain if not p.has_default and p.name not in given]
    return f"missing {', '.join(missing)}" if missing else None


@lru_cache(maxsize=4)
def load_stub(version: str) -> Stub:
    path = STUB_ROOT / version / "unreal" / "unreal.py"
    classes: dict[str, StubClass] = {}
    functions: dict[str, list[list[Param]]] = {}
    current: StubClass | None = None
    property_next = setter_next = False
    with open(path, encoding="utf-8-sig") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = _CLASS.match(line)
            if m:
                bases = [re.sub(r"\[.*", "", b).strip() for b in _split_top(m.group(2))]
                current = classes.setdefault(m.group(1), StubClass(m.group(1), bases))
                continue
            if line.startswith("def "):
                current = None
                fm = _FUNC.match(line)
                if fm:
                    functions.setdefault(fm.group(1), []).append(parse_params(fm.group(2), False))
                continue
            if current is None:
                continue
            if line.strip() == "@property":
                property_next = True
                continue
            if re.fullmatch(r"\s*@\w+\.setter", line):
                setter_next = True
                continue
            mm = _METHOD.match(line)
            if mm:
                if property_next:
                    current.attributes.add(mm.group(1))
                elif not setter_next:
                    current.methods.setdefault(mm.group(1), []).append(parse_params(mm.group(2), True))
                property_next = setter_next = False
                continue
            if line.strip().startswith("@"):
                continue
            cm = _CONST.match(line)
            if cm:
                current.attributes.add(cm.group(1))
                continue
            em = _EDITOR_PROP.match(line)
            if em:
                current.editor_properties[em.group(1)] = em.group(2)
    return Stub(version, classes, functions)


def stubs_installed() -> bool:
    return all((STUB_ROOT / v / "unreal" / "unreal.py").is_file() for v in STUB_VERSIONS)
