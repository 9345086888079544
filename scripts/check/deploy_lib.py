"""Shared by scripts/check/container.py and scripts/check/k8s_check.py (standard library only):
README.md's configuration table, a Dockerfile parser, .dockerignore matching and small helpers.
"""
import fnmatch
import json
import os
import re
import shlex
from dataclasses import dataclass, field


# --- README.md's configuration table --------------------------------------------------------

@dataclass
class Settings:
    env: set      # KEEL_* variable names from the table's environment column
    yaml: set     # keel.yaml keys from the table's keel.yaml column


def readme_settings(root):
    """Reads every Markdown table whose header has an `environment` column."""
    env, keys = set(), set()
    env_col = yaml_col = None
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("|"):
                env_col = yaml_col = None
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            lowered = [c.lower() for c in cells]
            if "environment" in lowered:
                env_col = lowered.index("environment")
                yaml_col = lowered.index("keel.yaml") if "keel.yaml" in lowered else None
                continue
            if env_col is None or set(line) <= set("|-: "):
                continue
            if env_col < len(cells):
                env.update(re.findall(r"\bKEEL_[A-Z0-9_]+\b", cells[env_col]))
            if yaml_col is not None and yaml_col < len(cells):
                keys.update(k for k in re.findall(r"`([a-z][a-z0-9_]*)`", cells[yaml_col]))
    return Settings(env=env, yaml=keys)


# --- Dockerfile ---------------------------------------------------------------------------

@dataclass
class Instruction:
    line: int           # first line, 1-based
    cmd: str            # upper-case instruction
    flags: dict         # --name=value flags before the arguments (repeatable ones joined by \n)
    args: str           # the rest, as written (continuations joined)
    json: list = None   # the exec form, when the arguments are a JSON array


@dataclass
class Stage:
    index: int
    image: str
    name: str
    line: int
    instructions: list = field(default_factory=list)

    def all(self, cmd):
        return [i for i in self.instructions if i.cmd == cmd]

    def last(self, cmd):
        found = self.all(cmd)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    path: str
    global_args: dict
    stages: list

    def stage(self, ref):
        """A stage by name or index (as COPY --from names it), else None."""
        for s in self.stages:
            if s.name and s.name == ref.lower():
                return s
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None


FLAG = re.compile(r"--([a-z-]+)(?:=(\S*))?")


def _split_flags(text):
    flags = {}
    rest = text.lstrip()
    while rest.startswith("--"):
        m = FLAG.match(rest)
        if not m:
            break
        name, value = m.group(1), m.group(2) if m.group(2) is not None else "true"
        flags[name] = flags[name] + "\n" + value if name in flags else value
        rest = rest[m.end():].lstrip()
    return flags, rest


