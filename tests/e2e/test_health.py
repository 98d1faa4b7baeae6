"""Health checks run by the monitor: --health-* flags, the image's Healthcheck, State.Health in
inspect, "(healthy)" in ps and `ps --filter health=`.  Fixtures come from test_run.py."""

import json
import os
import subprocess
import tarfile
import time

import pytest

import imagebuild
from test_run import IMAGE, bb, busybox_rootfs, processes_using, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def wait_for(pred, timeout=20, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def health(servin, name):
    out = servin.ok("inspect", "--format", "{{json .State.Health}}", name).stdout.strip()
    return json.loads(out) if out not in ("", "null", "<no value>") else None


def status_of(servin, name):
    h = health(servin, name)
    return h and h["Status"]


def test_starting_then_unhealthy_then_healthy(bb):
    bb.ok("run", "-d", "--name", "hc", "--health-cmd", "echo probe-out; test -e /tmp/ok",
          "--health-interval", "200ms", "--health-retries", "2", IMAGE, "sleep", "600")
    h = health(bb, "hc")
    assert h["Status"] == "starting" and h["FailingStreak"] == 0 and h["Log"] == []
    assert "(health: starting)" in bb.ok("ps").stdout
    assert wait_for(lambda: status_of(bb, "hc") == "unhealthy")
    h = health(bb, "hc")
    assert h["FailingStreak"] >= 2
    entry = h["Log"][-1]
    assert entry["ExitCode"] == 1 and entry["Output"] == "probe-out\n"
    assert entry["Start"] <= entry["End"] and entry["End"].endswith("Z")
    assert "(unhealthy)" in bb.ok("ps").stdout
    assert bb.lines("ps", "-q", "--filter", "health=unhealthy") == bb.lines("ps", "-q", "--filter", "name=hc")
    assert bb.lines("ps", "-q", "--filter", "health=healthy") == []

    bb.ok("exec", "hc", "touch", "/tmp/ok")
    assert wait_for(lambda: status_of(bb, "hc") == "healthy")
    assert health(bb, "hc")["FailingStreak"] == 0
    assert "(healthy)" in bb.ok("ps").stdout
    assert len(bb.lines("ps", "-q", "--filter", "health=healthy")) == 1
    # Only the last five results are kept.
    assert wait_for(lambda: len(health(bb, "hc")["Log"]) == 5)
    time.sleep(0.6)
    assert len(health(bb, "hc")["Log"]) == 5


def test_probe_past_its_timeout_is_killed_and_fails(bb):
    bb.ok("run", "-d", "--name", "slow", "--health-cmd", "sleep 77", "--health-interval", "100ms",
          "--health-timeout", "300ms", "--health-retries", "1", IMAGE, "sleep", "600")
    assert wait_for(lambda: status_of(bb, "slow") == "unhealthy")
    entry = health(bb, "slow")["Log"][0]
    assert entry["ExitCode"] == -1
    assert "Health check exceeded timeout" in entry["Output"]
    # The killed probes left no `sleep 77` behind in the container (a new one may be running).
    time.sleep(0.5)
    top = bb.ok("exec", "slow", "ps", "-o", "args").stdout
    assert top.count("sleep 77") <= 1


def test_cmd_form_and_start_period(bb):
    # CMD form (no shell), failing, but inside the start period: no streak, still starting.
    bb.ok("run", "-d", "--name", "sp", "--health-cmd", "false", "--health-interval", "100ms",
          "--health-retries", "1", "--health-start-period", "30s", IMAGE, "sleep", "600")
    assert wait_for(lambda: len(health(bb, "sp")["Log"]) >= 3)
    h = health(bb, "sp")
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert bb.lines("ps", "-q", "--filter", "health=starting") == bb.lines("ps", "-q", "--filter", "name=sp")


def test_no_health_check_is_none_and_flags_conflict(bb):
    bb.ok("run", "-d", "--name", "plain", IMAGE, "sleep", "600")
    assert health(bb, "plain") is None
    assert "(" not in bb.ok("ps", "--format", "{{.Status}}").stdout
    assert len(bb.lines("ps", "-q", "--filter", "health=none")) == 1
    r = bb.fail("run", "--no-healthcheck", "--health-cmd", "true", IMAGE, "true")
    assert "conflicts" in r.stderr
    r = bb.fail("run", "--health-interval", "soon", IMAGE, "true")
    assert "--health-interval" in r.stderr
    r = bb.fail("ps", "--filter", "health=sick")
    assert "health=sick" in r.stderr
    # Nothing was created by the refused runs.
    assert len(bb.lines("ps", "-aq")) == 1


def test_exited_container_shows_no_health_in_ps(bb):
    bb.ok("run", "-d", "--name", "brief", "--health-cmd", "true", "--health-interval", "100ms", IMAGE,
          "sleep", "1")
    assert wait_for(lambda: status_of(bb, "brief") == "healthy")
    assert wait_for(lambda: bb.ok("inspect", "--format", "{{.State.Status}}", "brief").stdout.strip() == "exited")
    assert "healthy" not in bb.ok("ps", "-a", "--format", "{{.Status}}").stdout


@pytest.fixture
def hc_image(bb, tmp_path):
    """localhost/hc:latest: busybox whose image config has a Healthcheck (CMD-SHELL, 150ms)."""
    layout = tmp_path / "layout"
    imagebuild.write_image(str(layout), [(imagebuild.busybox_tar(), imagebuild.MT_LAYER_GZIP)],
                           config_extra={"config": {"Healthcheck": {
                               "Test": ["CMD-SHELL", "echo from-image"], "Interval": 150000000,
                               "Retries": 2}}})
    archive = tmp_path / "hc.tar"
    with tarfile.open(archive, "w") as t:
        for name in os.listdir(layout):
            t.add(layout / name, arcname=name)
    loaded = bb.lines("load", "-i", str(archive))[-1]
    assert loaded.startswith("Loaded image ID: sha256:")
    bb.ok("tag", loaded.split()[-1], "localhost/hc:latest")
    return "localhost/hc:latest"


def test_image_healthcheck_applies_and_can_be_turned_off_or_overridden(bb, hc_image):
    bb.ok("run", "-d", "--name", "img", hc_image, "sleep", "600")
    assert wait_for(lambda: status_of(bb, "img") == "healthy")
    assert health(bb, "img")["Log"][0]["Output"] == "from-image\n"

    bb.ok("run", "-d", "--name", "off", "--no-healthcheck", hc_image, "sleep", "600")
    time.sleep(0.5)
    assert health(bb, "off") is None
    cfg = json.loads(bb.ok("inspect", "--format", "{{json .Config.Healthcheck}}", "off").stdout)
    assert cfg["Test"] == ["NONE"]

    # A flag overrides only its own field: the image's command stays, the retries come from us.
    bb.ok("run", "-d", "--name", "retries", "--health-retries", "7", hc_image, "sleep", "600")
    cfg = json.loads(bb.ok("inspect", "--format", "{{json .Config.Healthcheck}}", "retries").stdout)
    assert cfg["Test"] == ["CMD-SHELL", "echo from-image"] and cfg["Retries"] == 7
    assert cfg["Interval"] == 150000000
    assert wait_for(lambda: status_of(bb, "retries") == "healthy")


def test_health_resets_to_starting_on_restart(bb):
    bb.ok("run", "-d", "--name", "rs", "--health-cmd", "true", "--health-interval", "1s", IMAGE,
          "sleep", "600")
    assert wait_for(lambda: status_of(bb, "rs") == "healthy")
    bb.ok("stop", "-t", "0", "rs")
    bb.ok("start", "rs")
    assert status_of(bb, "rs") == "starting"
    assert wait_for(lambda: status_of(bb, "rs") == "healthy")
