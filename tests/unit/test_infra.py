"""The deployment files: the Bicep template and the builder's Dockerfile pass
checkov with every skipped check explained, the template carries every setting
of the contract and no secret, and the Kubernetes manifests validate.

checkov lives in its own virtualenv (.tools/checkov, installed on first use by
infra/check/install-checkov.sh, about a minute): its pinned dependencies would
clash with ours. It runs offline (--skip-download).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared import settings
from shared.storage.queues import BUILD_REQUESTS_QUEUE, RUN_EVENTS_QUEUE

REPO = Path(__file__).resolve().parents[2]
BICEP = REPO / "infra" / "main.bicep"
PARAMETERS = REPO / "infra" / "main.parameters.json"
DOCKERFILE = REPO / "infra" / "builder" / "Dockerfile"
K8S = REPO / "infra" / "k8s"
KUBERNETES_VERSION = "1.30"
"""Oldest Kubernetes the manifests target: native sidecars are on by default from 1.29."""

CONTRACT_SETTINGS = sorted(
    value
    for name, value in vars(settings).items()
    if name.isupper() and isinstance(value, str) and value.startswith("DRYDOCK_")
)


@pytest.fixture(scope="session")
def checkov() -> Path:
    result = subprocess.run(
        [str(REPO / "infra" / "check" / "install-checkov.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def _checkov_scan(checkov: Path, target: Path, framework: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(checkov), "--file", str(target), "--framework", framework]
        + ["--skip-download", "--compact", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    # 0: all passed, 1: some failed; anything else is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.mark.parametrize(
    ("target", "framework"), [(BICEP, "bicep"), (DOCKERFILE, "dockerfile")], ids=["bicep", "docker"]
)
def test_checkov_finds_nothing_unexplained(checkov, target, framework):
    report = _checkov_scan(checkov, target, framework)

    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    unexplained = [
        check["check_id"]
        for check in report["results"]["skipped_checks"]
        if len(check["check_result"].get("suppress_comment") or "") < 20
    ]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    assert failed == []
    assert unexplained == []


def _app_settings(bicep: str) -> dict[str, str]:
    return dict(re.findall(r"name: '([A-Za-z_]+)'\n\s+value: (.+)", bicep))


def test_the_function_app_gets_every_contract_setting():
    app_settings = _app_settings(BICEP.read_text())

    assert CONTRACT_SETTINGS, "shared/settings.py declares no DRYDOCK_ setting?"
    assert [name for name in CONTRACT_SETTINGS if name not in app_settings] == []
    assert "AzureWebJobsStorage" in app_settings
    assert "AzureWebJobsStorage__accountName" in app_settings


@pytest.mark.parametrize(
    "name", [settings.API_KEY, settings.WEBHOOK_SECRET, settings.STORAGE], ids=str
)
def test_secrets_are_key_vault_references(name):
    assert _app_settings(BICEP.read_text())[name].startswith("'@Microsoft.KeyVault(SecretUri=")


def test_no_secret_in_outputs_or_parameter_defaults():
    bicep = BICEP.read_text()
    outputs = [line for line in bicep.splitlines() if line.startswith("output ")]
    secure_params = re.findall(r"@secure\(\)\s*\nparam (\w+) \w+( =)?", bicep)

    assert outputs
    assert [
        o for o in outputs if re.search(r"(?i)key\b|secret|password|connection|listKeys", o)
    ] == []
    assert [name for name, default in secure_params if default] == []
    assert "AccountKey=" not in PARAMETERS.read_text()


def test_the_parameters_file_names_only_declared_parameters():
    declared = set(re.findall(r"^param (\w+) ", BICEP.read_text(), re.MULTILINE))
    given = set(json.loads(PARAMETERS.read_text())["parameters"])

    assert given <= declared


def test_the_contract_queues_are_created():
    queues = re.findall(
        r"queueServices/queues@[\d-]+' = \{\n\s+parent: \w+\n\s+name: '([^']+)'", BICEP.read_text()
    )

    assert sorted(queues) == sorted([BUILD_REQUESTS_QUEUE, RUN_EVENTS_QUEUE])


def _manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def _one(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in _manifests() if doc["kind"] == kind]
    return found


@pytest.mark.parametrize(
    "manifest",
    [doc for doc in _manifests() if not doc["apiVersion"].startswith("keda.sh/")],
    ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}",
)
def test_builtin_manifests_validate(manifest):
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_scaled_jobs_pod_template_validates_as_a_job():
    # kubernetes-validate has no schema for KEDA's CRDs, and KEDA's CRD is not
    # vendored here. The bulk of a ScaledJob, jobTargetRef, is a batch/v1
    # JobSpec by definition: validate it as one, strictly.
    scaled_job = _one("ScaledJob")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": scaled_job["metadata"]["name"], "namespace": "drydock"},
        "spec": scaled_job["spec"]["jobTargetRef"],
    }

    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


# A structural check of the KEDA-specific part, standing in for KEDA's schema:
# the fields of ScaledJob v1alpha1 and TriggerAuthentication that we rely on.
SCALED_JOB_FIELDS = {
    "jobTargetRef",
    "pollingInterval",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "envSourceContainerName",
    "minReplicaCount",
    "maxReplicaCount",
    "rollout",
    "scalingStrategy",
    "triggers",
}


def test_the_scaled_job_scales_on_the_build_requests_queue():
    scaled_job, auth = _one("ScaledJob"), _one("TriggerAuthentication")
    spec = scaled_job["spec"]
    (trigger,) = spec["triggers"]

    assert scaled_job["apiVersion"] == auth["apiVersion"] == "keda.sh/v1alpha1"
    assert set(spec) <= SCALED_JOB_FIELDS
    assert spec["scalingStrategy"]["strategy"] in {"default", "custom", "accurate", "eager"}
    assert trigger["type"] == "azure-queue"
    assert trigger["metadata"]["queueName"] == BUILD_REQUESTS_QUEUE
    assert all(isinstance(value, str) for value in trigger["metadata"].values())
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert auth["spec"]["podIdentity"]["provider"] == "azure-workload"
    assert scaled_job["metadata"]["namespace"] == auth["metadata"]["namespace"]


def test_only_the_docker_engine_sidecar_is_privileged_and_the_builder_can_use_its_socket():
    pod = _one("ScaledJob")["spec"]["jobTargetRef"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["initContainers"] + pod["containers"]}
    privileged = [
        name for name, c in containers.items() if c.get("securityContext", {}).get("privileged")
    ]
    builder, engine = containers["builder"], containers["docker"]
    uid = re.search(r"ARG BUILDER_UID=(\d+)", DOCKERFILE.read_text()).group(1)
    socket_env = {e["name"]: e.get("value") for e in builder["env"]}["DOCKER_HOST"]

    assert privileged == ["docker"]
    assert engine["restartPolicy"] == "Always"  # a native sidecar ends with the builder
    assert builder["securityContext"]["runAsNonRoot"] is True
    assert str(builder["securityContext"]["runAsUser"]) == uid
    assert f"--group={uid}" in engine["args"]
    assert f"--host={socket_env}" in engine["args"]
    assert {m["name"] for m in builder["volumeMounts"]} >= {"docker-socket", "docker-config"}
