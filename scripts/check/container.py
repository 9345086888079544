#!/usr/bin/env python3
"""Checks Keel's container assets without a Docker engine: deploy/docker/Dockerfile,
.dockerignore, deploy/compose.yaml and the files it mounts (nginx, Prometheus, Grafana), and the
`docker` commands shown in docs/deploy.md. Prints every problem found and exits 1 if there is any.

    python3 scripts/check/container.py --binary .build/debug/keel
    python3 scripts/check/container.py --selftest --binary .build/debug/keel

--binary is the keel binary whose `ldd` output the runtime stage's packages must cover (any
build works: Swift toolchain libraries count as covered when the Dockerfile builds with
--static-swift-stdlib, and the output says so). --skip-binary leaves that part out.
--selftest copies the assets into a temporary folder, breaks one thing at a time and asserts
that the check then fails with the expected reason. --docker also builds the image, runs it,
waits for /v2/health/ready, reads /metrics and stops it with SIGTERM (needs a Docker engine;
without one it fails saying so, and without --docker the output notes whether one answers).

Needs PyYAML: the script creates /tmp/keel-deploy-venv (python3 -m venv; python3-venv is
installed with apt-get when venv is missing) with PyYAML==6.0.2 the first time, and re-runs
itself there. The Debian side (`ldd`, `dpkg -S`, `dpkg-query`) is read off this machine, which
must be Debian bookworm like the image for the package names to carry over.
"""
import argparse
import copy
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile

VENV = os.environ.get("KEEL_DEPLOY_VENV", "/tmp/keel-deploy-venv")
PYYAML = "PyYAML==6.0.2"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def bootstrap():
    """Re-runs this script inside the private venv that has the pinned PyYAML."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    python = os.path.join(VENV, "bin", "python")
    wanted = PYYAML.split("==")[1]
    ok = os.path.exists(python) and subprocess.run(
        [python, "-c", f"import yaml, sys; sys.exit(yaml.__version__ != '{wanted}')"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not ok:
        print(f"[container] creating {VENV} with {PYYAML}", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], stdout=subprocess.DEVNULL).returncode != 0:
            # Debian's python3 has no venv/ensurepip without python3-venv.
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            if subprocess.run(["apt-get", "install", "-y", "-q", "python3-venv"], env=env, stdin=subprocess.DEVNULL).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL, check=True)
                subprocess.run(["apt-get", "install", "-y", "-q", "python3-venv"], env=env, stdin=subprocess.DEVNULL, check=True)
            subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PYYAML],
                       check=True, stdin=subprocess.DEVNULL)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


if __name__ == "__main__":
    bootstrap()

import yaml  # noqa: E402  (after the bootstrap on purpose)

sys.path.insert(0, HERE)
import deploy_lib as lib  # noqa: E402

DOCKERFILE = "deploy/docker/Dockerfile"
COMPOSE = "deploy/compose.yaml"
DOCS = "docs/deploy.md"
HTTP_PORT, GRPC_PORT = 8080, 8001
REQUEST_TIMEOUT_S = 30          # README: request_timeout_ms defaults to 30000
TOOLCHAIN_MARKERS = ("/usr/lib/swift/", "/opt/swift/")


class Report:
    def __init__(self):
        self.problems, self.notes = [], []

    def fail(self, area, message):
        self.problems.append(f"[{area}] {message}")

    def note(self, message):
        self.notes.append(message)


# --- Debian packages, read off this machine ---------------------------------------------

class Debian:
    """dpkg's view of this machine: which package owns a file, what packages depend on, and
    which packages debian:bookworm-slim already has (Priority: required, plus apt, and
    everything they depend on)."""

    def __init__(self):
        self.installed, self.provides = {}, {}
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Priority}\t${Pre-Depends}\t${Depends}\t${Provides}\t${db:Status-Abbrev}\n"],
            capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name, priority, pre, deps, provides, status = line.split("\t")
            if not status.startswith("ii"):
                continue
            self.installed[name] = (priority, pre + "," + deps)
            for p in provides.split(","):
                p = p.strip().split(" ")[0]
                if p:
                    self.provides.setdefault(p, name)
        self._apt = {}
        seeds = [n for n, (prio, _) in self.installed.items() if prio == "required"] + ["apt"]
        self.slim = self.closure(seeds)
        self.codename = ""
        try:
            with open("/etc/os-release") as f:
                self.codename = dict(l.strip().split("=", 1) for l in f if "=" in l).get("VERSION_CODENAME", "").strip('"')
        except OSError:
            pass

    def depends(self, name):
        """The Depends and Pre-Depends of a package (installed here, else from apt's lists), or None."""
        if name in self.installed:
            return self.installed[name][1]
        if name not in self._apt:
            r = subprocess.run(["apt-cache", "show", "--no-all-versions", name], capture_output=True, text=True)
            fields = {}
            if r.returncode == 0 and r.stdout.strip():
                for line in r.stdout.splitlines():
                    if ":" in line and not line.startswith(" "):
                        k, _, v = line.partition(":")
                        fields[k] = v.strip()
                self._apt[name] = fields.get("Pre-Depends", "") + "," + fields.get("Depends", "")
            else:
                self._apt[name] = None
        return self._apt[name]

    def known(self, name):
        return self.depends(name) is not None

    def closure(self, names):
        seen, stack = set(), list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            deps = self.depends(name)
            if deps is None:
                continue
            seen.add(name)
            for group in deps.split(","):
                alternatives = [a.strip().split(" ")[0].split(":")[0] for a in group.split("|") if a.strip()]
                # apt takes the first alternative that exists; prefer one installed here.
                pick = next((a for a in alternatives if a in self.installed), None)
                pick = pick or next((self.provides[a] for a in alternatives if a in self.provides), None)
                pick = pick or (alternatives[0] if alternatives else None)
                if pick:
                    stack.append(pick)
        return seen

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def owner(path):
        """The package that ships a file, trying the merged-/usr spellings too."""
        candidates = [path, os.path.realpath(path)]
        for p in list(candidates):
            if p.startswith("/usr/lib/") or p.startswith("/usr/lib64/"):
                candidates.append(p[len("/usr"):])
            elif p.startswith("/lib/") or p.startswith("/lib64/"):
                candidates.append("/usr" + p)
        for p in candidates:
            r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.split(":")[0].strip()
        return None


_DEBIAN = None


def debian():
    global _DEBIAN
    if _DEBIAN is None:
        _DEBIAN = Debian()
    return _DEBIAN


_LDD = {}


def ldd(binary):
    """(soname, resolved path or None) for every library the binary loads, direct or not."""
    if binary not in _LDD:
        r = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"ldd {binary} failed: {(r.stderr or r.stdout).strip()}")
        libs = []
        for line in r.stdout.splitlines():
            line = line.strip()
            m = re.match(r"(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))", line)
            if m:
                libs.append((m.group(1), None if m.group(2) == "not found" else m.group(3)))
            elif line.startswith("/"):
                libs.append((os.path.basename(line.split()[0]), line.split()[0]))   # the dynamic loader
        _LDD[binary] = libs
    return _LDD[binary]


