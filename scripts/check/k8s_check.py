#!/usr/bin/env python3
"""Checks rendered Kustomize output of deploy/k8s (run by scripts/check/k8s.sh, in its venv).

    k8s_check.py --root REPO --k8s-version 1.32.0 base=base.yaml staging=s.yaml production=p.yaml

Each NAME=FILE is one render (`kubectl kustomize`). Every built-in object is validated with
kubernetes-validate in strict mode; then the ServiceMonitor and the consistency of the objects
are checked (docs/deploy.md#checks). Prints every problem and exits 1 if there is any.
"""
import argparse
import os
import re
import sys

import kubernetes_validate
import yaml
from kubernetes_validate.utils import all_versions, major_minor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy_lib as lib  # noqa: E402

PRESTOP_DEFAULT_S = 0
REQUEST_TIMEOUT_DEFAULT_MS = 30000   # README: request_timeout_ms
EXPECTED_UID = 10001


class Render:
    def __init__(self, name, path):
        self.name = name
        with open(path, encoding="utf-8") as f:
            self.objects = [o for o in yaml.safe_load_all(f) if o]
        self.problems = []

    def fail(self, message):
        self.problems.append(f"[{self.name}] {message}")

    def of(self, kind):
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind, name):
        return next((o for o in self.of(kind) if o["metadata"]["name"] == name), None)


def label(o):
    return f"{o.get('kind')} {o.get('metadata', {}).get('name')}"


