"""Ollama: installed, which models are present (cloud ones run on ollama.com), and where it listens."""

from __future__ import annotations

import shutil
from pathlib import Path

from clientguard.posture.destinations import host_of, is_loopback_host, is_unspecified_host
from clientguard.posture.model import AgentPosture, AuditContext

AGENT = "ollama"


def audit_ollama(ctx: AuditContext) -> AgentPosture:
    """Read Ollama's model manifests and listening address (nothing is contacted)."""
    posture = AgentPosture(AGENT)
    state_dir = ctx.home / ".ollama"
    installed = bool(ctx.search_path and shutil.which("ollama", path=ctx.env.get("PATH", "")))
    posture.found = state_dir.is_dir() or installed
    if not posture.found:
        return posture
    posture.provider, posture.plan, posture.local_only = "ollama", "local", True
    models_dir = Path(ctx.env["OLLAMA_MODELS"]).expanduser() if ctx.env.get("OLLAMA_MODELS") and ctx.honour_env_dirs \
        else state_dir / "models"
    if models_dir.is_dir():
        posture.add_config_path(models_dir)
    models = installed_models(models_dir)
    cloud = [m for m in models if is_cloud_model(m)]
    local = [m for m in models if not is_cloud_model(m)]
    posture.notes.append(f"{len(local)} local model(s)" + (f": {', '.join(local[:6])}" if local else ""))
    if not local:
        posture.add("ollama.no_local_models", "info",
                    "no local model is pulled, so a policy that routes to a local model has nothing to run.",
                    "ollama pull qwen2.5-coder:14b")
    if cloud:
        posture.add("ollama.cloud_models", "medium",
                    f"cloud models present ({', '.join(cloud)}): they run on ollama.com, not on this machine, "
                    "even when called through the local server.",
                    f"ollama rm {' '.join(cloud)}  # and use a local tag for client work")
    if (state_dir / "id_ed25519").is_file():
        posture.notes.append("an ollama.com key pair exists (~/.ollama/id_ed25519; used by `ollama signin`)")
    host = ctx.env.get("OLLAMA_HOST", "127.0.0.1:11434")
    name = host_of(host)
    if is_unspecified_host(name) or (name is not None and not is_loopback_host(name)):
        posture.add("ollama.listens_on_network", "medium",
                    f"OLLAMA_HOST={host}: the server accepts requests from the network, so anyone there can use "
                    "the models and read what they are asked.",
                    "export OLLAMA_HOST=127.0.0.1:11434  # and restart `ollama serve`")
    return posture


def installed_models(models_dir: Path) -> list[str]:
    """Model names (`name:tag`, with a namespace when not `library`) from the manifest tree."""
    manifests = models_dir / "manifests"
    if not manifests.is_dir():
        return []
    names: list[str] = []
    for tag_file in sorted(manifests.glob("*/*/*/*")):
        if not tag_file.is_file():
            continue
        _registry, namespace, model, tag = tag_file.relative_to(manifests).parts
        prefix = "" if namespace == "library" else f"{namespace}/"
        names.append(f"{prefix}{model}:{tag}")
    return names


def is_cloud_model(name: str) -> bool:
    tag = name.rpartition(":")[2]
    return tag == "cloud" or tag.endswith("-cloud") or name.endswith("-cloud")