# --- Dockerfile ---------------------------------------------------------------------------

def image_tag(image):
    """The tag of an image reference ('' when none; digests count as pinned)."""
    if "@" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def debian_codename(image):
    m = re.search(r"(bookworm|bullseye|trixie|buster|jammy|noble|focal)", image)
    return m.group(1) if m else ""


def check_dockerfile(root, report, binary):
    """Returns facts later checks use (runtime env, healthcheck, user, image)."""
    path = os.path.join(root, DOCKERFILE)
    facts = {"env": {}, "healthcheck": False, "uid": None}
    if not os.path.exists(path):
        report.fail("dockerfile", f"{DOCKERFILE} does not exist")
        return facts
    try:
        df = lib.parse_dockerfile(path)
    except ValueError as e:
        report.fail("dockerfile", f"does not parse: {e}")
        return facts
    settings = lib.readme_settings(root)
    excluded = lib.dockerignore(root)
    if len(df.stages) < 2:
        report.fail("dockerfile", f"expected a build stage and a runtime stage, found {len(df.stages)} stage(s)")
    names = [s.name for s in df.stages if s.name]
    for dup in {n for n in names if names.count(n) > 1}:
        report.fail("dockerfile", f"stage name '{dup}' is used twice")
    for s in df.stages:
        if not image_tag(s.image) or image_tag(s.image) == "latest":
            report.fail("dockerfile", f"line {s.line}: FROM {s.image} has no pinned tag")
    build, runtime = df.stages[0], df.stages[-1]
    if not build.image.startswith("swift:"):
        report.fail("dockerfile", f"line {build.line}: the build stage is FROM {build.image}, expected a swift: toolchain image")
    if not runtime.image.startswith("debian:") or not runtime.image.endswith("-slim"):
        report.fail("dockerfile", f"line {runtime.line}: the runtime stage is FROM {runtime.image}, expected debian:<release>-slim")
    if debian_codename(build.image) != debian_codename(runtime.image):
        report.fail("dockerfile", f"the build stage ({build.image}) and the runtime stage ({runtime.image}) are not the same "
                                  "Debian release: the binary would link libraries of another version")

    # COPY/ADD: --from names an earlier stage; context sources exist and survive .dockerignore.
    for s in df.stages:
        for ins in s.all("COPY") + s.all("ADD"):
            parts = ins.json if ins.json is not None else lib.shell_words(ins.args)
            if len(parts) < 2:
                report.fail("dockerfile", f"line {ins.line}: {ins.cmd} needs a source and a destination")
                continue
            sources, dest = parts[:-1], parts[-1]
            ref = ins.flags.get("from")
            if ref is not None:
                src_stage = df.stage(ref)
                if src_stage is None or src_stage.index >= s.index:
                    report.fail("dockerfile", f"line {ins.line}: COPY --from={ref} names no earlier stage "
                                              f"(stages: {', '.join(x.name or str(x.index) for x in df.stages[:s.index])})")
                    continue
                for src in sources:
                    if not produced_in(src_stage, src):
                        report.fail("dockerfile", f"line {ins.line}: COPY --from={ref} {src}: nothing in stage "
                                                  f"'{src_stage.name or src_stage.index}' writes {src}")
                continue
            for src in sources:
                if re.match(r"^[a-z]+://", src):
                    continue
                rel = os.path.normpath(src).lstrip("/")
                matches = lib.glob_in(root, rel)
                if not matches:
                    report.fail("dockerfile", f"line {ins.line}: COPY source '{src}' does not exist in the build context (the repository root)")
                    continue
                for m in matches:
                    if excluded(m) or not lib.context_files(root, m, excluded):
                        report.fail("dockerfile", f"line {ins.line}: COPY source '{src}' is excluded by .dockerignore")

    # The build: a release build of the keel product.
    builds = [i for i in build.all("RUN") if "swift build" in i.args]
    static = any("--static-swift-stdlib" in i.args or "--static-stdlib" in i.args for i in builds)
    facts["static"] = static
    if not builds:
        report.fail("dockerfile", "the build stage never runs `swift build`")
    for i in builds:
        if not re.search(r"(-c|--configuration)[ =]release", i.args):
            report.fail("dockerfile", f"line {i.line}: swift build is not a release build (-c release)")
        m = re.search(r"--product[ =](\S+)", i.args)
        products = products_of(root)
        if not m:
            report.fail("dockerfile", f"line {i.line}: swift build names no --product")
        elif m.group(1) not in products:
            report.fail("dockerfile", f"line {i.line}: --product {m.group(1)} is not an executable product of Package.swift ({', '.join(sorted(products))})")
    build_pkgs = set(lib.apt_packages(build))
    for lib_name, dev in system_link_libraries(root).items():
        if dev and dev not in build_pkgs:
            report.fail("dockerfile", f"the package links lib{lib_name} but the build stage does not install {dev}")

    # The runtime stage.
    env = lib.stage_env(runtime)
    facts["env"] = env
    for name in env:
        if name.startswith("KEEL_") and name not in settings.env:
            report.fail("dockerfile", f"ENV {name} is not a variable of README.md's configuration table")
    if env.get("KEEL_HOST") != "0.0.0.0":
        report.fail("dockerfile", f"ENV KEEL_HOST is '{env.get('KEEL_HOST', '')}': a container must listen on 0.0.0.0")
    runs = " && ".join(i.args for i in runtime.all("RUN"))
    data_dir = env.get("KEEL_DATA_DIR")
    if not data_dir:
        report.fail("dockerfile", "ENV KEEL_DATA_DIR is not set in the runtime stage")
    elif not (re.search(rf"mkdir[^&;]*\s{re.escape(data_dir)}(\s|$)", runs) and re.search(rf"chown[^&;]*\s{re.escape(data_dir)}(\s|$)", runs)):
        report.fail("dockerfile", f"the data folder {data_dir} is not created and given to the keel user (mkdir + chown) in the runtime stage")
    repo = env.get("KEEL_MODEL_REPOSITORY")
    copied_models = [c for c in runtime.all("COPY") if "from" not in c.flags and repo and
                     lib.shell_words(c.args)[-1].rstrip("/").startswith(repo.rstrip("/"))]
    if not repo:
        report.fail("dockerfile", "ENV KEEL_MODEL_REPOSITORY is not set in the runtime stage")
    elif not copied_models:
        report.fail("dockerfile", f"nothing is copied into the model repository {repo}")
    for c in copied_models:
        for src in lib.shell_words(c.args)[:-1]:
            if os.path.isdir(os.path.join(root, src)) and not is_model_dir(os.path.join(root, src)):
                report.fail("dockerfile", f"line {c.line}: {src} is not a model folder (<model>/<version>/model.*)")

    user = runtime.last("USER")
    if user is None:
        report.fail("dockerfile", "the runtime stage sets no USER: it would run as root")
    else:
        who = user.args.split(":")[0]
        uid = who if who.isdigit() else created_uid(runs, who)
        facts["uid"] = int(uid) if uid and uid.isdigit() else None
        if who in ("root", "0") or uid == "0":
            report.fail("dockerfile", f"line {user.line}: USER {user.args} is root")
        elif uid is None:
            report.fail("dockerfile", f"line {user.line}: USER {who} is not created (useradd/adduser) in the runtime stage")
    if runtime.last("WORKDIR") is None:
        report.fail("dockerfile", "the runtime stage sets no WORKDIR")

    exposed = set()
    for e in runtime.all("EXPOSE"):
        exposed.update(int(p.split("/")[0]) for p in e.args.split())
    for port in (HTTP_PORT, GRPC_PORT):
        if port not in exposed:
            report.fail("dockerfile", f"EXPOSE does not include {port} (exposed: {sorted(exposed) or 'none'})")

    installed = set(lib.apt_packages(runtime))
    hc = runtime.last("HEALTHCHECK")
    if hc is None or hc.args.strip().upper() == "NONE":
        report.fail("dockerfile", "the runtime stage has no HEALTHCHECK")
    else:
        facts["healthcheck"] = True
        text = hc.args[len("CMD"):].strip() if hc.args.upper().startswith("CMD") else hc.args
        text = " ".join(lib.json_loads_or(text)) if text.startswith("[") else text
        url = re.search(r"https?://([^/\s\"']+)(/[^\s\"']*)", lib.expand(text, env))
        if not url:
            report.fail("dockerfile", f"line {hc.line}: HEALTHCHECK requests no http:// URL: {hc.args}")
        else:
            hostport, hpath = url.group(1), url.group(2)
            if hpath != "/v2/health/live":
                report.fail("dockerfile", f"line {hc.line}: HEALTHCHECK path is {hpath}, expected /v2/health/live")
            if hostport != f"127.0.0.1:{HTTP_PORT}" and hostport != f"localhost:{HTTP_PORT}":
                report.fail("dockerfile", f"line {hc.line}: HEALTHCHECK asks {hostport}, expected 127.0.0.1:{HTTP_PORT}")
        tool = lib.shell_words(text)[0] if text else ""
        tool_pkg = {"curl": "curl", "wget": "wget"}.get(os.path.basename(tool))
        if tool_pkg and tool_pkg not in installed and tool_pkg not in debian().slim:
            report.fail("dockerfile", f"line {hc.line}: HEALTHCHECK runs {tool}, which the runtime stage does not install")
    stop = runtime.last("STOPSIGNAL")
    if stop is None or stop.args.strip() not in ("SIGTERM", "15", "TERM"):
        report.fail("dockerfile", f"STOPSIGNAL is {stop.args if stop else 'not set'}, expected SIGTERM (keel drains on it)")
    entry, cmd = runtime.last("ENTRYPOINT"), runtime.last("CMD")
    if entry is None or entry.json is None or os.path.basename(entry.json[0]) != "keel":
        report.fail("dockerfile", 'ENTRYPOINT should be the exec form ["keel"]')
    elif "/" not in entry.json[0]:
        on_path = any(lib.shell_words(c.args)[-1] in ("/usr/local/bin/keel", "/usr/bin/keel", "/usr/local/bin/", "/usr/bin/")
                      for c in runtime.all("COPY"))
        if not on_path:
            report.fail("dockerfile", "ENTRYPOINT runs keel from PATH but no COPY puts keel in /usr/local/bin or /usr/bin")
    if cmd is None or cmd.json != ["serve"]:
        report.fail("dockerfile", 'CMD should be ["serve"]')

    if binary:
        check_libraries(df, runtime, installed, static, binary, report)
    facts["image_codename"] = debian_codename(runtime.image)
    return facts


