"""CRI pod sandboxes over gRPC: RunPodSandbox with a real CNI network (Debian's bridge, host-local
and portmap plugins, from a temp conf dir on a subnet of its own), status, hostname and DNS files,
the pod reachable from the host and through its port mapping on 127.0.0.1, list filters, stats,
error codes, a daemon restart, 20 pods at once, and nothing left after RemovePodSandbox."""

import concurrent.futures
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from cri_client import CRIDaemon, api, code_of, grpc

CNI_BIN = "/usr/lib/cni"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(CNI_BIN, "bridge")),
                                reason="containernetworking-plugins is needed (scripts/install-deps)")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _sh(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check).stdout


class Net:
    """A CNI conf dir of our own: bridge + host-local (leases under our temp dir) + portmap."""

    def __init__(self, tmp):
        tag = "%04x" % random.randrange(0x10000)
        self.name = "servin-e2e-" + tag
        self.bridge = "cnip" + tag
        self.subnet = ipaddress.ip_network("10.%d.%d.0/24" % (random.randrange(100, 200), random.randrange(256)))
        self.conf_dir = os.path.join(tmp, "net.d")
        self.data_dir = os.path.join(tmp, "ipam")
        os.makedirs(self.conf_dir)
        conf = {
            "cniVersion": "1.0.0", "name": self.name,
            "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": True,
                 "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": self.data_dir, "ranges": [[{"subnet": str(self.subnet)}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            ],
        }
        with open(os.path.join(self.conf_dir, "10-servin-e2e.conflist"), "w") as f:
            json.dump(conf, f)

    def leases(self):
        d = os.path.join(self.data_dir, self.name)
        if not os.path.isdir(d):
            return []
        return [n for n in os.listdir(d) if re.match(r"^\d+\.\d+\.\d+\.\d+$", n)]

    def cleanup(self):
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@pytest.fixture(scope="module")
def env():
    tmp = tempfile.mkdtemp(prefix="cri-pods-", dir="/tmp")
    net = Net(tmp)
    cg = "servine2e%04x" % random.randrange(0x10000)
    d = CRIDaemon(tmp=tmp, extra=["--cni-conf-dir", net.conf_dir, "--cni-bin-dir", CNI_BIN])
    d.start()
    yield d, net, cg
    # A failed test may have left pods: remove them so that no mount, rule or cgroup outlives the run.
    try:
        d.connect()
        for p in d.runtime.ListPodSandbox(api.ListPodSandboxRequest(), timeout=30).items:
            d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=p.id), timeout=60)
    except grpc.RpcError:
        pass
    d.stop()
    net.cleanup()
    for ctrl in ("memory", "cpu,cpuacct", "pids", "cpuset", "blkio", "devices", "freezer"):
        for top in ("/sys/fs/cgroup/%s/%s" % (ctrl, cg), "/sys/fs/cgroup/%s/%s.slice" % (ctrl, cg)):
            if os.path.isdir(top):
                subprocess.run(["find", top, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _config(name, uid=None, hostname="", ports=(), dns=None, cgroup_parent="", labels=None, host_network=False,
            sysctls=None):
    md = api.PodSandboxMetadata(name=name, uid=uid or "uid-" + name, namespace="e2e", attempt=0)
    sc = api.LinuxSandboxSecurityContext(namespace_options=api.NamespaceOption(
        network=api.NODE if host_network else api.POD, pid=api.CONTAINER, ipc=api.POD))
    return api.PodSandboxConfig(
        metadata=md, hostname=hostname, log_directory="",
        dns_config=dns, port_mappings=list(ports), labels=labels or {"app": name},
        annotations={"note": "e2e"},
        linux=api.LinuxPodSandboxConfig(cgroup_parent=cgroup_parent, security_context=sc, sysctls=sysctls or {}))


def _run(d, cfg):
    return d.runtime.RunPodSandbox(api.RunPodSandboxRequest(config=cfg), timeout=120).pod_sandbox_id


def _status(d, pid, verbose=False):
    return d.runtime.PodSandboxStatus(api.PodSandboxStatusRequest(pod_sandbox_id=pid, verbose=verbose), timeout=30)


def _info(d, pid):
    return json.loads(_status(d, pid, verbose=True).info["info"])


def _in_netns(netns, *argv, **kw):
    return subprocess.Popen(["nsenter", "--net=" + netns] + list(argv), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def _connect(host, port, timeout=10):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return s.recv(64)
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("cannot reach %s:%d: %s" % (host, port, last))


def _leftovers(pid):
    """What a removed pod must not leave: mounts, iptables rules naming it, processes in its netns."""
    found = []
    with open("/proc/mounts") as f:
        found += [l for l in f if pid in l]
    rules = _sh("iptables-save", check=False)
    found += [l for l in rules.splitlines() if pid in l]
    return found


def test_pod_lifecycle_with_network(env):
    d, net, cg = env
    host_port = _free_port()
    dns = api.DNSConfig(servers=["10.96.0.10"], searches=["e2e.svc.cluster.local", "svc.cluster.local"],
                        options=["ndots:5"])
    cfg = _config("web", hostname="web-0", dns=dns, cgroup_parent="/%s/podweb" % cg,
                  ports=[api.PortMapping(protocol=api.TCP, container_port=8080, host_port=host_port, host_ip="127.0.0.1")],
                  sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})
    pid = _run(d, cfg)
    assert re.match(r"^[0-9a-f]{64}$", pid)

    st = _status(d, pid).status
    assert st.id == pid and st.state == api.SANDBOX_READY
    assert st.metadata.name == "web" and st.metadata.namespace == "e2e"
    assert ipaddress.ip_address(st.network.ip) in net.subnet
    assert abs(st.created_at / 1e9 - time.time()) < 120
    assert st.labels["app"] == "web" and st.annotations["note"] == "e2e"
    assert st.linux.namespaces.options.network == api.POD and st.linux.namespaces.options.pid == api.CONTAINER

    info = _info(d, pid)
    netns, uts = info["namespaces"]["network"], info["namespaces"]["uts"]
    assert netns and uts and info["namespaces"]["ipc"]
    # Hostname in the UTS namespace and the files containers will mount.
    assert _sh("nsenter", "--uts=" + uts, "hostname").strip() == "web-0"
    assert open(info["hostnamePath"]).read() == "web-0\n"
    assert open(info["resolvConfPath"]).read() == \
        "nameserver 10.96.0.10\nsearch e2e.svc.cluster.local svc.cluster.local\noptions ndots:5\n"
    hosts = open(info["hostsPath"]).read()
    assert "127.0.0.1\tlocalhost" in hosts and "%s\tweb-0" % st.network.ip in hosts
    # The sysctl is set in the pod's namespace, not on the host.
    assert _sh("nsenter", "--net=" + netns, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").strip() == "80"
    # lo is up, eth0 has the address.
    addrs = _sh("nsenter", "--net=" + netns, "ip", "-o", "addr")
    assert "lo " in addrs and "127.0.0.1" in addrs and st.network.ip in addrs
    # The pod cgroup.
    assert os.path.isdir("/sys/fs/cgroup/memory/%s/podweb" % cg)

    # Reachable from the host at its IP, and through the port mapping on 127.0.0.1.
    server = _in_netns(netns, "python3", "-m", "http.server", "--bind", "0.0.0.0", "8080")
    try:
        # As a container of the pod would be: in the pod's cgroup.
        for ctrl in ("memory", "pids", "cpu,cpuacct"):
            procs = "/sys/fs/cgroup/%s/%s/podweb/cgroup.procs" % (ctrl, cg)
            if os.path.exists(procs):
                with open(procs, "w") as f:
                    f.write(str(server.pid))
        assert _connect(st.network.ip, 8080).startswith(b"HTTP/1.0 200")
        assert _connect("127.0.0.1", host_port).startswith(b"HTTP/1.0 200")
        stats = d.runtime.PodSandboxStats(api.PodSandboxStatsRequest(pod_sandbox_id=pid), timeout=30).stats
        assert stats.attributes.id == pid
        assert stats.linux.network.default_interface.name == "eth0"
        assert stats.linux.network.default_interface.rx_bytes.value > 0
        assert stats.linux.memory.usage_bytes.value > 0
        assert stats.linux.process.process_count.value >= 1  # pids.current counts threads
    finally:
        server.kill()
        server.wait()
    # The HTTP/JSON gateway serves the same handlers.
    code, body = d.gateway("/v1/runtime/sandbox/list", {"filter": {"labelSelector": {"app": "web"}}})
    assert code == 200 and [p["id"] for p in body["items"]] == [pid], body
    code, body = d.gateway("/v1/runtime/sandbox/status", {"podSandboxId": pid})
    assert code == 200 and body["status"]["network"]["ip"] == st.network.ip, body
    listed = d.runtime.ListPodSandboxStats(api.ListPodSandboxStatsRequest(
        filter=api.PodSandboxStatsFilter(label_selector={"app": "web"})), timeout=30).stats
    assert [s.attributes.id for s in listed] == [pid]

    # Stop: not ready, address and port rules released, namespaces unpinned; twice is fine.
    assert pid in _sh("iptables-save")
    d.runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    d.runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    st = _status(d, pid).status
    assert st.state == api.SANDBOX_NOTREADY and st.network.ip == ""
    assert not os.path.exists(netns)
    assert net.leases() == []
    assert pid not in _sh("iptables-save")

    d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    assert code_of(_status, d, pid)[0] == grpc.StatusCode.NOT_FOUND
    assert not os.path.isdir("/sys/fs/cgroup/memory/%s/podweb" % cg)
    assert not os.path.exists(os.path.dirname(info["hostsPath"]))
    assert _leftovers(pid) == []
    # Removing it again is not an error (kubelet retries removals).
    d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pid), timeout=60)


def test_host_network_pod_and_slice_parent(env):
    d, net, cg = env
    pid = _run(d, _config("hostnet", host_network=True, cgroup_parent="%s-podhn.slice" % cg))
    st = _status(d, pid).status
    assert st.state == api.SANDBOX_READY and st.network.ip == ""
    assert st.linux.namespaces.options.network == api.NODE
    info = _info(d, pid)
    assert info["namespaces"]["network"] == "" and info["namespaces"]["uts"] == ""
    assert open(info["hostnamePath"]).read().strip() == socket.gethostname()
    assert os.path.isdir("/sys/fs/cgroup/memory/%s.slice/%s-podhn.slice" % (cg, cg))
    d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    assert not os.path.isdir("/sys/fs/cgroup/memory/%s.slice/%s-podhn.slice" % (cg, cg))


def test_errors(env):
    d, net, cg = env
    unknown = "f" * 64
    for call, req in ((d.runtime.PodSandboxStatus, api.PodSandboxStatusRequest(pod_sandbox_id=unknown)),
                      (d.runtime.StopPodSandbox, api.StopPodSandboxRequest(pod_sandbox_id=unknown)),
                      (d.runtime.PodSandboxStats, api.PodSandboxStatsRequest(pod_sandbox_id=unknown))):
        code, msg = code_of(call, req, timeout=30)
        assert code == grpc.StatusCode.NOT_FOUND and "not found" in msg
    bad = [
        api.PodSandboxConfig(),  # no metadata
        _config("bad-host", hostname="not a hostname"),
        _config("bad-dns", dns=api.DNSConfig(servers=["dns.example.com"])),
        _config("bad-sysctl", sysctls={"vm.swappiness": "10"}),
        _config("bad-port", ports=[api.PortMapping(container_port=0, host_port=1)]),
        _config("bad-cgroup", cgroup_parent="/a/../b"),
    ]
    userns = _config("bad-userns")
    userns.linux.security_context.namespace_options.userns_options.CopyFrom(api.UserNamespace(
        mode=api.POD, uids=[api.IDMapping(host_id=100000, container_id=0, length=65536)],
        gids=[api.IDMapping(host_id=100000, container_id=0, length=65536)]))
    bad.append(userns)
    for cfg in bad:
        code, msg = code_of(d.runtime.RunPodSandbox, api.RunPodSandboxRequest(config=cfg), timeout=60)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (cfg, code, msg)
    # No usable CNI config on the node: not the request's fault (FAILED_PRECONDITION), NetworkReady false.
    conf = os.path.join(net.conf_dir, "10-servin-e2e.conflist")
    os.rename(conf, conf + ".off")
    try:
        code, msg = code_of(d.runtime.RunPodSandbox, api.RunPodSandboxRequest(config=_config("nonet")), timeout=60)
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "no CNI network config" in msg, msg
        conds = {c.type: c for c in d.runtime.Status(api.StatusRequest(), timeout=30).status.conditions}
        assert not conds["NetworkReady"].status and conds["NetworkReady"].reason == "NetworkPluginNotReady"
        with open(os.path.join(net.conf_dir, "00-broken.conf"), "w") as f:
            f.write("{not json")
        code, msg = code_of(d.runtime.RunPodSandbox, api.RunPodSandboxRequest(config=_config("nonet")), timeout=60)
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "00-broken.conf" in msg, msg
    finally:
        if os.path.exists(os.path.join(net.conf_dir, "00-broken.conf")):
            os.unlink(os.path.join(net.conf_dir, "00-broken.conf"))
        os.rename(conf + ".off", conf)
    conds = {c.type: c for c in d.runtime.Status(api.StatusRequest(), timeout=30).status.conditions}
    assert conds["NetworkReady"].status
    # The same name, namespace, uid and attempt twice.
    pid = _run(d, _config("twice"))
    code, msg = code_of(d.runtime.RunPodSandbox, api.RunPodSandboxRequest(config=_config("twice")), timeout=60)
    assert code == grpc.StatusCode.ALREADY_EXISTS and "already in use" in msg
    d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    # Nothing was left by the refused ones.
    items = d.runtime.ListPodSandbox(api.ListPodSandboxRequest(), timeout=30).items
    assert not [p for p in items if p.metadata.name.startswith("bad-") or p.metadata.name in ("twice", "nonet")]


def test_list_filters_restart_and_20_concurrent(env):
    d, net, cg = env

    def run(i):
        return _run(d, _config("many-%d" % i, cgroup_parent="/%s/pod%d" % (cg, i),
                               labels={"app": "many", "parity": "even" if i % 2 == 0 else "odd"}))

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
        ids = list(ex.map(run, range(20)))
    elapsed = time.time() - t0
    assert len(set(ids)) == 20
    ips = [_status(d, i).status.network.ip for i in ids]
    assert len(set(ips)) == 20 and all(ipaddress.ip_address(ip) in net.subnet for ip in ips)
    print("20 pods in %.1fs" % elapsed)

    items = d.runtime.ListPodSandbox(api.ListPodSandboxRequest(
        filter=api.PodSandboxFilter(label_selector={"app": "many"})), timeout=30).items
    assert sorted(p.id for p in items) == sorted(ids)
    even = d.runtime.ListPodSandbox(api.ListPodSandboxRequest(
        filter=api.PodSandboxFilter(label_selector={"app": "many", "parity": "even"})), timeout=30).items
    assert sorted(p.id for p in even) == sorted(ids[0::2])
    one = d.runtime.ListPodSandbox(api.ListPodSandboxRequest(filter=api.PodSandboxFilter(id=ids[3][:12])),
                                   timeout=30).items
    assert [p.id for p in one] == [ids[3]] and one[0].metadata.name == "many-3"

    d.runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=ids[0]), timeout=60)
    notready = d.runtime.ListPodSandbox(api.ListPodSandboxRequest(filter=api.PodSandboxFilter(
        state=api.PodSandboxStateValue(state=api.SANDBOX_NOTREADY))), timeout=30).items
    assert ids[0] in [p.id for p in notready] and ids[1] not in [p.id for p in notready]

    # A daemon restart: the pods are in the store, the ready ones still ready with their IPs.
    d.stop()
    d.start()
    after = {p.id: p for p in d.runtime.ListPodSandbox(api.ListPodSandboxRequest(), timeout=30).items}
    assert set(ids) <= set(after)
    assert after[ids[0]].state == api.SANDBOX_NOTREADY and after[ids[1]].state == api.SANDBOX_READY
    assert _status(d, ids[1]).status.network.ip == ips[1]

    def remove(i):
        d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=i), timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
        list(ex.map(remove, ids))
    assert not [p for p in d.runtime.ListPodSandbox(api.ListPodSandboxRequest(), timeout=30).items if p.id in ids]
    for i, pid in enumerate(ids):
        assert _leftovers(pid) == [], pid
        assert not os.path.isdir("/sys/fs/cgroup/memory/%s/pod%d" % (cg, i))
    assert net.leases() == []
    # No veth of ours is left on the bridge (the bridge itself stays, as CNI's bridge plugin leaves it).
    assert _sh("ip", "-o", "link", "show", "master", net.bridge).strip() == ""
    assert not [l for l in open("/proc/mounts") if "/pods/" in l and d.tmp in l]


