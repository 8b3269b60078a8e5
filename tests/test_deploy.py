"""The cluster deployment files, checked without a Docker engine or Kubernetes: the Compose
cluster profile (services, the front ends' settings, the GPU reservation), every `ray start`
flag they use against the installed Ray's own help, nginx's websocket proxying, and the
KubeRay manifests of docs/deploy.md (parsed, with the Ray version pinned in
requirements-ray.txt)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from descent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


def ray_pin() -> str:
    return re.search(r"^ray(?:\[[\w,]+\])?==([\d.]+)$", (ROOT / "requirements-ray.txt").read_text(), re.M)[1]


def test_the_cluster_profile_has_a_head_workers_two_front_ends_and_a_balancer() -> None:
    services = compose()
    cluster = {name for name, s in services.items() if "cluster" in s.get("profiles", [])}
    assert cluster == {"ray-head", "ray-worker", "front-1", "front-2", "balancer"}
    assert "descent" in services and "profiles" not in services["descent"]  # (the plain service is unchanged)
    for name in ("front-1", "front-2"):
        env = services[name]["environment"]
        settings = Settings.from_env({k: str(v) for k, v in env.items() if "${" not in str(v)})
        assert settings.ray_address == "auto" and settings.ray_workers >= 2
        assert "ray start --address=ray-head:6379 --num-cpus=0" in services[name]["command"]
    gpu = services["ray-worker-gpu"]
    assert "cluster-gpu" in gpu["profiles"] and "--num-gpus=1" in gpu["command"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["balancer"]["volumes"]


def test_every_ray_start_flag_in_the_files_is_one_ray_knows() -> None:
    commands = [s["command"] for s in compose().values() if "ray start" in str(s.get("command", ""))]
    commands += re.findall(r"ray start [^\"\]]+", (ROOT / "docs" / "deploy.md").read_text())
    flags = {f for c in commands for f in re.findall(r"(--[\w-]+)", c.split("&&")[0])}
    assert {"--head", "--address", "--num-cpus", "--num-gpus", "--block"} <= flags
    ray = Path(sys.executable).with_name("ray")
    usage = subprocess.run([str(ray), "start", "--help"], capture_output=True, text=True, timeout=120).stdout
    assert not [f for f in flags if f not in usage]


def test_nginx_passes_websockets_to_both_front_ends() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server front-1:8000" in conf and "server front-2:8000" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf and "listen 8080;" in conf
    assert conf.count("{") == conf.count("}")


def test_the_kuberay_manifests_parse_and_pin_the_same_ray() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)[1]
    docs = {d["kind"]: d for d in yaml.safe_load_all(block)}
    assert set(docs) == {"RayCluster", "Deployment", "Service"}
    cluster = docs["RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["spec"]["rayVersion"] == ray_pin()
    assert cluster["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"]: g for g in cluster["spec"]["workerGroupSpecs"]}
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu["nvidia.com/gpu"] == 1
    front = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in front["env"]}
    assert Settings.from_env(env).ray_address == "auto"
    assert f"--address={cluster['metadata']['name']}-head-svc:6379" in " ".join(front["command"])
    assert docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