def produced_in(stage, path):
    """Does a stage write this path: named in a RUN, or under a COPY destination or WORKDIR?"""
    for ins in stage.instructions:
        if ins.cmd == "RUN" and path in ins.args:
            return True
        if ins.cmd in ("COPY", "ADD"):
            dest = lib.shell_words(ins.args)[-1]
            if path.startswith(dest.rstrip("/") + "/") or path == dest:
                return True
    return False


def products_of(root):
    with open(os.path.join(root, "Package.swift"), encoding="utf-8") as f:
        return set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', f.read()))


def system_link_libraries(root):
    """Libraries the package links from the system: module maps' `link` lines, and sqlite3
    when GRDB is a dependency. Maps each to the Debian -dev package providing it."""
    libs = set()
    for dirpath, _, files in os.walk(os.path.join(root, "Sources")):
        for name in files:
            if name == "module.modulemap":
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    libs.update(re.findall(r'link\s+"([^"]+)"', f.read()))
    with open(os.path.join(root, "Package.swift"), encoding="utf-8") as f:
        if "GRDB" in f.read():
            libs.add("sqlite3")
    out = {}
    for name in libs:
        dev = None
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
            if os.path.exists(f"{d}/lib{name}.so"):
                dev = Debian.owner(f"{d}/lib{name}.so")
                break
        out[name] = dev
    return out


def created_uid(runs, user):
    m = re.search(rf"(?:useradd|adduser)[^&;]*?(?:--uid|-u)[ =](\d+)[^&;]*\s{re.escape(user)}(\s|$)", runs)
    return m.group(1) if m else None


def is_model_dir(path):
    try:
        return any(v.isdigit() and any(f.startswith("model.") for f in os.listdir(os.path.join(path, v)))
                   for v in os.listdir(path) if os.path.isdir(os.path.join(path, v)))
    except OSError:
        return False