def parse_dockerfile(path):
    """Parses a Dockerfile into stages. Raises ValueError with a line number on a syntax error."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().splitlines()
    logical, start, buf = [], None, ""
    for n, line in enumerate(raw, 1):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue   # comments (also inside continuations) and blank lines
        if start is None:
            start = n
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        logical.append((start, buf.strip()))
        start, buf = None, ""
    if buf:
        raise ValueError(f"{path}:{start}: the last instruction ends in a line continuation")
    global_args, stages = {}, []
    for n, text in logical:
        word, _, rest = text.partition(" ")
        cmd = word.upper()
        if not re.fullmatch(r"[A-Z]+", cmd):
            raise ValueError(f"{path}:{n}: '{word}' is not an instruction")
        known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                 "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}
        if cmd not in known:
            raise ValueError(f"{path}:{n}: unknown instruction {cmd}")
        flags, rest = _split_flags(rest) if cmd in {"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"} else ({}, rest.strip())
        exec_form = None
        if rest.startswith("[") and cmd in {"CMD", "ENTRYPOINT", "RUN", "SHELL", "VOLUME", "COPY", "ADD"}:
            try:
                exec_form = json.loads(rest)
            except json.JSONDecodeError:
                exec_form = None   # Docker then treats it as the shell form
        ins = Instruction(n, cmd, flags, rest, exec_form)
        if cmd == "ARG" and not stages:
            name, _, value = rest.partition("=")
            global_args[name.strip()] = value.strip().strip('"')
            continue
        if cmd == "FROM":
            parts = expand(rest, global_args).split()
            if not parts:
                raise ValueError(f"{path}:{n}: FROM names no image")
            name = ""
            if len(parts) == 3 and parts[1].lower() == "as":
                name = parts[2].lower()
            elif len(parts) != 1:
                raise ValueError(f"{path}:{n}: FROM takes 'IMAGE [AS NAME]', got '{rest}'")
            stages.append(Stage(len(stages), parts[0], name, n))
            continue
        if not stages:
            raise ValueError(f"{path}:{n}: {cmd} before the first FROM")
        stages[-1].instructions.append(ins)
    if not stages:
        raise ValueError(f"{path}: no FROM instruction")
    return Dockerfile(path, global_args, stages)


def stage_env(stage):
    """ENV of a stage (both `ENV K=V ...` and the old `ENV K V`)."""
    env = {}
    for ins in stage.all("ENV"):
        text = ins.args
        if "=" not in text.split(" ", 1)[0]:
            k, _, v = text.partition(" ")
            env[k] = v.strip()
            continue
        for token in shlex.split(text):
            k, _, v = token.partition("=")
            env[k] = v
    return env


def expand(text, env):
    """Expands $VAR, ${VAR}, ${VAR:-default} and ${VAR-default} (what Dockerfiles and compose use)."""
    def sub(m):
        name = m.group(1) or m.group(2)
        op, default = m.group(3), m.group(4)
        value = env.get(name)
        if op == ":-" and not value:
            return default or ""
        if op == "-" and value is None:
            return default or ""
        if op in (":?", "?"):
            return value or ""
        return value or ""
    return re.sub(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^}]*))?\})", sub, text)


def shell_words(text):
    """The words of a shell command line, `&&`, `;` and `|` separated into their own words."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def apt_packages(stage):
    """Packages named by `apt-get install` / `apt install` in a stage's RUN instructions."""
    packages = []
    for ins in stage.all("RUN"):
        words = shell_words(ins.args if ins.json is None else " ".join(ins.json))
        i = 0
        while i < len(words):
            if words[i] in ("apt-get", "apt") and "install" in words[i + 1:i + 6]:
                j = words.index("install", i) + 1
                while j < len(words) and words[j] not in ("&&", ";", "||", "|", ")"):
                    w = words[j]
                    if not w.startswith("-"):
                        packages.append(w.split("=")[0])
                    j += 1
                i = j
            i += 1
    return packages


# --- .dockerignore ------------------------------------------------------------------------

def _pattern_regex(pattern):
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex over /-separated paths."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                out = out[:-2] + "(?:.*/)?"
                i += 1
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pattern.find("]", i)
            if j == -1:
                out += re.escape(c)
            else:
                out += "[" + pattern[i + 1:j].replace("!", "^", 1) + "]"
                i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + "(?:/.*)?$")   # a matching folder excludes everything under it


def dockerignore(root):
    """A predicate: is this context-relative path excluded by root/.dockerignore?"""
    rules = []
    path = os.path.join(root, ".dockerignore")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                negate = line.startswith("!")
                pattern = os.path.normpath(line[1:] if negate else line).lstrip("/")
                rules.append((negate, _pattern_regex(pattern)))

    def excluded(rel):
        rel = os.path.normpath(rel).lstrip("/")
        result = False
        for negate, regex in rules:
            if regex.match(rel):
                result = not negate
        return result
    return excluded


def context_files(root, rel, excluded):
    """Files under a context-relative path (itself, if a file) that .dockerignore lets through."""
    full = os.path.join(root, rel)
    if os.path.isfile(full):
        return [rel] if not excluded(rel) else []
    kept = []
    for dirpath, _, files in os.walk(full):
        for name in files:
            r = os.path.relpath(os.path.join(dirpath, name), root)
            if not excluded(r):
                kept.append(r)
    return kept


def glob_in(root, pattern):
    """Context-relative paths matching a COPY source pattern."""
    if not any(ch in pattern for ch in "*?["):
        return [pattern] if os.path.exists(os.path.join(root, pattern)) else []
    base = os.path.dirname(pattern)
    try:
        names = os.listdir(os.path.join(root, base))
    except OSError:
        return []
    return [os.path.join(base, n) for n in names if fnmatch.fnmatch(n, os.path.basename(pattern))]


def json_loads_or(text, default=None):
    """A JSON array's items as strings, or `default` ([text]) when it is not one."""
    try:
        value = json.loads(text)
        return [str(v) for v in value] if isinstance(value, list) else [text]
    except json.JSONDecodeError:
        return default if default is not None else [text]
