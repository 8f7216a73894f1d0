"""compose.yaml, the Dockerfile and the systemd units: they parse, and every command they start is a real one.

Docker and systemd cannot run here; what can break silently is a service that names a command or an option
the CLI does not have, a password written into a committed file, or torch installed after paperradar (which
pulls the CUDA build). Each command is parsed by the real command line (with --help, so nothing runs).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from paperradar.cli import app

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "deploy" / "systemd"


def assert_real_command(argv: list[str]) -> None:
    """``argv`` (after the program name) names an existing command with options it accepts."""
    assert argv, "no command"
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, f"paperradar {shlex.join(argv)}: {result.output}"
    assert "Usage:" in result.output


def test_the_checker_would_catch_a_wrong_command_or_option():
    with pytest.raises(AssertionError):
        assert_real_command(["serv"])
    with pytest.raises(AssertionError):
        assert_real_command(["serve", "--hots", "0.0.0.0"])
    with pytest.raises(AssertionError):
        assert_real_command(["--log-format", "xml", "serve"])


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_postgres_with_a_volume_and_a_healthcheck(compose):
    pg = compose["services"]["postgres"]
    assert pg["image"].startswith("postgres")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert pg["volumes"][0].split(":")[0] in compose["volumes"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])


def test_compose_services_run_real_commands_and_wait_for_the_database(compose):
    services = compose["services"]
    assert {"postgres", "web", "worker"} <= set(services)
    commands = {}
    for name, service in services.items():
        if name == "postgres":
            continue
        command = service["command"]
        assert command[0] == "paperradar"
        assert_real_command(command[1:])
        commands[name] = command[1:]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["PAPERRADAR_CONFIG"].startswith("/data/")
    assert commands["web"][0] == "serve" and "0.0.0.0" in commands["web"]
    assert commands["worker"] == ["worker"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_no_password_is_written_into_the_committed_files(compose):
    def environments():
        for service in compose["services"].values():
            yield from (service.get("environment") or {}).items()

    secrets = [(k, v) for k, v in environments() if re.search("PASSWORD|TOKEN|KEY", k)]
    assert secrets, "the database password must reach postgres and the paperradar containers"
    for key, value in secrets:
        assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), f"{key} is written out: {value!r}"
    assert all(s.get("env_file", ".env") == ".env" for s in compose["services"].values())
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
    lab = (ROOT / "deploy" / "lab.toml").read_text(encoding="utf-8")
    assert "postgresql://" in lab and not re.search(r"postgres(ql)?://[^/@\s]*:[^/@\s]*@", lab)


def test_the_dockerfile_installs_cpu_torch_first_and_starts_the_web_app():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    assert lines[[i for i, line in enumerate(lines) if line.startswith("FROM")][0]] == "FROM python:3.11-slim"
    installs = [line for line in lines if line.startswith("RUN pip install")]
    assert "torch==2.13.0" in installs[0] and "/whl/cpu" in "\n".join(lines)
    assert any("pip install ." in line for line in installs[1:])
    cmd = json.loads(next(line for line in lines if line.startswith("CMD")).removeprefix("CMD"))
    assert cmd[0] == "paperradar"
    assert_real_command(cmd[1:])
    assert "USER paperradar" in lines


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as section -> key -> values (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None and value, f"{path.name}: {raw!r}"
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize("name", ["paperradar-web", "paperradar-worker", "paperradar-schedule"])
def test_each_systemd_service_runs_a_real_command_with_secrets_from_an_environment_file(name):
    service = unit(SYSTEMD / f"{name}.service")["Service"]
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert Path(argv[0]).name == "paperradar"
    assert_real_command(argv[1:])
    assert service["EnvironmentFile"] == ["/etc/paperradar/paperradar.env"]
    assert service["User"] == ["paperradar"]
    assert argv[1:3] == ["--log-format", "json"]
    assert {"web": "serve", "worker": "worker", "schedule": "schedule"}[name.split("-")[1]] in argv


def test_the_timer_starts_the_oneshot_schedule_service_after_the_announcement():
    timer = unit(SYSTEMD / "paperradar-schedule.timer")
    assert timer["Timer"]["Unit"] == ["paperradar-schedule.service"]
    assert timer["Timer"]["OnCalendar"] == ["*-*-* 20:45 America/New_York"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    assert unit(SYSTEMD / "paperradar-schedule.service")["Service"]["Type"] == ["oneshot"]
    for name in ("paperradar-web", "paperradar-worker"):
        assert unit(SYSTEMD / f"{name}.service")["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_lab_configuration_is_a_valid_configuration_on_postgresql(tmp_path):
    from paperradar.core.config import parse_config

    path = ROOT / "deploy" / "lab.toml"
    config = parse_config(tomllib.loads(path.read_text(encoding="utf-8")), path)
    assert str(config.database).startswith("postgresql://paperradar@postgres:5432/")
    assert config.log_format == "json"