def check_libraries(df, runtime, installed, static, binary, report):
    """Every shared library the binary loads must be in debian:bookworm-slim, come with a
    package the runtime stage installs (or one of their dependencies), or be a Swift toolchain
    library that --static-swift-stdlib links in."""
    deb = debian()
    if deb.codename and deb.codename != debian_codename(runtime.image):
        report.note(f"this machine is Debian {deb.codename}, the image {runtime.image}: package names are mapped approximately")
    try:
        libs = ldd(binary)
    except RuntimeError as e:
        report.fail("libraries", str(e))
        return
    for pkg in installed:
        if not deb.known(pkg):
            report.fail("libraries", f"the runtime stage installs '{pkg}', which neither dpkg nor apt here knows (misspelt, or not in Debian?)")
    covered = deb.closure(installed) | deb.slim
    copied = " ".join(c.args for c in runtime.all("COPY"))
    toolchain, checked = [], 0
    for soname, path in libs:
        if soname.startswith("linux-vdso") or soname.startswith("linux-gate"):
            continue
        if path is None:
            report.fail("libraries", f"{soname}: ldd finds no such library for {binary}")
            continue
        if any(m in path for m in TOOLCHAIN_MARKERS):
            toolchain.append(soname)
            if not static and soname not in copied:
                report.fail("libraries", f"{soname} ({path}) is a Swift toolchain library: build with --static-swift-stdlib "
                                         "or copy it into the runtime stage")
            continue
        checked += 1
        pkg = Debian.owner(path)
        if pkg is None:
            if soname not in copied:
                report.fail("libraries", f"{soname} ({path}) belongs to no Debian package and is not copied into the image")
            continue
        if pkg not in covered:
            report.fail("libraries", f"{soname} ({path}) comes from the Debian package {pkg}, which the runtime stage "
                                     "does not install and debian:bookworm-slim does not have")
    if toolchain and static:
        report.note(f"{len(toolchain)} Swift toolchain libraries that {os.path.basename(binary)} loads dynamically "
                    f"({', '.join(sorted(toolchain)[:4])}, ...) count as covered: the Dockerfile builds with "
                    "--static-swift-stdlib, which links the Swift runtime and Foundation into the binary. The system "
                    "libraries they need (libcurl for FoundationNetworking, ...) are still checked like any other.")
    report.note(f"{checked} system libraries of {binary} checked against the runtime packages "
                f"({', '.join(sorted(installed))}) and debian:bookworm-slim ({len(deb.slim)} packages: Priority "
                "required, apt, and their dependencies, as dpkg here records them)")


# --- compose ------------------------------------------------------------------------------

