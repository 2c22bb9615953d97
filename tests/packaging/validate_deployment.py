#!/usr/bin/env python3
"""Checks the deployment files as a user would take them: the IoT Edge manifest, the pipeline topology and
live pipeline, the Kubernetes manifests, the Helm chart, the Dockerfile and .dockerignore, the default
configuration and the systemd unit (systemd-analyze security, when available). Usage: validate_deployment.py
<repo root>. Prints one line per check; exits 1 when any failed."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
pkg = os.path.join(root, "packaging")
failures = []
try:
    import yaml
except ImportError:  # structure checks that need YAML are skipped, and say so
    yaml = None


def check(what, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + what + ("" if condition or not detail else f": {detail}"))
    if not condition:
        failures.append(what)


def load_json(path, comments=False):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if comments:  # the host's configuration files allow // comments (not inside strings here)
        text = re.sub(r"(^|\s)//[^\n]*", r"\1", text)
    return json.loads(text)


def dig(obj, *keys):
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


# IoT Edge accepts a module's createOptions as a string of at most 512 characters per field (longer ones are
# split into createOptions01..07 by the tooling); ours must fit in one.
CREATE_OPTIONS_LIMIT = 512

# --- IoT Edge deployment manifest
manifest = load_json(os.path.join(pkg, "iotedge", "deployment.template.json"))
agent = dig(manifest, "modulesContent", "$edgeAgent", "properties.desired")
check("iotedge: $edgeAgent desired properties", isinstance(agent, dict))
agent = agent or {}
for key in ("schemaVersion", "runtime", "systemModules", "modules"):
    check(f"iotedge: $edgeAgent has {key}", key in agent)
creds = dig(agent, "runtime", "settings", "registryCredentials") or {}
check("iotedge: registryCredentials placeholders", bool(creds) and all(
    {"username", "password", "address"} <= set(c) and all("${" in str(v) for v in c.values()) for c in creds.values()))
modules = agent.get("modules", {})
check("iotedge: modules avaedge and avaextension", {"avaedge", "avaextension"} <= set(modules))
for name, module in list(modules.items()) + list(agent.get("systemModules", {}).items()):
    options = dig(module, "settings", "createOptions")
    text = options if isinstance(options, str) else json.dumps(options, separators=(",", ":"))
    check(f"iotedge: {name} createOptions fits one field ({len(text)} <= {CREATE_OPTIONS_LIMIT} chars)",
          len(text) <= CREATE_OPTIONS_LIMIT)
    check(f"iotedge: {name} has an image", bool(dig(module, "settings", "image")))
ext = dig(modules, "avaextension", "settings", "createOptions") or {}
ava = dig(modules, "avaedge", "settings", "createOptions") or {}
check("iotedge: pipeline module shares its IPC namespace", dig(ava, "HostConfig", "IpcMode") == "shareable"
      and (dig(ava, "HostConfig", "ShmSize") or 0) > 0)
check("iotedge: host module joins the pipeline's IPC namespace", dig(ext, "HostConfig", "IpcMode") == "container:avaedge")
check("iotedge: host module publishes no ports (AVA reaches it by name)",
      not dig(ext, "HostConfig", "PortBindings") and not dig(ext, "ExposedPorts"))
binds = dig(ext, "HostConfig", "Binds") or []
check("iotedge: no bind mount hides the bundled plugins",
      not any(b.split(":")[1].rstrip("/") == "/usr/lib/ava-extension-host/plugins" for b in binds))
check("iotedge: extra plugins mounted on /var/lib/ava-extension-host/plugins",
      any(b.split(":")[1].rstrip("/") == "/var/lib/ava-extension-host/plugins" for b in binds))
check("iotedge: health check uses the binary", "--health-check" in json.dumps(dig(ext, "Healthcheck")))
check("iotedge: $edgeHub routes", bool(dig(manifest, "modulesContent", "$edgeHub", "properties.desired", "routes")))

# --- pipeline topology and live pipeline
topology = load_json(os.path.join(pkg, "iotedge", "topology.json"))
props = topology.get("properties", {})
params = {p["name"]: p for p in props.get("parameters", [])}
used = set(re.findall(r"\$\{(\w+)\}", json.dumps(topology)))
check("topology: every ${parameter} is declared", used <= set(params), sorted(used - set(params)))
nodes = props.get("sources", []) + props.get("processors", []) + props.get("sinks", [])
names = {n["name"] for n in nodes}
check("topology: every input names a node", all(i["nodeName"] in names for n in nodes for i in n.get("inputs", [])))


def resolved(value):
    return re.sub(r"\$\{(\w+)\}", lambda m: str(params.get(m.group(1), {}).get("default", "")), value)


grpc = [n for n in nodes if n.get("@type") == "#Microsoft.VideoAnalyzer.GrpcExtension"]
http = [n for n in nodes if n.get("@type") == "#Microsoft.VideoAnalyzer.HttpExtension"]
check("topology: a gRPC and an HTTP extension node", len(grpc) == 1 and len(http) == 1)
if grpc:
    g = grpc[0]
    check("topology: gRPC node points at tcp://avaextension:5001",
          resolved(dig(g, "endpoint", "url") or "") == "tcp://avaextension:5001")
    check("topology: gRPC node uses shared memory", dig(g, "dataTransfer", "mode") == "sharedMemory")
    config = resolved(g.get("extensionConfiguration", ""))
    check("topology: extensionConfiguration names an analyzer",
          bool(config) and "analyzer" in json.loads(config), config)
if http:
    check("topology: HTTP node points at the host's port 8080",
          resolved(dig(http[0], "endpoint", "url") or "").startswith("http://avaextension:8080/"))
live = load_json(os.path.join(pkg, "iotedge", "live-pipeline.json"))
check("live pipeline: names the topology", dig(live, "properties", "topologyName") == topology.get("name"))
check("live pipeline: sets declared parameters only",
      all(p["name"] in params for p in dig(live, "properties", "parameters") or []))
missing = [n for n, p in params.items() if "default" not in p
           and n not in {q["name"] for q in dig(live, "properties", "parameters") or []}]
check("live pipeline: sets every parameter without a default", not missing, missing)

# --- configuration files
for name in ("config.default.json", "config.example.json"):
    config = load_json(os.path.join(pkg, name), comments=True)
    check(f"{name}: serves the bundled and the site's plugins folders",
          config.get("pluginsDirs", [])[:2] == ["/usr/lib/ava-extension-host/plugins", "/var/lib/ava-extension-host/plugins"])

# --- Kubernetes manifests
if yaml is None:
    print("skip Kubernetes and Helm YAML checks: python3-yaml is not installed")
else:
    docs = {}
    for f in ("ava-extension-host.yaml", "daemonset-hostipc.yaml"):
        with open(os.path.join(pkg, "kubernetes", f), encoding="utf-8") as stream:
            for d in yaml.safe_load_all(stream):
                if d:
                    check(f"kubernetes: {f} {d.get('kind')} has apiVersion, kind, metadata.name",
                          bool(d.get("apiVersion") and d.get("kind") and dig(d, "metadata", "name")))
                    docs[d["kind"]] = d

    def check_pod(where, pod, shared_memory):
        container = next((c for c in pod.get("containers", []) if c.get("name") == "ava-extension-host"), {})
        ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
        check(f"{where}: http 8080 and grpc 5001 ports", ports.get("http") == 8080 and ports.get("grpc") == 5001)
        check(f"{where}: livenessProbe on /healthz", dig(container, "livenessProbe", "httpGet", "path") == "/healthz")
        check(f"{where}: readinessProbe on /readyz", dig(container, "readinessProbe", "httpGet", "path") == "/readyz")
        check(f"{where}: resource requests and limits",
              bool(dig(container, "resources", "requests")) and bool(dig(container, "resources", "limits")))
        check(f"{where}: runs as non-root", dig(pod, "securityContext", "runAsNonRoot") is True)
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        check(f"{where}: every mount has a volume", all(n in volumes for n in mounts.values()))
        check(f"{where}: configuration from a ConfigMap",
              "configMap" in volumes.get(mounts.get("/etc/ava-extension-host"), {}))
        check(f"{where}: a volume for extra plugins beside the bundled ones",
              "/var/lib/ava-extension-host/plugins" in mounts and "/usr/lib/ava-extension-host/plugins" not in mounts)
        check(f"{where}: writable /tmp for plugin shadow copies (read-only root)", "/tmp" in mounts)
        if shared_memory:
            dshm = volumes.get(mounts.get("/dev/shm"), {})
            check(f"{where}: /dev/shm is a memory-backed emptyDir", dig(dshm, "emptyDir", "medium") == "Memory")
        else:
            check(f"{where}: hostIPC", pod.get("hostIPC") is True)

    deployment = docs.get("Deployment", {})
    check_pod("kubernetes Deployment", dig(deployment, "spec", "template", "spec") or {}, True)
    check_pod("kubernetes DaemonSet", dig(docs.get("DaemonSet", {}), "spec", "template", "spec") or {}, False)
    check("kubernetes: selector matches the pod labels",
          (dig(deployment, "spec", "selector", "matchLabels") or {}).items()
          <= (dig(deployment, "spec", "template", "metadata", "labels") or {}).items())
    service_ports = {p["name"]: p["port"] for p in dig(docs.get("Service", {}), "spec", "ports") or []}
    check("kubernetes: Service for gRPC and HTTP", service_ports == {"http": 8080, "grpc": 5001})
    config_text = dig(docs.get("ConfigMap", {}), "data", "config.json") or ""
    try:
        config = json.loads(config_text)
        check("kubernetes: ConfigMap config.json is JSON with both plugins folders", len(config.get("pluginsDirs", [])) == 2)
    except ValueError as e:
        check("kubernetes: ConfigMap config.json is JSON", False, str(e))

    # --- Helm chart: parse Chart.yaml and values.yaml; every .Values path a template uses exists.
    chart_dir = os.path.join(pkg, "helm", "ava-extension-host")
    with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as f:
        chart = yaml.safe_load(f)
    check("helm: Chart.yaml apiVersion v2, name, version, appVersion",
          chart.get("apiVersion") == "v2" and chart.get("name") == "ava-extension-host"
          and bool(chart.get("version")) and bool(chart.get("appVersion")))
    with open(os.path.join(chart_dir, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)
    templates = os.path.join(chart_dir, "templates")
    for name in sorted(os.listdir(templates)):
        with open(os.path.join(templates, name), encoding="utf-8") as f:
            text = f.read()
        paths = set(re.findall(r"\.Values((?:\.\w+)+)", text))
        unknown = [p for p in paths if dig(values, *p.strip(".").split(".")) is None]
        check(f"helm: {name} uses only values that exist", not unknown, unknown)
        check(f"helm: {name} has balanced template actions", text.count("{{") == text.count("}}"))
    for kind in ("Deployment", "Service", "ConfigMap"):
        check(f"helm: a {kind} template", any(f"kind: {kind}" in open(os.path.join(templates, n), encoding="utf-8").read()
                                             for n in os.listdir(templates)))
    check("helm: values give the pipeline shared memory and a hostIPC switch",
          "sizeLimit" in (values.get("sharedMemory") or {}) and values.get("hostIPC") is False)
    helm = shutil.which("helm")
    if helm:  # render and lint for real when helm is installed
        rendered = subprocess.run([helm, "template", "t", chart_dir], capture_output=True, text=True)
        check("helm: helm template renders", rendered.returncode == 0, rendered.stderr[-500:])
        if rendered.returncode == 0:
            kinds = [d.get("kind") for d in yaml.safe_load_all(rendered.stdout) if d]
            check("helm: renders a Deployment, a Service and a ConfigMap",
                  {"Deployment", "Service", "ConfigMap"} <= set(kinds), kinds)
    else:
        print("skip helm template: helm is not installed (structure checked above)")

# --- Dockerfile and .dockerignore
with open(os.path.join(pkg, "docker", "Dockerfile"), encoding="utf-8") as f:
    dockerfile = f.read()
stages = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
check("docker: multi-stage build", len(stages) >= 2)
check("docker: the build stage installs npm (scripts/fetch-models.sh)", "npm" in dockerfile.split("\nFROM")[1]
      if "\nFROM" in dockerfile else False)
user = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
check("docker: runs as a non-root user", bool(user) and user[-1].split(":")[0] not in ("root", "0"))
check("docker: HEALTHCHECK with the binary's --health-check", re.search(r"^HEALTHCHECK .*--health-check", dockerfile, re.M | re.S) is not None)
runtime_stage = re.sub(r"(?m)^\s*#.*$", "", dockerfile.split("\nFROM")[-1])
check("docker: no curl or wget in the runtime stage", not re.search(r"\b(curl|wget)\b", runtime_stage))
with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
    ignored = [line.strip() for line in f if line.strip() and not line.startswith("#")]
check("docker: .dockerignore keeps build trees, models cache and .git out",
      {"/build*/", "/.cache/", "/.git/"} <= set(ignored), ignored)

# --- systemd unit
unit_in = os.path.join(pkg, "debian", "ava-extension-host.service.in")
with open(unit_in, encoding="utf-8") as f:
    unit = f.read()
for var, value in {"CMAKE_INSTALL_FULL_BINDIR": "/usr/bin", "AVA_INSTALL_CONFDIR": "/etc/ava-extension-host",
                   "CMAKE_INSTALL_FULL_DATAROOTDIR": "/usr/share", "AVA_INSTALL_UNITDIR": "/lib/systemd/system"}.items():
    unit = unit.replace(f"@{var}@", value)
check("systemd: every @VAR@ of the unit is known", not re.search(r"@[A-Z_]+@", unit))
check("systemd: runs as the package's user", re.search(r"^User=ava-extension-host$", unit, re.M) is not None)
analyze = shutil.which("systemd-analyze")
if analyze:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ava-extension-host.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(unit)
        result = subprocess.run([analyze, "security", "--offline=true", "--no-pager", path],
                                capture_output=True, text=True, cwd=tmp)
        score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
        if score:
            check(f"systemd: systemd-analyze security {score.group(1)} <= 3.0", float(score.group(1)) <= 3.0)
        else:
            print("skip systemd-analyze security: no score (" + (result.stderr.strip() or "no output")[:200] + ")")
else:
    print("skip systemd-analyze security: systemd-analyze is not installed")

print(f"{len(failures)} check(s) failed" if failures else "all deployment checks passed")
sys.exit(1 if failures else 0)