def matches(selector, labels):
    """A LabelSelector (matchLabels and matchExpressions) against a label map."""
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and labels.get(k) in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def check_schemas(r, version, strict=True):
    for o in r.objects:
        if str(o.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            continue   # a CRD: checked by check_service_monitor
        try:
            kubernetes_validate.validate(o, version, strict=strict)
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path) or "(top level)"
            r.fail(f"{label(o)}: schema (Kubernetes {e.version}, strict): {where}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            r.fail(f"{label(o)}: {e.message}")


def seconds_of_prestop(container):
    pre = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in pre:
        return int(pre["sleep"].get("seconds", 0))
    cmd = (pre.get("exec") or {}).get("command") or []
    text = " ".join(str(c) for c in cmd)
    m = re.search(r"\bsleep\s+(\d+)", text)
    if pre and not m:
        return None
    return int(m.group(1)) if m else PRESTOP_DEFAULT_S


def check_render(r, settings, image_uid):
    deployments = r.of("Deployment")
    if len(deployments) != 1:
        r.fail(f"expected one Deployment, found {len(deployments)}")
        return {}
    dep = deployments[0]
    dname = dep["metadata"]["name"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels") or {}
    if not matches(spec.get("selector"), pod_labels):
        r.fail(f"Deployment {dname}: its selector does not select its own pod template")
    containers = pod.get("containers") or []
    keel = next((c for c in containers if c.get("name") == "keel"), containers[0] if containers else None)
    if keel is None:
        r.fail(f"Deployment {dname} has no container")
        return {}
    ports = {p.get("name"): p.get("containerPort") for p in keel.get("ports") or []}
    for want, number in (("http", 8080), ("grpc", 8001)):
        if ports.get(want) != number:
            r.fail(f"container keel: port {want} is {ports.get(want)}, expected {number}")

    # Probes: the right paths, on ports the container has.
    for probe, path in (("startupProbe", "/v2/health/ready"), ("livenessProbe", "/v2/health/live"), ("readinessProbe", "/v2/health/ready")):
        p = keel.get(probe)
        if not p:
            r.fail(f"container keel has no {probe}")
            continue
        get = p.get("httpGet") or {}
        if get.get("path") != path:
            r.fail(f"container keel: {probe} path is {get.get('path')}, expected {path}")
        port = get.get("port")
        if port not in ports and port not in ports.values():
            r.fail(f"container keel: {probe} probe port {port} is not a container port ({', '.join(map(str, ports))})")
    startup = keel.get("startupProbe") or {}
    budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
    if startup and budget < 120:
        r.fail(f"container keel: the startupProbe allows {budget} s to load and warm models; give it 120 s or more")

    # keel.yaml (from the mounted ConfigMap) and the environment.
    env = {e["name"]: e for e in keel.get("env") or []}
    for name in env:
        if name.startswith("KEEL_") and name not in settings.env:
            r.fail(f"container keel: env {name} is not a variable of README.md's configuration table")
    args = keel.get("args") or []
    config_path = args[args.index("--config") + 1] if "--config" in args and args.index("--config") + 1 < len(args) else None
    keel_yaml = {}
    if config_path is None:
        r.fail("container keel: args do not pass --config FILE (keel.yaml from the ConfigMap)")
    else:
        keel_yaml = read_mounted_config(r, pod, keel, config_path)
        for key in keel_yaml:
            if key not in settings.yaml:
                r.fail(f"keel.yaml key {key} is not a keel.yaml key of README.md's configuration table (keel would ignore it)")
    timeout_ms = env.get("KEEL_REQUEST_TIMEOUT_MS", {}).get("value") or keel_yaml.get("request_timeout_ms") or REQUEST_TIMEOUT_DEFAULT_MS
    timeout_s = int(timeout_ms) / 1000
    prestop = seconds_of_prestop(keel)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if prestop is None:
        r.fail("container keel: preStop is not a sleep, so its length is unknown")
    elif prestop < 1:
        r.fail("container keel: no preStop sleep; endpoints may still send traffic after SIGTERM")
    elif grace <= prestop + timeout_s:
        r.fail(f"terminationGracePeriodSeconds {grace} does not exceed the preStop sleep ({prestop} s) plus the request "
               f"timeout ({timeout_s:g} s): in-flight requests would be killed")
    resources = keel.get("resources") or {}
    for part in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if res not in (resources.get(part) or {}):
                r.fail(f"container keel: resources.{part}.{res} is not set")

    # Security context: pod and container together.
    psc, csc = pod.get("securityContext") or {}, keel.get("securityContext") or {}
    def eff(key):
        return csc.get(key, psc.get(key))
    if eff("runAsNonRoot") is not True:
        r.fail("securityContext: runAsNonRoot is not true")
    if eff("runAsUser") != EXPECTED_UID:
        r.fail(f"securityContext: runAsUser {eff('runAsUser')}, expected {EXPECTED_UID}")
    if image_uid is not None and eff("runAsUser") != image_uid:
        r.fail(f"securityContext: runAsUser {eff('runAsUser')} is not the image's USER ({image_uid}, deploy/docker/Dockerfile)")
    if csc.get("readOnlyRootFilesystem") is not True:
        r.fail("container keel: readOnlyRootFilesystem is not true")
    if csc.get("allowPrivilegeEscalation") is not False:
        r.fail("container keel: allowPrivilegeEscalation is not false")
    if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
        r.fail("container keel: capabilities do not drop ALL")
    if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
        r.fail("securityContext: seccompProfile is not RuntimeDefault")

    # Volumes: the data claim, /tmp, and everything referenced exists in the render.
    mounts = {m["name"]: m for m in keel.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for m in mounts:
        if m not in volumes:
            r.fail(f"container keel mounts volume {m}, which the pod does not declare")
    data_dir = env.get("KEEL_DATA_DIR", {}).get("value") or keel_yaml.get("data_dir") or "/var/lib/keel"
    data = next((volumes.get(n) for n, m in mounts.items() if m.get("mountPath") == data_dir), None)
    claim = None
    if not data or "persistentVolumeClaim" not in data:
        r.fail(f"the data folder {data_dir} is not mounted from a PersistentVolumeClaim")
    else:
        claim = r.get("PersistentVolumeClaim", data["persistentVolumeClaim"]["claimName"])
        if claim is None:
            r.fail(f"PersistentVolumeClaim {data['persistentVolumeClaim']['claimName']} is not in the render")
    if not any(m.get("mountPath") == "/tmp" and "emptyDir" in volumes.get(n, {}) for n, m in mounts.items()):
        r.fail("/tmp is not an emptyDir (the root filesystem is read-only)")
    secret_refs = []
    for v in volumes.values():
        if "configMap" in v and r.get("ConfigMap", v["configMap"]["name"]) is None:
            r.fail(f"volume {v['name']}: ConfigMap {v['configMap']['name']} is not in the render")
        if "secret" in v:
            secret_refs += [(v["secret"]["secretName"], i["key"]) for i in v["secret"].get("items") or []] or [(v["secret"]["secretName"], None)]
    for e in env.values():
        ref = (e.get("valueFrom") or {})
        if "secretKeyRef" in ref:
            secret_refs.append((ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]))
        if "configMapKeyRef" in ref and r.get("ConfigMap", ref["configMapKeyRef"]["name"]) is None:
            r.fail(f"env {e['name']}: ConfigMap {ref['configMapKeyRef']['name']} is not in the render")
    for source in keel.get("envFrom") or []:
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source and r.get(kind, source[key]["name"]) is None:
                r.fail(f"envFrom: {kind} {source[key]['name']} is not in the render")
    for name, key in secret_refs:
        s = r.get("Secret", name)
        if s is None:
            r.fail(f"Secret {name} is referenced but not in the render")
        elif key and key not in {**(s.get("data") or {}), **(s.get("stringData") or {})}:
            r.fail(f"Secret {name} has no key {key}, which the pod reads")
    for needed in ("KEEL_DATABASE_URL", "KEEL_SECRET", "KEEL_ADMIN_KEY"):
        if "secretKeyRef" not in (env.get(needed, {}).get("valueFrom") or {}):
            r.fail(f"env {needed} is not read from a Secret (secretKeyRef)")

    # Service, ServiceMonitor, PDB, HPA.
    services = r.of("Service")
    svc = next((s for s in services if matches({"matchLabels": s["spec"].get("selector") or {}}, pod_labels)), None)
    if svc is None:
        for s in services:
            r.fail(f"Service {s['metadata']['name']}: its selector {s['spec'].get('selector')} selects no pod of Deployment {dname}")
        if not services:
            r.fail("no Service")
    else:
        sports = {p.get("name"): p for p in svc["spec"].get("ports") or []}
        for name in ("http", "grpc"):
            if name not in sports:
                r.fail(f"Service {svc['metadata']['name']} has no port {name}")
                continue
            tp = sports[name].get("targetPort", sports[name].get("port"))
            if tp not in ports and tp not in ports.values():
                r.fail(f"Service {svc['metadata']['name']}: port {name} targets {tp}, which is not a container port")
        if sports.get("grpc", {}).get("appProtocol") != "grpc":
            r.fail(f"Service {svc['metadata']['name']}: port grpc has no appProtocol: grpc")
    check_service_monitor(r, svc)
    for pdb in r.of("PodDisruptionBudget"):
        if not matches(pdb["spec"].get("selector"), pod_labels):
            r.fail(f"PodDisruptionBudget {pdb['metadata']['name']}: its selector does not select Deployment {dname}'s pods")
        if "minAvailable" in pdb["spec"] and "maxUnavailable" in pdb["spec"]:
            r.fail(f"PodDisruptionBudget {pdb['metadata']['name']} sets both minAvailable and maxUnavailable")
    if not r.of("PodDisruptionBudget"):
        r.fail("no PodDisruptionBudget")
    hpas = r.of("HorizontalPodAutoscaler")
    bounds = None
    for h in hpas:
        ref = h["spec"].get("scaleTargetRef") or {}
        if ref.get("kind") != "Deployment" or ref.get("name") != dname:
            r.fail(f"HorizontalPodAutoscaler {h['metadata']['name']} targets {ref.get('kind')} {ref.get('name')}, not Deployment {dname}")
        if not any((m.get("resource") or {}).get("name") == "cpu" for m in h["spec"].get("metrics") or []):
            r.fail(f"HorizontalPodAutoscaler {h['metadata']['name']} does not scale on CPU")
        bounds = (h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"])
    if not hpas:
        r.fail("no HorizontalPodAutoscaler")
    replicas = spec.get("replicas", 1)
    if bounds and not bounds[0] <= replicas <= bounds[1]:
        r.fail(f"Deployment {dname}: replicas {replicas} outside the HPA bounds {bounds[0]}..{bounds[1]}")
    for pdb in r.of("PodDisruptionBudget"):
        floor = bounds[0] if bounds else replicas
        m = pdb["spec"].get("minAvailable")
        if isinstance(m, int) and m >= floor:
            r.fail(f"PodDisruptionBudget {pdb['metadata']['name']}: minAvailable {m} with as few as {floor} replicas blocks every drain")

    # SQLite or PostgreSQL: replicas, strategy and the claim's access mode must agree.
    url = secret_value(r, env.get("KEEL_DATABASE_URL"))
    strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
    modes = set((claim or {}).get("spec", {}).get("accessModes") or [])
    if not url:
        if replicas != 1 or (bounds and bounds[1] != 1):
            r.fail(f"SQLite (no KEEL_DATABASE_URL): one replica only, found replicas {replicas}, HPA max {bounds[1] if bounds else '-'}")
        if strategy != "Recreate":
            r.fail(f"SQLite (no KEEL_DATABASE_URL) on a ReadWriteOnce volume needs strategy Recreate, found {strategy}")
    else:
        if not url.startswith(("postgres://", "postgresql://")):
            r.fail("KEEL_DATABASE_URL is not a postgres:// URL")
        if "ReadWriteMany" not in modes:
            r.fail(f"PostgreSQL with several replicas: the data claim must be ReadWriteMany (artifacts and batch files "
                   f"are shared files), found {sorted(modes)}")
        if strategy != "RollingUpdate":
            r.fail(f"PostgreSQL: strategy {strategy}, expected RollingUpdate")
        secret = secret_value(r, env.get("KEEL_SECRET")) or ""
        if len(secret.encode()) < 32:
            r.fail("KEEL_SECRET is shorter than 32 bytes (required with PostgreSQL)")
        for param in re.findall(r"sslrootcert=([^&]+)", url):
            if not any(param.startswith(m.get("mountPath", "").rstrip("/") + "/") for m in mounts.values()):
                r.fail(f"KEEL_DATABASE_URL names sslrootcert {param}, which no volume mounts")

    # The image: a pinned tag.
    image = keel.get("image", "")
    tag = lib_image_tag(image)
    if not tag or tag == "latest":
        r.fail(f"container keel: image {image} has no pinned tag")
    placeholders = [f"{s['metadata']['name']}" for s in r.of("Secret")
                    if (s["metadata"].get("annotations") or {}).get("keel.example.com/placeholder") == "true"]
    return {"replicas": replicas, "image": image, "placeholders": placeholders, "url": bool(url)}


def lib_image_tag(image):
    if "@" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def secret_value(r, env_entry):
    if not env_entry:
        return None
    if "value" in env_entry:
        return env_entry["value"]
    ref = (env_entry.get("valueFrom") or {}).get("secretKeyRef") or {}
    s = r.get("Secret", ref.get("name"))
    if not s:
        return None
    if ref.get("key") in (s.get("stringData") or {}):
        return s["stringData"][ref["key"]]
    raw = (s.get("data") or {}).get(ref.get("key"))
    if raw is None:
        return None
    import base64
    return base64.b64decode(raw).decode("utf-8", "replace")


def read_mounted_config(r, pod, container, path):
    """The keel.yaml mapping the container sees at `path`, from the ConfigMap mounted there."""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for m in container.get("volumeMounts") or []:
        mp = m.get("mountPath", "").rstrip("/")
        if not path.startswith(mp + "/"):
            continue
        v = volumes.get(m["name"], {})
        if "configMap" not in v:
            continue
        cm = r.get("ConfigMap", v["configMap"]["name"])
        if cm is None:
            return {}   # reported by the volume check
        key = m.get("subPath") or path[len(mp) + 1:]
        text = (cm.get("data") or {}).get(key)
        if text is None:
            r.fail(f"--config {path}: ConfigMap {cm['metadata']['name']} has no key {key}")
            return {}
        doc = yaml.safe_load(text) or {}
        if not isinstance(doc, dict):
            r.fail(f"--config {path}: keel.yaml is not a mapping")
            return {}
        return doc
    r.fail(f"--config {path}: no ConfigMap is mounted there")
    return {}


def check_service_monitor(r, svc):
    monitors = [o for o in r.objects if o.get("kind") == "ServiceMonitor"]
    if not monitors:
        r.fail("no ServiceMonitor")
    for sm in monitors:
        name = sm["metadata"]["name"]
        if sm.get("apiVersion") != "monitoring.coreos.com/v1":
            r.fail(f"ServiceMonitor {name}: apiVersion {sm.get('apiVersion')}, expected monitoring.coreos.com/v1")
        spec = sm.get("spec") or {}
        unknown = set(spec) - {"selector", "endpoints", "jobLabel", "namespaceSelector", "targetLabels", "podTargetLabels",
                               "sampleLimit", "targetLimit", "labelLimit", "attachMetadata", "scrapeProtocols",
                               "scrapeClass", "bodySizeLimit", "fallbackScrapeProtocol", "keepDroppedTargets",
                               "labelNameLengthLimit", "labelValueLengthLimit", "selectorMechanism", "serviceDiscoveryRole",
                               "nativeHistogramBucketLimit", "nativeHistogramMinBucketFactor", "scrapeClassicHistograms",
                               "convertClassicHistogramsToNHCB", "scrapeNativeHistograms"}
        for u in sorted(unknown):
            r.fail(f"ServiceMonitor {name}: spec.{u} is not a ServiceMonitor field")
        if "selector" not in spec:
            r.fail(f"ServiceMonitor {name}: spec.selector is missing")
        endpoints = spec.get("endpoints")
        if not endpoints:
            r.fail(f"ServiceMonitor {name}: spec.endpoints is missing or empty")
        if svc is None:
            continue
        svc_labels = svc["metadata"].get("labels") or {}
        if "selector" in spec and not matches(spec["selector"], svc_labels):
            r.fail(f"ServiceMonitor {name}: spec.selector does not match Service {svc['metadata']['name']}'s labels {svc_labels}")
        port_names = {p.get("name") for p in svc["spec"].get("ports") or []}
        for ep in endpoints or []:
            if ep.get("port") not in port_names:
                r.fail(f"ServiceMonitor {name}: endpoint port {ep.get('port')} is not a port name of Service "
                       f"{svc['metadata']['name']} ({', '.join(sorted(port_names))})")
            if ep.get("path", "/metrics") != "/metrics":
                r.fail(f"ServiceMonitor {name}: endpoint path {ep.get('path')}, expected /metrics")
        job = spec.get("jobLabel")
        job_value = svc_labels.get(job) if job else svc["metadata"]["name"]
        if job_value != "keel":
            r.fail(f"ServiceMonitor {name}: the job label would be {job_value}; deploy/prometheus/rules.yml selects job=\"keel\"")


def image_uid(root):
    try:
        df = lib.parse_dockerfile(os.path.join(root, "deploy/docker/Dockerfile"))
    except (OSError, ValueError):
        return None
    user = df.stages[-1].last("USER")
    who = user.args.split(":")[0] if user else ""
    return int(who) if who.isdigit() else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--k8s-version", default="1.32.0")
    ap.add_argument("renders", nargs="+", metavar="NAME=FILE")
    a = ap.parse_args()
    supported = sorted(set(major_minor(v) for v in all_versions()), key=lambda v: tuple(map(int, v.split("."))))
    if major_minor(a.k8s_version) not in supported:
        print(f"k8s check: kubernetes-validate {kubernetes_validate.__version__} has no schemas for {a.k8s_version} "
              f"(it has {supported[0]}..{supported[-1]})")
        return 2
    settings = lib.readme_settings(a.root)
    uid = image_uid(a.root)
    problems, facts = [], {}
    for item in a.renders:
        name, _, path = item.partition("=")
        r = Render(name, path)
        check_schemas(r, a.k8s_version)
        facts[name] = check_render(r, settings, uid)
        problems += r.problems
        f = facts[name]
        print(f"{name}: {len(r.objects)} objects, replicas {f.get('replicas')}, image {f.get('image')}, "
              f"{'PostgreSQL' if f.get('url') else 'SQLite'}"
              + (f"; placeholder Secrets (replace before use): {', '.join(f['placeholders'])}" if f.get("placeholders") else ""))
    overlays = [n for n in facts if n != "base"]
    for n in overlays:
        if facts[n].get("replicas", 0) < 2:
            problems.append(f"[{n}] an overlay on PostgreSQL should run 2 or more replicas, found {facts[n].get('replicas')}")
    if "staging" in facts and "production" in facts and facts["production"].get("replicas", 0) <= facts["staging"].get("replicas", 0):
        problems.append(f"[production] runs {facts['production'].get('replicas')} replicas, no more than staging's {facts['staging'].get('replicas')}")
    base_repo = facts.get("base", {}).get("image", "").rsplit(":", 1)[0]
    for n in overlays:
        if base_repo and facts[n].get("image", "").rsplit(":", 1)[0] != base_repo:
            problems.append(f"[{n}] image {facts[n].get('image')} is not from the base's repository {base_repo}")
    if problems:
        print(f"k8s check: {len(problems)} problem(s)")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"k8s check: no problems ({', '.join(facts)}; Kubernetes {major_minor(a.k8s_version)} schemas, strict, "
          f"kubernetes-validate {kubernetes_validate.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