def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v if "=" in str(item) else None
        return out
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def mounts_of(service):
    """(source, target, kind) for each volume of a service; kind is bind or volume."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source", ""), v.get("target", ""), v.get("type", "volume")))
            continue
        parts = str(v).split(":")
        if len(parts) == 1:
            out.append(("", parts[0], "volume"))
            continue
        src, dst = parts[0], parts[1]
        out.append((src, dst, "bind" if src.startswith((".", "/", "~")) else "volume"))
    return out


def seconds(duration):
    """Compose durations (40s, 1m30s, 500ms) in seconds."""
    total, text = 0.0, str(duration)
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


def parse_nginx(text):
    """upstream name -> [host:port], and the (listen ports, http2, pass directives) of each server block."""
    text = re.sub(r"#[^\n]*", "", text)
    upstreams = {m.group(1): re.findall(r"\bserver\s+([^\s;]+)", m.group(2))
                 for m in re.finditer(r"upstream\s+(\S+)\s*\{([^}]*)\}", text)}
    servers, depth, start = [], 0, None
    for m in re.finditer(r"\bserver\s*\{|\{|\}", text):
        tok = m.group(0)
        if tok != "}" and tok.startswith("server") and start is None:
            start, depth = m.end(), 1
        elif start is not None:
            depth += 1 if tok.endswith("{") else -1
            if depth == 0:
                body = text[start:m.start()]
                servers.append({
                    "listen": [int(p) for p in re.findall(r"\blisten\s+(?:[\d.]+:)?(\d+)", body)],
                    "http2": bool(re.search(r"\bhttp2\s+on\s*;|\blisten\s+[^;]*\bhttp2\b", body)),
                    "proxy_pass": re.findall(r"\bproxy_pass\s+https?://([^/\s;]+)", body),
                    "grpc_pass": re.findall(r"\bgrpc_pass\s+(?:grpcs?://)?([^/\s;]+)", body),
                })
                start = None
    return upstreams, servers


def host_path(compose_dir, service, container_path):
    """The repository path bind-mounted at a container path, or None."""
    best = None
    for src, dst, kind in mounts_of(service):
        if kind != "bind":
            continue
        dst = dst.rstrip("/")
        if container_path == dst or container_path.startswith(dst + "/"):
            if best is None or len(dst) > len(best[1]):
                best = (src, dst)
    if best is None:
        return None
    return os.path.normpath(os.path.join(compose_dir, best[0], os.path.relpath(container_path, best[1])))


def check_compose(root, report, facts):
    path = os.path.join(root, COMPOSE)
    if not os.path.exists(path):
        report.fail("compose", f"{COMPOSE} does not exist")
        return {}
    cdir = os.path.dirname(path)
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        report.fail("compose", f"does not parse: {e}")
        return {}
    services = doc.get("services") or {}
    declared_volumes = set((doc.get("volumes") or {}).keys())
    settings = lib.readme_settings(root)
    if not services:
        report.fail("compose", "no services")
        return {}

    keel_images, replicas = set(), []
    for name, svc in services.items():
        svc = svc or {}
        build, image = svc.get("build"), svc.get("image")
        if not build and not image:
            report.fail("compose", f"service {name} has neither image nor build")
        if image and (not image_tag(image) or image_tag(image) == "latest"):
            report.fail("compose", f"service {name}: image {image} has no pinned tag")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            ctx = os.path.normpath(os.path.join(cdir, context))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not os.path.isdir(ctx):
                report.fail("compose", f"service {name}: build context {context} does not exist")
            elif not os.path.exists(os.path.join(ctx, dockerfile)):
                report.fail("compose", f"service {name}: build dockerfile {dockerfile} does not exist in {context}")
            elif os.path.normpath(os.path.join(ctx, dockerfile)) == os.path.normpath(os.path.join(root, DOCKERFILE)):
                replicas.append(name)
                if image:
                    keel_images.add(image)
        for src, dst, kind in mounts_of(svc):
            if kind == "bind":
                if not os.path.exists(os.path.normpath(os.path.join(cdir, src))):
                    report.fail("compose", f"service {name}: bind mount {src} does not exist (relative to {COMPOSE})")
            elif src and src not in declared_volumes:
                report.fail("compose", f"service {name}: volume {src} is not declared under top-level volumes")
        deps = svc.get("depends_on") or {}
        deps = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for dep, spec in deps.items():
            if dep not in services:
                report.fail("compose", f"service {name} depends on {dep}, which is not a service")
                continue
            cond = (spec or {}).get("condition", "service_started")
            if cond not in ("service_started", "service_healthy", "service_completed_successfully"):
                report.fail("compose", f"service {name}: depends_on {dep} has an unknown condition {cond}")
            if cond == "service_healthy" and not has_healthcheck(services[dep], dep in replicas, facts):
                report.fail("compose", f"service {name} waits for {dep} to be healthy, but {dep} has no healthcheck")
    for key in ("configs", "secrets"):
        for ref, spec in (doc.get(key) or {}).items():
            if isinstance(spec, dict) and spec.get("file") and not os.path.exists(os.path.join(cdir, spec["file"])):
                report.fail("compose", f"{key} {ref}: file {spec['file']} does not exist")
    for name, svc in services.items():
        if name not in replicas and (svc or {}).get("image") in keel_images:
            replicas.append(name)

    # The Keel replicas: one secret, one database, one data volume.
    if len(replicas) < 2:
        report.fail("compose", f"expected two or more keel replicas built from {DOCKERFILE}, found {replicas or 'none'}")
    envs = {r: env_of(services[r]) for r in replicas}
    for r, env in envs.items():
        for k in env:
            if k.startswith("KEEL_") and k not in settings.env:
                report.fail("compose", f"service {r}: {k} is not a variable of README.md's configuration table")
    for key, minimum in (("KEEL_SECRET", 32), ("KEEL_DATABASE_URL", 0), ("KEEL_ADMIN_KEY", 16)):
        values = {r: env.get(key) for r, env in envs.items()}
        missing = [r for r, v in values.items() if not v]
        if missing and key != "KEEL_ADMIN_KEY":
            report.fail("compose", f"{key} is not set on replica(s) {', '.join(missing)}; every replica needs the same one")
        present = {v for v in values.values() if v}
        if len(present) > 1:
            report.fail("compose", f"{key} differs between the replicas ({', '.join(sorted(values))}): it must be the same on every one")
        for v in present:
            resolved = lib.expand(v, {})
            if minimum and len(resolved.encode()) < minimum:
                report.fail("compose", f"{key} resolves to {len(resolved.encode())} bytes without the environment; it needs {minimum}+")
    for r, env in envs.items():
        url = lib.expand(env.get("KEEL_DATABASE_URL") or "", {})
        m = re.match(r"postgres(?:ql)?://(?:[^@/]*@)?([^:/?]+)", url)
        if not m:
            if url:
                report.fail("compose", f"service {r}: KEEL_DATABASE_URL is not a postgres:// URL")
            continue
        host = m.group(1)
        if host not in services:
            report.fail("compose", f"service {r}: KEEL_DATABASE_URL names host {host}, which is not a compose service")
        elif not str(services[host].get("image", "")).startswith("postgres"):
            report.fail("compose", f"service {r}: KEEL_DATABASE_URL names {host}, which does not run a postgres image")
        deps = services[r].get("depends_on") or {}
        if isinstance(deps, list) or (deps.get(host) or {}).get("condition") != "service_healthy":
            report.fail("compose", f"service {r} does not wait for {host} to be healthy (depends_on condition service_healthy)")
    data_mounts = {}
    for r in replicas:
        data_dir = envs[r].get("KEEL_DATA_DIR") or facts.get("env", {}).get("KEEL_DATA_DIR", "/var/lib/keel")
        srcs = [src for src, dst, kind in mounts_of(services[r]) if dst.rstrip("/") == data_dir.rstrip("/") and src]
        if not srcs:
            report.fail("compose", f"service {r} mounts no volume at its data folder {data_dir}")
        data_mounts[r] = srcs[0] if srcs else None
        if not has_healthcheck(services[r], True, facts):
            report.fail("compose", f"service {r} has no healthcheck")
        hc = (services[r].get("healthcheck") or {}).get("test")
        if hc:
            text = " ".join(hc) if isinstance(hc, list) else str(hc)
            m = re.search(r"https?://[^/\s]+(/\S*)", text)
            if not m or m.group(1) not in ("/v2/health/ready", "/v2/health/live"):
                report.fail("compose", f"service {r}: healthcheck does not probe /v2/health/ready or /v2/health/live: {text}")
        grace = services[r].get("stop_grace_period")
        if grace is None or seconds(grace) <= REQUEST_TIMEOUT_S:
            report.fail("compose", f"service {r}: stop_grace_period is {grace or '10s (the default)'}; draining needs more "
                                   f"than the {REQUEST_TIMEOUT_S} s request timeout")
    if len(set(data_mounts.values())) > 1 or None in data_mounts.values():
        report.fail("compose", f"the replicas do not share one data volume ({', '.join(f'{k}: {v}' for k, v in data_mounts.items())}): "
                               "model artifacts and batch files live in the data folder")

    check_proxy(cdir, services, replicas, report)
    check_prometheus(cdir, services, replicas, report)
    check_grafana(cdir, services, report)
    return {"services": services, "keel_images": keel_images, "replicas": replicas}


def has_healthcheck(service, built_from_dockerfile, facts):
    hc = (service or {}).get("healthcheck")
    if hc:
        return not hc.get("disable") and bool(hc.get("test")) and hc.get("test") != ["NONE"]
    return built_from_dockerfile and facts.get("healthcheck", False)


def check_proxy(cdir, services, replicas, report):
    proxies = [n for n, s in services.items() if re.match(r"(nginx|haproxy)(:|$)", str((s or {}).get("image", "")).split("/")[-1])]
    if not proxies:
        report.fail("proxy", "no nginx or haproxy service in front of the replicas")
        return
    name = proxies[0]
    svc = services[name]
    conf = host_path(cdir, svc, "/etc/nginx/nginx.conf")
    if conf is None or not os.path.exists(conf):
        report.fail("proxy", f"service {name}: no nginx.conf from the repository is mounted at /etc/nginx/nginx.conf")
        return
    with open(conf, encoding="utf-8") as f:
        upstreams, servers = parse_nginx(f.read())
    for up, members in upstreams.items():
        for member in members:
            host = member.split(":")[0]
            if host not in services:
                report.fail("proxy", f"upstream {up}: server {member} is not a compose service")
    for kind, port in (("proxy_pass", HTTP_PORT), ("grpc_pass", GRPC_PORT)):
        used = [u for s in servers for u in s[kind]]
        if not used:
            report.fail("proxy", f"no server block uses {kind}")
        for u in used:
            if u not in upstreams:
                report.fail("proxy", f"{kind} {u} names no upstream block")
                continue
            for r in replicas:
                if f"{r}:{port}" not in upstreams[u]:
                    report.fail("proxy", f"upstream {u} ({kind}) does not name replica {r} on port {port}")
    for s in servers:
        if s["grpc_pass"] and not s["http2"]:
            report.fail("proxy", f"the gRPC server block (listen {s['listen']}) does not turn on http2")
    listening = {p for s in servers for p in s["listen"]}
    for p in svc.get("ports") or []:
        target = int(str(p).split(":")[-1].split("/")[0])
        if target not in listening:
            report.fail("proxy", f"service {name} publishes container port {target}, on which nginx does not listen")


def check_prometheus(cdir, services, replicas, report):
    proms = [n for n, s in services.items() if "prom/prometheus" in str((s or {}).get("image", ""))]
    if not proms:
        report.fail("prometheus", "no prom/prometheus service")
        return
    name = proms[0]
    svc = services[name]
    command = svc.get("command") or []
    command = command.split() if isinstance(command, str) else command
    cfg_path = next((c.split("=", 1)[1] for c in command if str(c).startswith("--config.file=")), "/etc/prometheus/prometheus.yml")
    cfg = host_path(cdir, svc, cfg_path)
    if cfg is None or not os.path.exists(cfg):
        report.fail("prometheus", f"service {name}: {cfg_path} is not mounted from a file of the repository")
        return
    with open(cfg, encoding="utf-8") as f:
        conf = yaml.safe_load(f) or {}
    jobs, scraped = set(), {}
    for job in conf.get("scrape_configs") or []:
        jobs.add(job.get("job_name"))
        for sc in job.get("static_configs") or []:
            for target in sc.get("targets") or []:
                host, _, port = str(target).partition(":")
                if host not in services and host not in ("localhost", "127.0.0.1"):
                    report.fail("prometheus", f"job {job.get('job_name')}: target {target} is not a compose service")
                if host in replicas:
                    scraped[host] = (port, job.get("metrics_path", "/metrics"))
    for r in replicas:
        if r not in scraped:
            report.fail("prometheus", f"replica {r} is not scraped")
        elif scraped[r] != (str(HTTP_PORT), "/metrics"):
            report.fail("prometheus", f"replica {r} is scraped at :{scraped[r][0]}{scraped[r][1]}, expected :{HTTP_PORT}/metrics")
    rule_dir_container = os.path.dirname(cfg_path)
    for rf in conf.get("rule_files") or []:
        container = rf if rf.startswith("/") else os.path.join(rule_dir_container, rf)
        host = host_path(cdir, svc, container)
        matches = lib.glob_in("/", host.lstrip("/")) if host else []
        if not matches:
            report.fail("prometheus", f"rule_files entry {rf} ({container} in the container) matches no file of the repository")
        for m in matches:
            with open("/" + m.lstrip("/"), encoding="utf-8") as f:
                for job in set(re.findall(r'job\s*=\s*"([^"]+)"', f.read())):
                    if job not in jobs:
                        report.fail("prometheus", f"{os.path.basename(m)} selects job=\"{job}\", which prometheus.yml does not scrape")


def check_grafana(cdir, services, report):
    grafs = [n for n, s in services.items() if "grafana/grafana" in str((s or {}).get("image", ""))]
    if not grafs:
        report.fail("grafana", "no grafana/grafana service")
        return
    svc = services[grafs[0]]
    prov = host_path(cdir, svc, "/etc/grafana/provisioning")
    if prov is None or not os.path.isdir(prov):
        report.fail("grafana", "/etc/grafana/provisioning is not mounted from a folder of the repository")
        return
    uids = set()
    ds_dir = os.path.join(prov, "datasources")
    for fname in sorted(os.listdir(ds_dir)) if os.path.isdir(ds_dir) else []:
        with open(os.path.join(ds_dir, fname), encoding="utf-8") as f:
            for ds in (yaml.safe_load(f) or {}).get("datasources") or []:
                uids.add(ds.get("uid"))
                m = re.match(r"https?://([^:/]+)(?::(\d+))?", str(ds.get("url", "")))
                if not m or m.group(1) not in services:
                    report.fail("grafana", f"data source {ds.get('name')}: url {ds.get('url')} does not name a compose service")
                elif ds.get("type") == "prometheus" and m.group(2) != "9090":
                    report.fail("grafana", f"data source {ds.get('name')}: Prometheus listens on 9090, the url says {m.group(2)}")
    if not uids:
        report.fail("grafana", "no data source is provisioned (provisioning/datasources/*.yml)")
    db_dir = os.path.join(prov, "dashboards")
    providers = []
    for fname in sorted(os.listdir(db_dir)) if os.path.isdir(db_dir) else []:
        with open(os.path.join(db_dir, fname), encoding="utf-8") as f:
            providers += (yaml.safe_load(f) or {}).get("providers") or []
    if not providers:
        report.fail("grafana", "no dashboard provider is provisioned (provisioning/dashboards/*.yml)")
    for p in providers:
        path = (p.get("options") or {}).get("path", "")
        folder = host_path(cdir, svc, path)
        if folder is None or not os.path.isdir(folder):
            report.fail("grafana", f"dashboard provider {p.get('name')}: {path} is not mounted from a folder of the repository")
            continue
        files = [f for f in os.listdir(folder) if f.endswith(".json")]
        if not files:
            report.fail("grafana", f"dashboard provider {p.get('name')}: {os.path.relpath(folder, os.path.dirname(cdir))} holds no .json dashboard")
        for fname in files:
            with open(os.path.join(folder, fname), encoding="utf-8") as f:
                for uid in set(re.findall(r'"datasource"\s*:\s*\{[^}]*"uid"\s*:\s*"([^"]+)"', f.read())):
                    if not uid.startswith("$") and uid not in uids and uid not in ("-- Grafana --", "grafana"):
                        report.fail("grafana", f"{fname} uses data source uid {uid}, which is not provisioned ({', '.join(sorted(map(str, uids)))})")


# --- docs/deploy.md -----------------------------------------------------------------------

RUN_VALUE_OPTS = {"-p", "--publish", "-v", "--volume", "-e", "--env", "--env-file", "--name", "--mount", "--network",
                  "-w", "--workdir", "-u", "--user", "--entrypoint", "--stop-timeout", "--tmpfs", "--memory", "-m",
                  "--cpus", "--health-cmd", "--label", "-l", "--platform", "--restart", "--stop-signal", "-h", "--hostname"}


def docker_commands(root):
    path = os.path.join(root, DOCS)
    if not os.path.exists(path):
        return None
    cmds, in_sh, buf, start = [], False, "", 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if s.startswith("```"):
                in_sh = (not in_sh) and s[3:].strip() in ("sh", "bash", "shell", "console")
                continue
            if not in_sh:
                continue
            if s.startswith("$ "):
                s = s[2:]
            if not buf:
                start = n
            if s.endswith("\\"):
                buf += s[:-1] + " "
                continue
            buf += s
            if re.match(r"^(sudo\s+)?docker\s", buf):
                cmds.append((start, re.sub(r"^sudo\s+", "", buf)))
            buf = ""
    return cmds


def check_docs(root, report, compose):
    cmds = docker_commands(root)
    if cmds is None:
        report.fail("docs", f"{DOCS} does not exist")
        return
    if not cmds:
        report.fail("docs", f"{DOCS} shows no docker command in a ```sh block")
    services = compose.get("services", {})
    built_tags, run_images, names = set(), [], set()
    for n, cmd in cmds:
        words = lib.shell_words(cmd.split("#")[0])
        words = words[:next((i for i, w in enumerate(words) if w in ("&&", ";", "|", "||")), len(words))]
        if len(words) < 2:
            continue
        sub = words[1]
        if sub in ("build", "buildx"):
            rest = words[2:] if sub == "build" else words[3:]
            positional, i = [], 0
            while i < len(rest):
                w = rest[i]
                if w in ("-f", "--file"):
                    if not os.path.exists(os.path.join(root, rest[i + 1])):
                        report.fail("docs", f"{DOCS}:{n}: docker build -f {rest[i + 1]}: no such file")
                    i += 2
                    continue
                if w in ("-t", "--tag"):
                    built_tags.add(rest[i + 1])
                    i += 2
                    continue
                if w.startswith("--") and "=" not in w and w not in ("--no-cache", "--pull", "--load", "--push", "-q", "--quiet"):
                    i += 2
                    continue
                if not w.startswith("-"):
                    positional.append(w)
                i += 1
            for ctx in positional:
                if not os.path.isdir(os.path.join(root, ctx)):
                    report.fail("docs", f"{DOCS}:{n}: docker build context {ctx} is not a folder of the repository")
        elif sub == "run":
            rest, i, image = words[2:], 0, None
            while i < len(rest):
                w = rest[i]
                if w in RUN_VALUE_OPTS:
                    value = rest[i + 1] if i + 1 < len(rest) else ""
                    if w in ("-v", "--volume") and value.split(":")[0].startswith((".", "/")):
                        if not os.path.exists(os.path.join(root, value.split(":")[0])):
                            report.fail("docs", f"{DOCS}:{n}: docker run -v {value}: {value.split(':')[0]} does not exist")
                    if w == "--env-file" and not os.path.exists(os.path.join(root, value)):
                        report.fail("docs", f"{DOCS}:{n}: --env-file {value} does not exist")
                    if w in ("-e", "--env") and value.startswith("KEEL_"):
                        var = value.split("=")[0]
                        if var not in lib.readme_settings(root).env:
                            report.fail("docs", f"{DOCS}:{n}: -e {var} is not a variable of README.md's configuration table")
                    if w == "--name":
                        names.add(value)
                    i += 2
                    continue
                if w.startswith("-"):
                    i += 1
                    continue
                image = w
                break
            if image is None:
                report.fail("docs", f"{DOCS}:{n}: docker run names no image")
            else:
                run_images.append((n, image))
        elif sub == "compose":
            rest, files, i = words[2:], [], 0
            while i < len(rest) and rest[i].startswith("-"):
                if rest[i] in ("-f", "--file", "-p", "--project-name", "--project-directory", "--env-file", "--profile"):
                    if rest[i] in ("-f", "--file"):
                        files.append(rest[i + 1])
                    i += 2
                else:
                    i += 1
            if not files:
                report.fail("docs", f"{DOCS}:{n}: docker compose without -f {COMPOSE} finds no compose file at the repository root")
            for f in files:
                if not os.path.exists(os.path.join(root, f)):
                    report.fail("docs", f"{DOCS}:{n}: docker compose -f {f}: no such file")
            if i < len(rest):
                verb, args = rest[i], rest[i + 1:]
                if verb in ("logs", "exec", "restart", "stop", "start", "kill", "ps", "up", "top", "rm", "pause", "unpause"):
                    for a in args:
                        if a.startswith("-"):
                            continue
                        if a not in services:
                            report.fail("docs", f"{DOCS}:{n}: docker compose {verb} {a}: {a} is not a service of {COMPOSE}")
                        if verb == "exec":
                            break
        elif sub in ("stop", "logs", "exec", "rm", "kill", "inspect"):
            targets = [w for w in words[2:] if not w.startswith("-") and not re.fullmatch(r"\d+", w)]
            if targets and targets[0] not in names and sub != "inspect":
                report.fail("docs", f"{DOCS}:{n}: docker {sub} {targets[0]}: no docker run in {DOCS} starts a container of that --name")
    for n, image in run_images:
        if image not in built_tags and image not in {s.get("image") for s in services.values() if s}:
            report.fail("docs", f"{DOCS}:{n}: docker run {image}: no docker build -t in {DOCS} makes that image "
                                f"(built: {', '.join(sorted(built_tags)) or 'none'})")
    for tag in compose.get("keel_images", set()):
        if built_tags and tag not in built_tags:
            report.fail("docs", f"{COMPOSE} runs the keel image {tag}, but {DOCS} builds {', '.join(sorted(built_tags))}")


# --- main, self-test ----------------------------------------------------------------------

def run_checks(root, binary):
    report = Report()
    facts = check_dockerfile(root, report, binary)
    compose = check_compose(root, report, facts)
    check_docs(root, report, compose)
    return report


def print_report(report):
    for n in report.notes:
        print(f"note: {n}")
    if report.problems:
        print(f"container check: {len(report.problems)} problem(s)")
        for p in report.problems:
            print(f"  - {p}")
    else:
        print("container check: no problems (Dockerfile, .dockerignore, compose.yaml and what it mounts, docs/deploy.md)")


COPIED = [DOCKERFILE, ".dockerignore", COMPOSE, "deploy/compose", "deploy/prometheus", "deploy/grafana/provisioning",
          DOCS, "README.md", "Package.swift", "models"]
LINKED = ["Sources", "Tests", "deploy/grafana/dashboards"]


def selftest(binary):
    def edit(rel, old, new):
        def apply(root):
            p = os.path.join(root, rel)
            with open(p, encoding="utf-8") as f:
                text = f.read()
            assert old in text, f"self-test is stale: '{old}' is not in {rel}"
            with open(p, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
        return apply

    def compose_edit(change):
        def apply(root):
            p = os.path.join(root, COMPOSE)
            with open(p, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            change(doc["services"])
            with open(p, "w", encoding="utf-8") as f:
                yaml.safe_dump(doc, f, sort_keys=False)
        return apply

    def drop_env(service, key):
        def change(services):
            services[service] = copy.deepcopy(services[service])
            del services[service]["environment"][key]
        return change

    def remove(rel):
        return lambda root: shutil.rmtree(os.path.join(root, rel)) if os.path.isdir(os.path.join(root, rel)) else os.remove(os.path.join(root, rel))

    def own_volume(services):
        services["keel-2"] = copy.deepcopy(services["keel-2"])
        services["keel-2"]["volumes"] = ["keel-data-2:/var/lib/keel"]

    def grace(services):
        services["keel-1"] = copy.deepcopy(services["keel-1"])
        services["keel-1"]["stop_grace_period"] = "10s"

    cases = [
        ("a COPY source removed from the repository", remove("models/churn"), "COPY source 'models/churn' does not exist"),
        ("a COPY source excluded by .dockerignore", edit(".dockerignore", "deploy\n", "deploy\nSources\n"),
         "COPY source 'Sources' is excluded by .dockerignore"),
        ("COPY --from a stage that does not exist", edit(DOCKERFILE, "--from=build", "--from=builder"), "COPY --from=builder names no earlier stage"),
        ("the runtime library package libsqlite3-0 dropped", edit(DOCKERFILE, "libcurl4 libsqlite3-0 \\", "libcurl4 \\"),
         "comes from the Debian package libsqlite3-0, which the runtime stage does not install"),
        ("a misspelt runtime package", edit(DOCKERFILE, "libcurl4 libsqlite3-0 \\", "libcurl4 libsqlite3-O \\"), "installs 'libsqlite3-O', which neither dpkg nor apt"),
        ("the build without --static-swift-stdlib", edit(DOCKERFILE, " --static-swift-stdlib", ""),
         "is a Swift toolchain library: build with --static-swift-stdlib"),
        ("the HEALTHCHECK path changed", edit(DOCKERFILE, "/v2/health/live\"", "/health/live\""), "HEALTHCHECK path is /health/live"),
        ("EXPOSE without the gRPC port", edit(DOCKERFILE, "EXPOSE 8080 8001", "EXPOSE 8080"), "EXPOSE does not include 8001"),
        ("USER root", edit(DOCKERFILE, "USER 10001:10001", "USER root"), "USER root is root"),
        ("an ENV name that is not Keel's", edit(DOCKERFILE, "KEEL_DATA_DIR=/var/lib/keel", "KEEL_DATADIR=/var/lib/keel"),
         "ENV KEEL_DATADIR is not a variable of README.md"),
        ("KEEL_SECRET removed from one replica", compose_edit(drop_env("keel-2", "KEEL_SECRET")), "KEEL_SECRET is not set on replica(s) keel-2"),
        ("a replica with its own data volume", compose_edit(own_volume), "the replicas do not share one data volume"),
        ("a stop grace period shorter than the drain", compose_edit(grace), "service keel-1: stop_grace_period is 10s"),
        ("a proxy upstream without the second replica", edit("deploy/compose/nginx.conf", "        server keel-2:8080", "        server keel-3:8080"),
         "upstream keel_http: server keel-3:8080 is not a compose service"),
        ("a Prometheus target that is not a service", edit("deploy/prometheus/prometheus.yml", "- keel-2:8080", "- keel-two:8080"),
         "target keel-two:8080 is not a compose service"),
        ("a rule file that does not exist", edit("deploy/prometheus/prometheus.yml", "- rules.yml", "- alerts.yml"),
         "rule_files entry alerts.yml"),
        ("a Grafana dashboard path that is not mounted", edit("deploy/grafana/provisioning/dashboards/keel.yml",
                                                               "/var/lib/grafana/dashboards/keel", "/var/lib/grafana/dashboards/other"),
         "is not mounted from a folder of the repository"),
        ("docs naming a Dockerfile that does not exist", edit(DOCS, "-f deploy/docker/Dockerfile", "-f deploy/Dockerfile"),
         "docker build -f deploy/Dockerfile: no such file"),
        ("docs running an image tag nobody builds", edit(DOCS, "keel:local serve", "keel:latest serve"), "docker run keel:latest"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="keel-container-selftest-") as tmp:
        def fresh():
            root = os.path.join(tmp, "repo")
            if os.path.exists(root):
                shutil.rmtree(root)
            for rel in COPIED:
                src, dst = os.path.join(ROOT, rel), os.path.join(root, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
            for rel in LINKED:
                if os.path.exists(os.path.join(ROOT, rel)):
                    os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
                    os.symlink(os.path.join(ROOT, rel), os.path.join(root, rel))
            return root

        baseline = run_checks(fresh(), binary)
        if baseline.problems:
            print("self-test: the unbroken assets already fail, so nothing below would mean anything:")
            print_report(baseline)
            return 1
        print("self-test: unbroken assets pass")
        for title, breaker, expected in cases:
            root = fresh()
            breaker(root)
            problems = run_checks(root, binary).problems
            hit = [p for p in problems if expected in p]
            if hit:
                print(f"  ok   {title}: {hit[0]}")
            else:
                failures += 1
                print(f"  FAIL {title}: expected a problem containing '{expected}', got: {problems or 'none'}")
    print(f"self-test: {len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


def docker_answers():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_smoke(root):
    """With a Docker engine: build the image, run it, wait for /v2/health/ready, read /metrics,
    stop it with SIGTERM. Returns a list of problems. (Not exercised on the machine this was
    written on, which has no engine.)"""
    import random
    import time
    import urllib.request
    tag, name, port = "keel:container-check", f"keel-check-{os.getpid()}", random.randint(20000, 40000)
    problems = []

    def sh(*cmd, timeout=3600):
        r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return r.returncode, (r.stdout + r.stderr)[-2000:]

    rc, out = sh("docker", "build", "-f", os.path.join(root, DOCKERFILE), "-t", tag, root)
    if rc != 0:
        return [f"[docker] docker build failed: {out}"]
    rc, out = sh("docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", tag)
    if rc != 0:
        return [f"[docker] docker run failed: {out}"]
    try:
        deadline, ready = time.time() + 180, False
        while time.time() < deadline and not ready:
            try:
                ready = urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).status == 200
            except OSError:
                time.sleep(1)
        if not ready:
            problems.append(f"[docker] /v2/health/ready did not answer 200 within 180 s: {sh('docker', 'logs', name)[1]}")
        else:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            if "keel_" not in body:
                problems.append("[docker] /metrics has no keel_ series")
            rc, health = sh("docker", "inspect", "-f", "{{.State.Health.Status}}", name)
            print(f"note: docker: image {tag} ran, ready on :{port}, health {health.strip()}")
        started = time.time()
        rc, out = sh("docker", "stop", "-t", "40", name, timeout=60)
        rc, code = sh("docker", "inspect", "-f", "{{.State.ExitCode}}", name)
        if code.strip() not in ("0", "143"):
            problems.append(f"[docker] after SIGTERM the container exited {code.strip()} in {time.time() - started:.1f} s")
    finally:
        sh("docker", "rm", "-f", name)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", help="keel binary whose ldd output the runtime stage must cover")
    ap.add_argument("--skip-binary", action="store_true", help="leave out the shared-library check")
    ap.add_argument("--root", default=ROOT, help="repository root (default: this script's repository)")
    ap.add_argument("--selftest", action="store_true", help="break the assets one at a time and expect failures")
    ap.add_argument("--docker", action="store_true", help="also build and run the image (needs a Docker engine)")
    a = ap.parse_args()
    binary = None
    if not a.skip_binary:
        binary = a.binary
        if not binary:
            print("container check: pass --binary PATH (a keel build; .build/debug/keel works) or --skip-binary", file=sys.stderr)
            return 2
        if not os.path.exists(binary):
            print(f"container check: binary {binary} does not exist", file=sys.stderr)
            return 2
        binary = os.path.abspath(binary)
    if a.selftest:
        if binary is None:
            print("self-test: needs --binary (the library cases use ldd)", file=sys.stderr)
            return 2
        return selftest(binary)
    report = run_checks(os.path.abspath(a.root), binary)
    if a.docker:
        if docker_answers():
            report.problems += docker_smoke(os.path.abspath(a.root))
        else:
            report.fail("docker", "--docker: `docker info` reaches no Docker engine; the image was not built or run")
    else:
        report.note("the image was not built or run (--docker does that; "
                    + ("a Docker engine answers here)" if docker_answers() else "no Docker engine answers here)"))
    print_report(report)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