def test_containers_of_a_pod_see_it_and_go_with_it(env):
    """A container in a networked pod has the pod's IP, hostname and DNS; StopPodSandbox stops it,
    RemovePodSandbox removes it, and its process is gone."""
    d, net, cg = env
    image = "localhost/podbb:latest"
    rootfs = os.path.join(d.tmp, "bb-rootfs.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), rootfs], check=True)
    d.servin.ok("import", "-c", 'CMD ["sh"]', rootfs, image)
    dns = api.DNSConfig(servers=["10.96.0.10"], searches=["ns1.svc"], options=["ndots:2"])
    cfg = _config("withctr", hostname="withctr-0", dns=dns, cgroup_parent="/%s/podctr" % cg)
    cfg.log_directory = os.path.join(d.tmp, "podlogs")
    pid = _run(d, cfg)
    ip = _status(d, pid).status.network.ip
    cc = api.ContainerConfig(metadata=api.ContainerMetadata(name="sleeper"), image=api.ImageSpec(image=image),
                             command=["sh", "-c", "sleep 1000"], log_path="sleeper/0.log")
    cid = d.runtime.CreateContainer(api.CreateContainerRequest(pod_sandbox_id=pid, config=cc, sandbox_config=cfg),
                                    timeout=60).container_id
    d.runtime.StartContainer(api.StartContainerRequest(container_id=cid), timeout=60)

    def exec_(*argv):
        r = d.runtime.ExecSync(api.ExecSyncRequest(container_id=cid, cmd=list(argv), timeout=10), timeout=60)
        assert r.exit_code == 0, r
        return r.stdout.decode()

    assert exec_("hostname").strip() == "withctr-0"
    assert ip in exec_("ip", "-o", "addr", "show", "eth0")
    assert exec_("cat", "/etc/resolv.conf") == "nameserver 10.96.0.10\nsearch ns1.svc\noptions ndots:2\n"
    assert "%s\twithctr-0" % ip in exec_("cat", "/etc/hosts")
    ctr_pid = json.loads(d.runtime.ContainerStatus(api.ContainerStatusRequest(container_id=cid, verbose=True),
                                                   timeout=30).info["info"])["pid"]
    assert ctr_pid > 0 and os.path.exists("/proc/%d" % ctr_pid)

    stats = d.runtime.PodSandboxStats(api.PodSandboxStatsRequest(pod_sandbox_id=pid), timeout=30).stats
    assert [c.attributes.id for c in stats.linux.containers] == [cid]
    assert stats.linux.memory.usage_bytes.value > 0 and stats.linux.process.process_count.value >= 1

    d.runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    st = d.runtime.ContainerStatus(api.ContainerStatusRequest(container_id=cid), timeout=30).status
    assert st.state == api.CONTAINER_EXITED
    assert not os.path.exists("/proc/%d" % ctr_pid)
    d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pid), timeout=60)
    assert code_of(d.runtime.ContainerStatus, api.ContainerStatusRequest(container_id=cid), timeout=30)[0] == \
        grpc.StatusCode.NOT_FOUND
    assert _leftovers(pid) == [] and _leftovers(cid) == []
    assert not os.path.isdir("/sys/fs/cgroup/memory/%s/podctr" % cg)
