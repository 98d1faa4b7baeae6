"""`servin daemon` volumes and networks (the docker CLI's volume and network commands, docker-py's
shapes, raw HTTP for filters and errors), published ports seen by `docker ps` and fetched with
`docker run -p`, and the journal's volume and network events. One daemon for the whole module."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port
from daemon_util import DOCKER, start_daemon, teardown_daemon

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "localhost/bb:latest"
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
              pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    d = start_daemon()
    d.servin.ok("import", "-c", 'CMD ["sh"]', str(path), IMAGE)
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def test_volume_commands(daemon):
    assert daemon.docker("volume", "create", "--label", "team=a", "data1").stdout.strip() == "data1"
    daemon.docker("volume", "create", "data2")
    names = daemon.docker("volume", "ls", "-q").stdout.split()
    assert "data1" in names and "data2" in names
    assert daemon.docker("volume", "ls", "-q", "--filter", "label=team=a").stdout.split() == ["data1"]
    # As in Docker, every label filter must match (the values of other keys are ORed).
    assert daemon.docker("volume", "ls", "-q", "--filter", "label=team=a",
                         "--filter", "label=other").stdout.split() == []
    assert sorted(daemon.docker("volume", "ls", "-q", "--filter", "name=data1",
                                "--filter", "name=data2").stdout.split()) == ["data1", "data2"]
    assert daemon.docker("volume", "ls", "-q", "--filter", "name=ta2").stdout.split() == ["data2"]
    info = json.loads(daemon.docker("volume", "inspect", "data1").stdout)[0]
    assert info["Name"] == "data1" and info["Driver"] == "local" and info["Labels"] == {"team": "a"}
    assert info["Scope"] == "local" and info["Mountpoint"].endswith("/data1/_data")
    # A volume in use: written through one container, read through another, refused removal.
    daemon.docker("run", "--name", "vuser", "-v", "data1:/d", IMAGE, "sh", "-c", "echo kept > /d/f")
    assert daemon.docker("run", "--rm", "-v", "data1:/d", IMAGE, "cat", "/d/f").stdout == "kept\n"
    r = daemon.docker("volume", "rm", "data1", check=False)
    assert r.returncode != 0 and "in use" in r.stderr
    assert daemon.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == ["data2"]
    # Prune (API >= 1.42) keeps named volumes unless --all; in-use ones always stay.
    daemon.docker("volume", "prune", "-f")
    assert "data2" in daemon.docker("volume", "ls", "-q").stdout.split()
    out = daemon.docker("volume", "prune", "-f", "--all").stdout
    assert "data2" in out
    names = daemon.docker("volume", "ls", "-q").stdout.split()
    assert "data2" not in names and "data1" in names
    daemon.docker("rm", "vuser")
    assert daemon.docker("volume", "rm", "data1").stdout.strip() == "data1"
    r = daemon.docker("volume", "inspect", "data1", check=False)
    assert r.returncode != 0 and "no such volume" in r.stderr.lower()
    # rm -f of a missing volume is not an error.
    daemon.docker("volume", "rm", "-f", "never-was")


def test_volume_http_shapes_and_errors(daemon):
    r = daemon.request("POST", "/v1.43/volumes/create", {"Name": "hv", "Labels": {"a": "b"},
                                                          "DriverOpts": {"type": "tmpfs", "device": "tmpfs",
                                                                         "o": "size=1m"}})
    assert r.status == 201, r
    assert r.json()["Options"]["type"] == "tmpfs"
    body = daemon.get_json("/v1.43/volumes")
    assert set(body) >= {"Volumes", "Warnings"}
    assert [v["Name"] for v in body["Volumes"]] == ["hv"]
    assert daemon.request("POST", "/volumes/create", {"Name": 5}).status == 400
    assert daemon.request("POST", "/volumes/create", {"Name": "bad/name"}).status == 400
    assert daemon.request("POST", "/volumes/create", "{not json").status == 400
    assert daemon.request("GET", "/volumes?filters=" + urllib.request.quote('{"color":["x"]}')).status == 400
    assert daemon.request("GET", "/volumes/nope").status == 404
    assert daemon.request("DELETE", "/volumes/nope").status == 404
    assert daemon.request("DELETE", "/volumes/hv").status == 204


def test_network_commands(daemon):
    nid = daemon.docker("network", "create", "--subnet", "10.123.7.0/24", "--gateway", "10.123.7.1",
                        "--label", "team=b", "--internal", "dnet").stdout.strip()
    assert len(nid) == 64
    ls = daemon.docker("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout.split("\n")
    assert "dnet bridge" in ls and "bridge bridge" in ls
    assert daemon.docker("network", "ls", "-q", "--no-trunc", "--filter", "label=team=b").stdout.split() == [nid]
    assert daemon.docker("network", "ls", "-q", "--filter", "label=team=b",
                         "--filter", "label=team=c").stdout.split() == []
    assert daemon.docker("network", "ls", "-q", "--filter", "type=custom").stdout.split() == [nid[:12]]
    info = json.loads(daemon.docker("network", "inspect", "dnet").stdout)[0]
    assert info["Id"] == nid and info["Internal"] is True and info["Labels"] == {"team": "b"}
    assert info["IPAM"]["Config"][0]["Subnet"] == "10.123.7.0/24"
    assert info["IPAM"]["Config"][0]["Gateway"] == "10.123.7.1"
    r = daemon.docker("network", "create", "dnet", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    # Connect a running container with an alias; another container on the network reaches it by it.
    daemon.docker("run", "-d", "--name", "srv", IMAGE, "sleep", "300")
    daemon.docker("network", "connect", "--alias", "kv", "--ip", "10.123.7.50", "dnet", "srv")
    info = json.loads(daemon.docker("inspect", "srv").stdout)[0]
    ep = info["NetworkSettings"]["Networks"]["dnet"]
    assert ep["IPAddress"] == "10.123.7.50" and "kv" in ep["Aliases"] and ep["NetworkID"] == nid
    net = json.loads(daemon.docker("network", "inspect", "dnet").stdout)[0]
    assert info["Id"] in net["Containers"]
    assert net["Containers"][info["Id"]]["IPv4Address"] == "10.123.7.50/24"
    out = daemon.docker("run", "--rm", "--network", "dnet", IMAGE, "ping", "-c1", "-W2", "kv").stdout
    assert "10.123.7.50" in out
    # docker ps shows the container's networks.
    nets = daemon.docker("ps", "--filter", "name=srv", "--format", "{{.Networks}}").stdout.strip()
    assert set(nets.split(",")) == {"bridge", "dnet"}, nets
    r = daemon.docker("network", "rm", "dnet", check=False)
    assert r.returncode != 0
    daemon.docker("network", "disconnect", "dnet", "srv")
    info = json.loads(daemon.docker("inspect", "srv").stdout)[0]
    assert "dnet" not in info["NetworkSettings"]["Networks"]
    daemon.docker("rm", "-f", "srv")
    daemon.docker("network", "create", "dnet2")
    out = daemon.docker("network", "prune", "-f").stdout
    assert "dnet" in out and "dnet2" in out
    assert daemon.docker("network", "ls", "-q", "--filter", "type=custom").stdout.strip() == ""
    r = daemon.docker("network", "rm", "bridge", check=False)
    assert r.returncode != 0


def test_network_http_errors(daemon):
    assert daemon.request("POST", "/networks/create", {"Name": 3}).status == 400
    assert daemon.request("POST", "/networks/create", {}).status == 400
    assert daemon.request("POST", "/networks/create", {"Name": "x", "IPAM": {"Config": "no"}}).status == 400
    assert daemon.request("POST", "/networks/create", {"Name": "x", "IPAM": {"Config": [{"Subnet": "300.1.0.0/16"}]}}).status == 400
    assert daemon.request("POST", "/networks/create", {"Name": "host"}).status == 403
    assert daemon.request("GET", "/networks/nope").status == 404
    assert daemon.request("DELETE", "/networks/nope").status == 404
    assert daemon.request("POST", "/networks/bridge/connect", {"Container": "nope"}).status == 404
    assert daemon.request("POST", "/networks/bridge/connect", "[").status == 400
    assert daemon.request("GET", "/networks?filters=" + urllib.request.quote('{"bogus":["x"]}')).status == 400
    # Nothing was made by the refused requests.
    names = [n["Name"] for n in daemon.get_json("/networks")]
    assert names == ["bridge"], names


def test_run_publish_and_ps_ports(daemon):
    port = free_port()
    cid = daemon.docker("run", "-d", "-p", "127.0.0.1:%d:80" % port, IMAGE, "sh", "-c",
                        "mkdir -p /www && echo served > /www/index.html && httpd -f -p 80 -h /www").stdout.strip()
    try:
        body = None
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                body = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        assert body == b"served\n"
        ports = daemon.docker("ps", "--filter", "id=" + cid, "--format", "{{.Ports}}").stdout.strip()
        assert ports == "127.0.0.1:%d->80/tcp" % port, ports
        assert daemon.docker("port", cid).stdout.strip() == "80/tcp -> 127.0.0.1:%d" % port
        row = [c for c in daemon.get_json("/containers/json") if c["Id"] == cid][0]
        assert row["Ports"] == [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"}]
        assert "bridge" in row["NetworkSettings"]["Networks"]
        assert row["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    finally:
        daemon.docker("rm", "-f", cid)


def test_resource_events(daemon):
    since = str(int(time.time()) - 1)
    daemon.docker("volume", "create", "evvol")
    daemon.docker("network", "create", "evnet")
    daemon.docker("run", "-d", "--name", "evc", IMAGE, "sleep", "300")
    daemon.docker("network", "connect", "evnet", "evc")
    daemon.docker("network", "disconnect", "evnet", "evc")
    daemon.docker("rm", "-f", "evc")
    daemon.docker("network", "rm", "evnet")
    daemon.docker("volume", "rm", "evvol")
    daemon.docker("tag", IMAGE, "localhost/bb:evtag")
    daemon.docker("rmi", "localhost/bb:evtag")
    until = str(int(time.time()) + 1)
    out = daemon.docker("events", "--since", since, "--until", until, "--format", "{{json .}}").stdout
    evs = [json.loads(l) for l in out.splitlines() if l.strip()]
    seen = [(e["Type"], e["Action"]) for e in evs]
    for want in [("volume", "create"), ("volume", "destroy"), ("network", "create"), ("network", "connect"),
                 ("network", "disconnect"), ("network", "destroy"), ("image", "tag"), ("image", "untag")]:
        assert want in seen, (want, seen)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "type=volume",
                        "--filter", "volume=evvol",
                        "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}").stdout.splitlines()
    assert out == ["volume create evvol", "volume destroy evvol"], out
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "network=evnet",
                        "--format", "{{.Action}}").stdout.split()
    assert out == ["create", "connect", "disconnect", "destroy"], out


def test_stats_update_cp_export(daemon, tmp_path):
    cid = daemon.docker("run", "-d", "--name", "busy", IMAGE, "sh", "-c",
                        "mkdir -p /dir/sub && echo in-container > /dir/f && echo deep > /dir/sub/g; "
                        "while :; do :; done").stdout.strip()
    try:
        time.sleep(0.5)
        line = daemon.docker("stats", "--no-stream", "--format",
                             "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "busy").stdout.strip()
        name, cpu, mem, pids = line.split("|")
        assert name == "busy" and cpu.endswith("%") and float(cpu[:-1]) > 5, line
        used, limit = mem.split(" / ")
        assert used.endswith("iB") and limit.endswith("iB") and pids == "1", line
        # Update: the record, the inspect shape and the live cgroup (docker stats shows the new limit).
        daemon.docker("update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5",
                      "--pids-limit", "50", "--restart", "on-failure:3", "busy")
        hc = json.loads(daemon.docker("inspect", "busy").stdout)[0]["HostConfig"]
        assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"]) == (64 << 20, 500000000, 50), hc
        assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}, hc
        mem = daemon.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", "busy").stdout.strip()
        assert mem.endswith("/ 64MiB"), mem
        r = daemon.docker("update", "--memory", "1m", "busy", check=False)
        assert r.returncode != 0 and "6MB" in r.stderr
        # The API's one-shot sample, in Docker's shape.
        s = daemon.get_json("/containers/busy/stats?stream=false&one-shot=true")
        assert s["id"] == cid and s["name"] == "/busy"
        assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
        assert s["cpu_stats"]["system_cpu_usage"] > 0 and s["memory_stats"]["limit"] == 64 << 20
        assert s["pids_stats"]["current"] == 1 and "eth0" in s["networks"]
        assert "io_service_bytes_recursive" in s["blkio_stats"] and s["read"] and s["preread"]
        # docker cp both ways, a file, a directory, a directory's contents, and a tar on stdout.
        host = tmp_path / "host.txt"
        host.write_text("from-host\n")
        daemon.docker("cp", str(host), "busy:/dir/")
        assert daemon.docker("exec", "busy", "cat", "/dir/host.txt").stdout == "from-host\n"
        daemon.docker("cp", "busy:/dir", str(tmp_path / "copy1"))
        assert (tmp_path / "copy1" / "sub" / "g").read_text() == "deep\n"
        assert (tmp_path / "copy1" / "host.txt").read_text() == "from-host\n"
        (tmp_path / "copy2").mkdir()
        daemon.docker("cp", "busy:/dir/.", str(tmp_path / "copy2"))
        assert (tmp_path / "copy2" / "f").read_text() == "in-container\n"
        tar = subprocess.run([DOCKER, "-H", daemon.host, "cp", "busy:/dir/f", "-"], capture_output=True,
                             check=True).stdout
        assert b"in-container" in tar
        r = daemon.docker("cp", "busy:/nope", str(tmp_path / "x"), check=False)
        assert r.returncode != 0 and "Could not find the file /nope" in r.stderr
        r = daemon.docker("cp", str(host), "busy:/dir/f/x", check=False)
        assert r.returncode != 0
        r = daemon.request("HEAD", "/containers/busy/archive?path=/dir")
        assert r.status == 200
        import base64
        st = json.loads(base64.b64decode(r.headers["X-Docker-Container-Path-Stat"]))
        assert st["name"] == "dir" and st["mode"] & (1 << 31) and st["mode"] & 0o777 == 0o755, st
        # export: the whole root filesystem.
        out = subprocess.run([DOCKER, "-H", daemon.host, "export", "busy"], capture_output=True, check=True).stdout
        names = subprocess.run(["tar", "t"], input=out, capture_output=True, check=True).stdout.decode().split()
        assert "bin/busybox" in names and "dir/host.txt" in names, names[:20]
    finally:
        daemon.docker("rm", "-f", "busy")


def test_docker_py_shapes(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="1.43")
    vol = client.volumes.create("pyvol", labels={"k": "v"})
    assert vol.name == "pyvol" and client.volumes.get("pyvol").attrs["Labels"] == {"k": "v"}
    assert [v.name for v in client.volumes.list(filters={"label": "k=v"})] == ["pyvol"]
    net = client.networks.create("pynet", driver="bridge", labels={"k": "v"})
    assert client.networks.get(net.id).name == "pynet"
    assert [n.name for n in client.networks.list(names=["pynet"])] == ["pynet"]
    c = client.containers.run(IMAGE, ["sleep", "300"], detach=True, name="pyc", network="pynet",
                              volumes={"pyvol": {"bind": "/v", "mode": "rw"}})
    try:
        net.reload()
        assert c.id in net.attrs["Containers"]
        s = c.stats(stream=False)
        assert s["memory_stats"]["usage"] > 0 and "cpu_stats" in s and "precpu_stats" in s
        assert s["precpu_stats"]["cpu_usage"]["total_usage"] > 0
        stream = c.stats(stream=True, decode=True)
        first, second = next(stream), next(stream)
        assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
        stream.close()
        c.update(mem_limit="32m")
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 32 << 20
        ok, (st, ) = True, [c.get_archive("/v")[1]]
        assert ok and st["name"] == "v"
        assert c.put_archive("/v", _tar_of("put.txt", b"put-by-py\n"))
        assert c.exec_run(["cat", "/v/put.txt"]).output == b"put-by-py\n"
    finally:
        c.remove(force=True)
    net.remove()
    vol.remove()
    assert client.volumes.list(filters={"name": "pyvol"}) == []
    client.close()


def _tar_of(name, data):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_exec_tty_size_and_resize(daemon):
    import fcntl
    import pty
    import socket
    import struct
    import termios
    daemon.docker("run", "-d", "--name", "ttyc", IMAGE, "sleep", "300")
    try:
        # docker exec -it from a terminal of 40x120: the container's pty has that size.
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=daemon.docker_config)
        p = subprocess.Popen([DOCKER, "exec", "-it", "ttyc", "stty", "size"], stdin=slave, stdout=slave,
                             stderr=slave, env=env, close_fds=True)
        os.close(slave)
        out = b""
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(30) == 0, out
        os.close(master)
        assert b"40 120" in out, out
        # A resize while the exec runs reaches the process's terminal.
        r = daemon.request("POST", "/v1.43/containers/ttyc/exec",
                           {"Cmd": ["sh", "-c", "sleep 2; stty size"], "Tty": True, "AttachStdout": True})
        assert r.status == 201, r
        eid = r.json()["Id"]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(daemon.sock)
        body = b'{"Tty": true}'
        s.sendall(b"POST /v1.43/exec/%s/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (eid.encode(), len(body), body))
        s.settimeout(30)
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 101"), data
        time.sleep(0.5)
        assert daemon.request("POST", "/v1.43/exec/%s/resize?h=33&w=101" % eid).status == 200
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        assert b"33 101" in data, data
        assert daemon.request("POST", "/v1.43/exec/%s/resize?h=0&w=1" % eid).status == 400
        assert daemon.request("POST", "/v1.43/exec/nope/resize?h=10&w=10").status == 404
        assert daemon.get_json("/v1.43/exec/%s/json" % eid)["ExitCode"] == 0
    finally:
        daemon.docker("rm", "-f", "ttyc")


def test_attach_with_logs_replays_output(daemon):
    import socket
    daemon.docker("run", "-d", "--name", "att", IMAGE, "sh", "-c", "echo before-attach; sleep 300")
    try:
        deadline = time.time() + 10
        while "before-attach" not in daemon.docker("logs", "att").stdout and time.time() < deadline:
            time.sleep(0.1)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(daemon.sock)
        s.sendall(b"POST /v1.43/containers/att/attach?logs=1&stream=0&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n"
                  b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
        s.settimeout(20)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        # One stdcopy frame on stdout, then the end (stream=0).
        assert body == b"\x01\x00\x00\x00\x00\x00\x00\x0ebefore-attach\n", body
        r = daemon.request("POST", "/v1.43/containers/att/attach?stdout=1")
        assert r.status == 400
    finally:
        daemon.docker("rm", "-f", "att")


def test_docker_import(daemon, tmp_path):
    tar = tmp_path / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(tar)], check=True)
    out = daemon.docker("import", "-c", 'CMD ["echo", "imported"]', "-m", "by test", str(tar),
                        "localhost/imported:v1").stdout.strip()
    assert out.startswith("sha256:"), out
    assert daemon.docker("run", "--rm", "localhost/imported:v1").stdout == "imported\n"
    hist = daemon.docker("history", "--format", "{{.Comment}}", "localhost/imported:v1").stdout
    assert "by test" in hist
    r = daemon.request("POST", "/v1.43/images/create?fromSrc=ftp://x/y")
    assert r.status == 400
    r = daemon.request("POST", "/v1.43/images/create?fromSrc=-&repo=localhost/bad", body=b"not a tarball")
    assert r.status >= 400 and "message" in r.json()
    assert "localhost/bad" not in daemon.docker("images", "--format", "{{.Repository}}").stdout
    daemon.docker("rmi", "localhost/imported:v1")


def test_refused_creates_leave_nothing(daemon):
    before = daemon.get_json("/v1.43/containers/json?all=1")
    vols_before = daemon.get_json("/v1.43/volumes")["Volumes"]
    bad = [
        {"Image": IMAGE, "HostConfig": {"NetworkMode": "no-such-net"}},
        {"Image": IMAGE, "HostConfig": {"Binds": ["bad name:/d"]}},
        {"Image": IMAGE, "HostConfig": {"Mounts": [{"Type": "volume", "Source": "v1", "Target": "relative"}]}},
        {"Image": IMAGE, "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}}},
        {"Image": IMAGE, "HostConfig": {"Memory": -5}},
        {"Image": IMAGE, "Cmd": {"not": "a list"}},
        {"Image": IMAGE, "HostConfig": {"CapAdd": ["CAP_NOT_REAL"]}},
    ]
    for body in bad:
        r = daemon.request("POST", "/v1.43/containers/create?name=half", body)
        assert 400 <= r.status < 500, (body, r)
        assert "message" in r.json()
    assert daemon.get_json("/v1.43/containers/json?all=1") == before
    assert daemon.get_json("/v1.43/volumes")["Volumes"] == vols_before
    # The name was never taken.
    r = daemon.request("POST", "/v1.43/containers/create?name=half", {"Image": IMAGE, "Cmd": ["true"]})
    assert r.status == 201, r
    assert daemon.request("DELETE", "/v1.43/containers/half").status == 204


def test_cli_update_shares_the_daemon_path(daemon):
    """`servin update` (CLI, no daemon) goes through the same servin_container_update as the API."""
    daemon.servin.ok("run", "-d", "--name", "cliupd", IMAGE, "sleep", "300")
    try:
        daemon.servin.ok("update", "-m", "48m", "--cpus", "0.25", "--pids-limit", "30", "--restart",
                         "unless-stopped", "cliupd")
        hc = daemon.get_json("/v1.43/containers/cliupd/json")["HostConfig"]
        assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"]) == (48 << 20, 250000000, 30)
        assert hc["RestartPolicy"]["Name"] == "unless-stopped"
        assert daemon.get_json("/containers/cliupd/stats?stream=false&one-shot=true")["memory_stats"]["limit"] == 48 << 20
        r = daemon.servin("update", "-m", "1k", "cliupd", check=False)
        assert r.returncode != 0 and "6MB" in r.stderr
        r = daemon.servin("update", "cliupd", check=False)
        assert r.returncode != 0 and "nothing to change" in r.stderr
    finally:
        daemon.servin("rm", "-f", "cliupd", check=False)


def test_client_gone_mid_exec_stream(daemon):
    import socket
    daemon.docker("run", "-d", "--name", "exgone", IMAGE, "sleep", "300")
    try:
        for tty in (False, True):
            r = daemon.request("POST", "/v1.43/containers/exgone/exec",
                               {"Cmd": ["sh", "-c", "while :; do echo spam; done"], "Tty": tty,
                                "AttachStdout": True, "AttachStdin": True})
            eid = r.json()["Id"]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(daemon.sock)
            body = b'{"Tty": %s}' % (b"true" if tty else b"false")
            s.sendall(b"POST /v1.43/exec/%s/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (eid.encode(), len(body), body))
            s.settimeout(20)
            assert s.recv(4096).startswith(b"HTTP/1.1 101")
            s.recv(4096)
            s.close()
        assert daemon.request("GET", "/_ping").status == 200
        # The daemon keeps serving, and the container is still there to stop.
        assert daemon.get_json("/v1.43/containers/exgone/json")["State"]["Running"] is True
    finally:
        daemon.docker("rm", "-f", "exgone")
