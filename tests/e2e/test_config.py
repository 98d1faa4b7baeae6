"""The configuration file (issue 12): data dir, log level, mirrors, precedence flag > env > file, bad files."""

import json
import os

import pytest

from conftest import free_port


def write(servin, text, name="config.yaml"):
    path = os.path.join(servin.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def settings(servin, *flags, env=None):
    info = servin.json(*flags, "system", "info", "--format", "json", root=False, env=env)
    return info, info["ServinConfig"]["Settings"]


def test_data_dir_from_file_changes_where_data_goes(servin, pushed):
    data = os.path.join(servin.tmp, "data")
    cfg = write(servin, "runtime:\n  data_dir: %s\n" % data)
    servin.ok("--config", cfg, "pull", "-q", pushed["busybox"].ref, root=False)
    assert os.path.isfile(os.path.join(data, "servin.db"))
    assert os.listdir(os.path.join(data, "content", "blobs", "sha256"))
    assert not os.path.exists(servin.root)
    ids = servin.lines("--config", cfg, "images", "-q", "--no-trunc", root=False)
    assert pushed["busybox"].image_id in ids
    info, s = settings(servin, "--config", cfg)
    assert info["DockerRootDir"] == data
    assert s["runtime.data_dir"] == {"Value": data, "Source": "file"}
    assert info["RunRoot"] == os.path.join(data, "run")
    assert info["ServinConfig"]["File"] == cfg and info["ServinConfig"]["FileRead"] is True


def test_state_dir_from_file(servin):
    state = os.path.join(servin.tmp, "state")
    cfg = write(servin, "runtime:\n  data_dir: %s/d\n  state_dir: %s\n" % (servin.tmp, state))
    info, s = settings(servin, "--config", cfg)
    assert info["RunRoot"] == state
    assert s["runtime.state_dir"]["Source"] == "file"


def test_config_dir_env_finds_the_file(servin):
    data = os.path.join(servin.tmp, "fromdir")
    write(servin, "runtime:\n  data_dir: %s\n" % data)
    info, _ = settings(servin, env={"SERVIN_CONFIG_DIR": servin.tmp})
    assert info["DockerRootDir"] == data


def test_env_beats_file_and_flag_beats_env(servin):
    cfg = write(servin, "runtime:\n  data_dir: %s/file\n  log_level: error\n" % servin.tmp)
    env = {"SERVIN_ROOT": servin.tmp + "/env", "SERVIN_LOG_LEVEL": "info"}
    info, s = settings(servin, "--config", cfg, env=env)
    assert info["DockerRootDir"] == servin.tmp + "/env"
    assert s["runtime.data_dir"]["Source"] == "env"
    assert s["runtime.log_level"] == {"Value": "info", "Source": "env"}
    info, s = settings(servin, "--config", cfg, "--root", servin.tmp + "/flag", "--log-level", "warn", env=env)
    assert info["DockerRootDir"] == servin.tmp + "/flag"
    assert s["runtime.data_dir"]["Source"] == "flag"
    assert s["runtime.log_level"] == {"Value": "warn", "Source": "flag"}
    assert s["logging.max_files"] == {"Value": "1", "Source": "default"}


def test_log_level_from_file_env_and_flag(servin):
    cfg = write(servin, "runtime:\n  log_level: debug\n")
    r = servin.ok("--config", cfg, "images")
    assert "servin debug: " in r.stderr
    # The environment beats the file...
    r = servin.ok("--config", cfg, "images", env={"SERVIN_LOG_LEVEL": "error"})
    assert "servin debug: " not in r.stderr
    # ...and a flag beats the environment.
    quiet = write(servin, "runtime:\n  log_level: error\n", "quiet.yaml")
    r = servin.ok("--config", quiet, "--log-level", "debug", "images", env={"SERVIN_LOG_LEVEL": "error"})
    assert "servin debug: " in r.stderr
    # logging.level is the same setting.
    other = write(servin, "logging:\n  level: debug\n", "other.yaml")
    assert "servin debug: " in servin.ok("--config", other, "images").stderr


def test_log_format_json_from_env(servin):
    cfg = write(servin, "runtime:\n  log_level: debug\n")
    r = servin.ok("--config", cfg, "images", env={"SERVIN_LOG_FORMAT": "json"})
    first = [l for l in r.stderr.splitlines() if l.startswith("{")]
    assert first and json.loads(first[0])["level"] == "debug"


def test_mirror_serves_another_host_name(servin, registry, pushed):
    p = pushed["busybox"]
    cfg = write(servin, "registries:\n  mirrors:\n    mirror-test.invalid:\n      - http://%s\n" % registry.host)
    r = servin.ok("--config", cfg, "pull", "mirror-test.invalid/test/busybox:latest")
    assert "mirror-test.invalid/test/busybox:latest" in r.stdout
    info = servin.json("--config", cfg, "image", "inspect", "mirror-test.invalid/test/busybox:latest")
    assert info[0]["Id"] == p.image_id
    assert "mirror-test.invalid/test/busybox:latest" in info[0]["RepoTags"]
    assert not any(registry.host in t for t in info[0]["RepoTags"])


def test_docker_hub_mirror_keeps_the_docker_io_name(servin, registry, pushed):
    cfg = write(servin, "registries:\n  mirrors:\n    docker.io: [\"http://%s\"]\n" % registry.host)
    servin.ok("--config", cfg, "pull", "-q", "test/busybox")
    info = servin.json("--config", cfg, "image", "inspect", "docker.io/test/busybox:latest")
    assert info[0]["Id"] == pushed["busybox"].image_id
    assert "test/busybox:latest" in servin.lines("--config", cfg, "images", "--format", "{{.Repository}}:{{.Tag}}")


def test_mirror_down_falls_back_to_the_next(servin, registry, pushed):
    dead = "127.0.0.1:%d" % free_port()
    cfg = write(servin, "registries:\n  mirrors:\n    mirror-test.invalid:\n      - http://%s\n      - http://%s\n"
                % (dead, registry.host))
    r = servin.ok("--config", cfg, "pull", "-q", "mirror-test.invalid/test/busybox:latest")
    assert dead in r.stderr  # the failure of the first mirror is said, not hidden
    info = servin.json("--config", cfg, "image", "inspect", "mirror-test.invalid/test/busybox:latest")
    assert info[0]["Id"] == pushed["busybox"].image_id


def test_all_mirrors_down_falls_back_to_the_registry(servin, registry, pushed):
    dead = "127.0.0.1:%d" % free_port()
    cfg = write(servin, "registries:\n  mirrors:\n    %s: [\"http://%s\"]\n" % (registry.host, dead))
    servin.ok("--config", cfg, "pull", "-q", pushed["busybox"].ref)
    assert pushed["busybox"].image_id in servin.lines("--config", cfg, "images", "-q", "--no-trunc")


def test_all_mirrors_and_registry_down_fails_with_the_registry_error(servin):
    dead1, dead2 = free_port(), free_port()
    cfg = write(servin, "registries:\n  mirrors:\n    127.0.0.1:%d: [\"http://127.0.0.1:%d\"]\n" % (dead1, dead2))
    r = servin.fail("--config", cfg, "pull", "127.0.0.1:%d/x/y:1" % dead1)
    assert "127.0.0.1:%d" % dead1 in r.stderr.splitlines()[-1]


@pytest.mark.parametrize("text,line,words", [
    ("runtime:\n  log_level: debug\n bad: : x\n", 3, "syntax error"),
    ("runtime:\n  log_level: debug\n  data_dirs: /x\n", 3, 'unknown key "runtime.data_dirs"'),
    ("runtime:\n  max_containers: many\n", 2, "runtime.max_containers: expected an integer"),
    ("cri:\n  enabled: [yes]\n", 2, "cri.enabled: expected true or false, got a list"),
    ("networking: {}\nlogging:\n  max_size: 10q\n", 3, "logging.max_size"),
    ("bogus:\n  x: 1\n", 1, 'unknown section "bogus"'),
    ("registries:\n  mirrors:\n    docker.io: [http://10.9.8.7:5000]\n", 3, "plain http"),
    ("security:\n  default_ulimits:\n    nofile: 10:5\n", 3, "soft limit is above the hard limit"),
    ("runtime:\n  log_level: debug\nlogging:\n  level: info\n", 4, "same setting"),
])
def test_bad_file_gives_one_clear_error_with_the_line(servin, text, line, words):
    cfg = write(servin, text)
    for args in (("config", "check", cfg), ("--config", cfg, "images")):
        r = servin.fail(*args, root=False)
        msg = r.stderr.strip()
        assert msg.startswith("servin: %s:%d: " % (cfg, line)), msg
        assert words in msg, msg


def test_config_check_accepts_a_good_file(servin):
    cfg = write(servin, """
runtime:
  data_dir: /var/lib/servin-test
  state_dir: /run/servin-test
  log_level: info
  max_containers: 10
cri:
  enabled: true
  socket_path: /run/servin-test/cri.sock
registries:
  default: docker.io
  insecure: [reg.lan:5000]
  mirrors:
    docker.io: ["https://mirror.example", "http://reg.lan:5000"]
  credentials_file: /root/auth.json
networking:
  default_bridge: servin0
  bridge_ip: 172.17.0.1/16
  enable_ipv6: false
storage:
  driver: overlay
  options: []
logging:
  driver: json-file
  max_size: 10m
  max_files: 3
security:
  enable_user_namespaces: false
  default_ulimits:
    nofile: 1024:2048
    nproc: unlimited
""")
    assert servin.ok("config", "check", cfg, root=False).stdout.strip() == "%s: valid" % cfg


def test_missing_file_means_defaults_but_a_named_one_must_exist(servin):
    info, s = settings(servin, env={"SERVIN_CONFIG_DIR": os.path.join(servin.tmp, "none")})
    assert info["ServinConfig"]["FileRead"] is False
    assert s["runtime.log_level"] == {"Value": "warn", "Source": "default"}
    r = servin.fail("--config", os.path.join(servin.tmp, "nope.yaml"), "images")
    assert "does not exist" in r.stderr


def test_system_info_text_shows_values_and_sources(servin):
    cfg = write(servin, "logging:\n  max_files: 4\n")
    out = servin.ok("--config", cfg, "system", "info").stdout
    assert " logging.max_files: 4 (file)" in out
    assert " runtime.data_dir: %s (flag)" % servin.root in out


# ---- what the file decides for containers (they need root and the busybox image of test_run.py)

from test_run import IMAGE, bb, busybox_rootfs, short_servin  # noqa: E402,F401  (fixtures)


def can_raise_rlimits():
    with open("/proc/self/status") as f:
        eff = [l for l in f if l.startswith("CapEff:")][0].split()[1]
    return bool(int(eff, 16) & (1 << 24))  # CAP_SYS_RESOURCE


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_default_ulimits_apply_unless_the_container_sets_its_own(bb):
    cfg = write(bb, "security:\n  default_ulimits:\n    nofile: 1000:1001\n    core: 0:0\n")
    out = bb.ok("--config", cfg, "run", "--rm", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c").stdout
    assert out.split() == ["1000", "1001", "0"]
    out = bb.ok("--config", cfg, "run", "--rm", "--ulimit", "nofile=500:600", IMAGE, "sh", "-c",
                "ulimit -n; ulimit -Hn").stdout
    assert out.split() == ["500", "600"]


@pytest.mark.skipif(os.geteuid() != 0 or can_raise_rlimits(), reason="needs root without CAP_SYS_RESOURCE")
def test_default_ulimit_the_host_cannot_grant_is_lowered_with_one_warning(bb):
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cfg = write(bb, "security:\n  default_ulimits:\n    nofile: %d:%d\n" % (hard + 1000, hard + 2000))
    r = bb.ok("--config", cfg, "run", "--rm", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn")
    assert r.stdout.split() == [str(hard), str(hard)]
    warnings = [l for l in r.stderr.splitlines() if "default_ulimits" in l or "rlimit" in l.lower()]
    assert len(warnings) == 1, r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_logging_defaults_become_the_json_file_rotation(bb):
    cfg = write(bb, "logging:\n  max_size: 1k\n  max_files: 2\n")
    cid = bb.ok("--config", cfg, "create", IMAGE, "true").stdout.strip()
    log = bb.json("--config", cfg, "inspect", cid)[0]["HostConfig"]["LogConfig"]
    assert log == {"Type": "json-file", "Config": {"max-size": "1024", "max-file": "2"}}
    cid = bb.ok("--config", cfg, "create", "--log-opt", "max-size=5k", IMAGE, "true").stdout.strip()
    log = bb.json("--config", cfg, "inspect", cid)[0]["HostConfig"]["LogConfig"]
    assert log["Config"] == {"max-size": "5k", "max-file": "2"}
    # And the rotation happens: 20 lines of 100 bytes go over 1k.
    cid = bb.ok("--config", cfg, "run", "-d", IMAGE, "sh", "-c",
                "i=0; while [ $i -lt 40 ]; do printf '%0100d\\n' $i; i=$((i+1)); done").stdout.strip()
    bb.ok("wait", cid)
    logdir = os.path.join(bb.root, "containers", cid)
    assert os.path.exists(os.path.join(logdir, "log.json.1"))
    assert os.path.getsize(os.path.join(logdir, "log.json")) <= 1024 + 300


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_logging_driver_none_from_the_file(bb):
    cfg = write(bb, "logging:\n  driver: none\n")
    cid = bb.ok("--config", cfg, "create", IMAGE, "true").stdout.strip()
    assert bb.json("--config", cfg, "inspect", cid)[0]["HostConfig"]["LogConfig"]["Type"] == "none"
    cid = bb.ok("--config", cfg, "create", "--log-driver", "json-file", IMAGE, "true").stdout.strip()
    assert bb.json("--config", cfg, "inspect", cid)[0]["HostConfig"]["LogConfig"]["Type"] == "json-file"


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_max_containers(bb):
    cfg = write(bb, "runtime:\n  max_containers: 1\n")
    bb.ok("--config", cfg, "create", IMAGE, "true")
    r = bb.fail("--config", cfg, "create", IMAGE, "true")
    assert "runtime.max_containers" in r.stderr
    assert len(bb.lines("ps", "-aq")) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="the daemon runs as root")
def test_sighup_changes_the_daemons_log_level():
    import signal
    import shutil
    import time
    from daemon_util import Daemon, short_tmp
    from conftest import Servin

    tmp = short_tmp()
    servin = Servin(tmp)
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write("runtime:\n  log_level: warn\n")
    servin.env["SERVIN_CONFIG"] = cfg
    d = Daemon(servin, tmp).start()
    try:
        assert d.request("GET", "/_ping").status == 200
        assert "servin debug: daemon: GET /_ping" not in d.log_text()
        with open(cfg, "w") as f:
            f.write("runtime:\n  log_level: debug\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "configuration reloaded" not in d.log_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "configuration reloaded" in d.log_text()
        assert d.request("GET", "/_ping").status == 200
        assert "servin debug: daemon: GET /_ping" in d.log_text()
        # A broken file is refused with its line, and the daemon goes on with what it had.
        with open(cfg, "w") as f:
            f.write("runtime:\n  log_level: loud\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "previous configuration" not in d.log_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "config.yaml:2: runtime.log_level" in d.log_text()
        assert d.request("GET", "/_ping").status == 200
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0, d.log_text()
        shutil.rmtree(tmp, ignore_errors=True)


def make_cert(path_prefix):
    import subprocess
    cert, key = path_prefix + "-cert.pem", path_prefix + "-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def test_ca_file_verifies_the_registry(servin, servin_registry, make_servin, pushed):
    cert, key = make_cert(os.path.join(servin.tmp, "reg"))
    other_cert, _ = make_cert(os.path.join(servin.tmp, "other"))
    reg = servin_registry("--tls-cert", cert, "--tls-key", key, scheme="https")
    good = write(servin, "registries:\n  ca_file:\n    %s: %s\n" % (reg.host, cert), "good.yaml")
    bad = write(servin, "registries:\n  ca_file:\n    %s: %s\n" % (reg.host, other_cert), "bad.yaml")
    servin.ok("pull", "-q", pushed["busybox"].ref)
    target = "%s/ca/busybox:latest" % reg.host
    servin.ok("tag", pushed["busybox"].ref, target)
    servin.ok("--config", good, "push", "-q", target)
    other = make_servin()
    other.ok("--config", good, "pull", "-q", target)
    assert pushed["busybox"].image_id in other.lines("images", "-q", "--no-trunc")
    # With the wrong CA the certificate is refused: no silent fallback to unverified TLS or plain HTTP.
    r = make_servin().fail("--config", bad, "pull", "-q", target)
    assert reg.host in r.stderr


def test_bridge_ip_from_file_sets_the_default_network(servin):
    # Only the store's record of the default network is made here: no container, no bridge.
    cfg = write(servin, "networking:\n  bridge_ip: 172.31.7.1/24\n")
    ipam = servin.json("--config", cfg, "network", "inspect", "bridge")
    ipam = (ipam[0] if isinstance(ipam, list) else ipam)["IPAM"]["Config"][0]
    assert ipam["Subnet"] == "172.31.7.0/24"
    assert ipam["Gateway"] == "172.31.7.1"
    bad = write(servin, "networking:\n  bridge_ip: 300.1.1.1/16\n", name="bad.yaml")
    other = os.path.join(servin.tmp, "other-root")
    r = servin.fail("--config", bad, "--root", other, "network", "inspect", "bridge", root=False)
    assert "networking.bridge_ip" in r.stderr and "300.1.1.1/16" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the daemon runs as root")
def test_mirror_serves_a_pull_through_the_docker_api(registry, pushed):
    import shutil
    from daemon_util import Daemon, short_tmp
    from conftest import Servin

    tmp = short_tmp()
    servin = Servin(tmp)
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write("registries:\n  mirrors:\n    mirror-test.invalid:\n      - http://%s\n" % registry.host)
    servin.env["SERVIN_CONFIG"] = cfg
    d = Daemon(servin, tmp).start()
    try:
        r = d.request("POST", "/v1.43/images/create?fromImage=mirror-test.invalid/test/busybox&tag=latest")
        assert r.status == 200
        msgs = [json.loads(l) for l in r.body.decode().splitlines() if l.strip()]
        assert not any("error" in m for m in msgs), msgs
        r = d.request("GET", "/v1.43/images/mirror-test.invalid/test/busybox:latest/json")
        assert r.status == 200
        info = json.loads(r.body)
        assert info["Id"] == pushed["busybox"].image_id
        assert info["RepoTags"] == ["mirror-test.invalid/test/busybox:latest"]
    finally:
        assert d.stop() == 0, d.log_text()
        shutil.rmtree(tmp, ignore_errors=True)
