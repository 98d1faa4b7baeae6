"""Networks: published ports reached from the host over 127.0.0.1, names that resolve on a user
network, --internal, --network none, a taken host port, 30 parallel starts; and after each test no
veth, iptables rule, lease or pinned namespace is left.

Every network gets a unique name and a random 10.x.y.0/24 subnet not routed on this host; traffic
only goes to 127.0.0.1 or between our own containers.
"""

import concurrent.futures
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/lib/podman/netavark"),
                                reason="networks need root and netavark")
IMAGE = "localhost/bb:latest"


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def iptables_rules():
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.startswith("-A")]


def nat_rules():
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.startswith("-A")]


def links():
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def routed(prefix):
    return prefix in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout


def unique_subnet():
    for _ in range(200):
        a, b = random.randint(200, 250), random.randint(0, 255)
        prefix = "10.%d.%d." % (a, b)
        if not routed(prefix):
            return prefix + "0/24", prefix
    raise AssertionError("no free test subnet")


def unique_name(stem):
    return "%s-%d-%d" % (stem, os.getpid(), random.randint(0, 1 << 30))


class Net:
    def __init__(self, servin):
        self.servin = servin
        self.made = []

    def create(self, *flags):
        subnet, prefix = unique_subnet()
        name = unique_name("nt")
        nid = self.servin.ok("network", "create", "--subnet", subnet, *flags, name).stdout.strip()
        info = self.servin.json("network", "inspect", name)[0]
        self.made.append((name, prefix, info["Options"]["com.docker.network.bridge.name"]))
        assert info["Id"] == nid
        return name, prefix


@pytest.fixture
def net(busybox_rootfs, servin_bin):
    tmp = tempfile.mkdtemp(prefix="svn-", dir="/tmp")
    servin = Servin(tmp)
    servin.ok("import", "-c", 'CMD ["sh"]', str(busybox_rootfs), IMAGE)
    n = Net(servin)
    yield n
    for cid in servin.lines("ps", "-aq", "--no-trunc", check=False):
        servin("rm", "-f", cid, check=False)
    # Monitors run their cleanup after the container is gone: give them a moment.
    deadline = time.time() + 15
    left = leftovers(servin, n.made)
    while any(left) and time.time() < deadline:
        time.sleep(0.2)
        left = leftovers(servin, n.made)
    for name, _, _ in n.made:
        servin("network", "rm", name, check=False)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not any(left), "left behind (rules, bridges, veths, netns, leases, DNS entries): %r" % (left,)


def leftovers(servin, made):
    """What containers left of their networking on our networks: iptables rules naming the
    subnets, the bridges and veths on them, pinned namespaces, leases, aardvark-dns entries."""
    rules = [r for r in iptables_rules() if any(p in r for _, p, _ in made)]
    bridges = [b for _, _, b in made if (" %s:" % b) in links()]
    veths = [l for l in links().splitlines() if any(" master %s " % b in l for _, _, b in made)]
    run = os.path.join(servin.root, "run")
    netns = os.listdir(os.path.join(run, "netns")) if os.path.isdir(os.path.join(run, "netns")) else []
    db = sqlite3.connect(os.path.join(servin.root, "servin.db"))
    leases = db.execute("SELECT ip, container_id FROM network_leases").fetchall()
    db.close()
    dns = []
    for name, _, _ in made:
        path = os.path.join(run, "netavark", "aardvark-dns", name)
        if os.path.exists(path):
            # The first line is the network's own DNS address; the rest are containers.
            dns += open(path).read().splitlines()[1:]
    return rules, bridges, veths, netns, leases, dns


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, deadline=10):
    end = time.time() + deadline
    while True:
        try:
            return http_get(url)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# busybox-static's wget resolves through glibc's NSS, which a static binary cannot load: names go
# through busybox's own nslookup (straight to the network's DNS server), then wget by address.
FETCH = ("fetch() { for i in 1 2 3 4 5 6 7 8 9 10; do "
         "a=$(nslookup $1 2>/dev/null | awk '/^Address: /{x=$2} END{print x}'); "
         "[ -n \"$a\" ] && timeout 3 wget -q -O- http://$a/ && return 0; sleep 0.3; done; return 1; }; ")

WEB = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def test_published_port_is_reached_over_loopback(net):
    s = net.servin
    port = free_port()
    cid = s.ok("run", "-d", "--name", "web", "-p", "127.0.0.1:%d:80" % port, IMAGE, "sh", "-c", WEB).stdout.strip()
    body = wait_http("http://127.0.0.1:%d/" % port)
    assert body.startswith("hello-from-")
    assert s.ok("port", "web").stdout.strip() == "80/tcp -> 127.0.0.1:%d" % port
    assert s.ok("port", "web", "80").stdout.strip() == "127.0.0.1:%d" % port
    assert "127.0.0.1:%d->80/tcp" % port in s.ok("ps").stdout
    info = s.json("inspect", cid)[0]
    ns = info["NetworkSettings"]
    assert ns["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert ns["Networks"]["bridge"]["IPAddress"].startswith("172.17.")
    assert ns["IPAddress"] == ns["Networks"]["bridge"]["IPAddress"]
    s.ok("rm", "-f", "web")
    with pytest.raises(OSError):
        http_get("http://127.0.0.1:%d/" % port, timeout=2)


def host_other_address():
    """An IPv4 address of this host other than loopback and the bridges containers use."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        dev, addr = f[1], f[3].split("/")[0]
        if dev == "lo" or dev.startswith(("svn", "servin", "podman", "cni", "docker", "br-", "veth")):
            continue
        if not addr.startswith("127."):
            return addr
    return None


def test_published_port_is_reached_over_the_hosts_other_address(net):
    addr = host_other_address()
    if not addr:
        pytest.skip("this machine has no IPv4 address but loopback and bridges")
    s = net.servin
    name, prefix = net.create()
    port = free_port()
    s.ok("run", "-d", "--name", "web", "--network", name, "-p", "%d:80" % port, IMAGE, "sh", "-c", WEB)
    assert wait_http("http://%s:%d/" % (addr, port)).startswith("hello-from-")
    assert wait_http("http://127.0.0.1:%d/" % port).startswith("hello-from-")
    assert s.ok("port", "web", "80").stdout.strip() == "0.0.0.0:%d" % port
    # Published on 127.0.0.1 only: the other address does not answer.
    port2 = free_port()
    s.ok("run", "-d", "--name", "local", "--network", name, "-p", "127.0.0.1:%d:80" % port2, IMAGE,
         "sh", "-c", WEB)
    assert wait_http("http://127.0.0.1:%d/" % port2).startswith("hello-from-")
    with pytest.raises(OSError):
        http_get("http://%s:%d/" % (addr, port2), timeout=2)


def test_random_host_port_and_publish_all(net):
    s = net.servin
    s.ok("run", "-d", "--name", "rnd", "-p", "80", IMAGE, "sh", "-c", WEB)
    out = s.ok("port", "rnd", "80/tcp").stdout.strip()
    port = int(out.rsplit(":", 1)[1])
    assert port > 0
    assert wait_http("http://127.0.0.1:%d/" % port).startswith("hello-from-")
    s.ok("run", "-d", "--name", "all", "--expose", "80", "-P", IMAGE, "sh", "-c", WEB)
    port2 = int(s.ok("port", "all", "80").stdout.strip().rsplit(":", 1)[1])
    assert port2 != port
    assert wait_http("http://127.0.0.1:%d/" % port2).startswith("hello-from-")


def test_containers_on_a_user_network_resolve_each_other(net):
    s = net.servin
    name, prefix = net.create()
    s.ok("run", "-d", "--name", "srv", "--network", name, "--network-alias", "db", IMAGE, "sh", "-c", WEB)
    r = s.ok("run", "--rm", "--network", name, IMAGE, "sh", "-c",
             FETCH + "fetch srv; fetch db")
    assert r.stdout.count("hello-from-") == 2, r.stdout
    ip = s.json("inspect", "srv")[0]["NetworkSettings"]["Networks"][name]["IPAddress"]
    assert ip.startswith(prefix)
    # One started later is found by the first.
    s.ok("run", "-d", "--name", "late", "--network", name, IMAGE, "sh", "-c", WEB)
    r = s.ok("exec", "srv", "sh", "-c", FETCH + "fetch late")
    assert "hello-from-" in r.stdout
    hosts = s.ok("exec", "srv", "cat", "/etc/hosts").stdout
    assert ip in hosts
    resolv = s.ok("exec", "srv", "cat", "/etc/resolv.conf").stdout
    assert "nameserver %s1" % prefix in resolv


def test_internal_network_has_no_way_out(net):
    s = net.servin
    name, prefix = net.create("--internal")
    assert s.json("network", "inspect", name)[0]["Internal"] is True
    port = free_port()
    s.ok("run", "-d", "--name", "pub", "-p", "%d:80" % port, IMAGE, "sh", "-c", WEB)
    wait_http("http://127.0.0.1:%d/" % port)
    pub_ip = s.json("inspect", "pub")[0]["NetworkSettings"]["IPAddress"]
    r = s("run", "--rm", "--network", name, IMAGE, "sh", "-c",
          "ip route; timeout 3 wget -q -O- http://%s/" % pub_ip, check=False)
    assert "default" not in r.stdout
    assert r.returncode != 0 and "hello-from-" not in r.stdout
    # Nor to the host: its own gateway address is the only one it has a route to.
    addr = host_other_address()
    for target in [a for a in (addr, "127.0.0.1", "172.17.0.1") if a]:
        r = s("run", "--rm", "--network", name, IMAGE, "sh", "-c",
              "timeout 3 wget -q -O- http://%s:%d/" % (target, port), check=False)
        assert r.returncode != 0 and "hello-from-" not in r.stdout, target
    # Inside the internal network containers still reach each other.
    s.ok("run", "-d", "--name", "in1", "--network", name, IMAGE, "sh", "-c", WEB)
    in1 = s.json("inspect", "in1")[0]["NetworkSettings"]["Networks"][name]["IPAddress"]
    r = s.ok("run", "--rm", "--network", name, IMAGE, "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -q -O- http://%s/ && break; sleep 0.3; done" % in1)
    assert "hello-from-" in r.stdout


def test_network_none_has_only_lo(net):
    r = net.servin.ok("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "ls /sys/class/net")
    assert r.stdout.split() == ["lo"]
    r = net.servin.ok("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "ip -o link | grep -c UP")
    assert r.stdout.strip() == "1"


def test_taken_host_port_is_a_clear_error_and_leaves_nothing(net):
    s = net.servin
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hold:
        hold.bind(("127.0.0.1", 0))
        hold.listen(1)
        port = hold.getsockname()[1]
        r = s.fail("run", "-d", "--name", "clash", "-p", "127.0.0.1:%d:80" % port, IMAGE, "sleep", "60", code=125)
        assert "already in use" in r.stderr and str(port) in r.stderr
    info = s.json("inspect", "clash")[0]
    assert info["State"]["Running"] is False
    assert info["NetworkSettings"]["Ports"].get("80/tcp") is None
    # Nothing left: no lease, no namespace, no rule for the port, no rootfs mount.
    db = sqlite3.connect(os.path.join(s.root, "servin.db"))
    assert db.execute("SELECT count(*) FROM network_leases").fetchone()[0] == 0
    db.close()
    netns_dir = os.path.join(s.root, "run", "netns")
    assert not os.path.isdir(netns_dir) or os.listdir(netns_dir) == []
    assert not any("--dport %d " % port in r for r in iptables_rules() + nat_rules())
    assert info["Id"] not in open("/proc/self/mountinfo").read()
    # The same on a user network, and the port is free for the next try once released.
    name, prefix = net.create()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hold:
        hold.bind(("0.0.0.0", 0))
        hold.listen(1)
        port = hold.getsockname()[1]
        r = s.fail("run", "-d", "--name", "clash2", "--network", name, "-p", "%d:80" % port, IMAGE,
                   "sleep", "60", code=125)
        assert "already in use" in r.stderr and str(port) in r.stderr
    assert not any(leftovers(s, net.made))
    s.ok("start", "clash2")
    assert s.ok("port", "clash2", "80").stdout.strip() == "0.0.0.0:%d" % port


def test_thirty_parallel_starts_get_distinct_addresses_and_resolve(net):
    s = net.servin
    name, prefix = net.create()
    names = ["p%02d" % i for i in range(30)]

    def start(n):
        return s("run", "-d", "--name", n, "--network", name, IMAGE, "sleep", "120", check=False)

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
        results = list(ex.map(start, names))
    for r in results:
        assert r.returncode == 0, r.stderr
    ips = {}
    for n in names:
        ip = s.json("inspect", n)[0]["NetworkSettings"]["Networks"][name]["IPAddress"]
        assert ip.startswith(prefix)
        ips[n] = ip
    assert len(set(ips.values())) == 30
    script = "; ".join("nslookup %s >/dev/null 2>&1 && echo ok-%s" % (n, n) for n in names)
    r = s.ok("run", "--rm", "--network", name, IMAGE, "sh", "-c", script)
    assert sorted(l for l in r.stdout.split() if l.startswith("ok-")) == ["ok-" + n for n in names]


def test_network_commands(net):
    s = net.servin
    name, prefix = net.create("--label", "team=blue")
    assert name in s.lines("network", "ls", "--format", "{{.Name}}")
    assert s.lines("network", "ls", "--filter", "label=team=blue", "--format", "{{.Name}}") == [name]
    assert len(s.lines("network", "ls", "-q")) >= 2
    r = s.fail("network", "create", "--subnet", prefix + "0/24", unique_name("dup"))
    assert "overlaps" in r.stderr
    s.ok("run", "-d", "--name", "c1", "--network", name, IMAGE, "sleep", "60")
    r = s.fail("network", "rm", name)
    assert "container" in r.stderr
    info = s.json("network", "inspect", name)[0]
    assert len(info["Containers"]) == 1 and info["Labels"] == {"team": "blue"}
    # Connect a running container to a second network, then disconnect it.
    name2, prefix2 = net.create()
    s.ok("network", "connect", "--alias", "second", name2, "c1")
    out = s.ok("exec", "c1", "ip", "-o", "-4", "addr").stdout
    assert prefix2 in out and prefix in out
    s.ok("network", "disconnect", name2, "c1")
    assert prefix2 not in s.ok("exec", "c1", "ip", "-o", "-4", "addr").stdout
    s.ok("rm", "-f", "c1")
    s.ok("network", "rm", name)
    s.fail("network", "inspect", name)
    # Filters choose what prune takes: until= in the past nothing, label!= all but the labelled.
    keep, _ = net.create("--label", "keep=1")
    r = s.ok("network", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert r.stdout == "" and name2 in s.ok("network", "ls").stdout
    r = s.ok("network", "prune", "-f", "--filter", "label!=keep=1")
    assert "Deleted Networks:\n" in r.stdout and name2 in r.stdout and keep not in r.stdout
    assert name2 not in s.ok("network", "ls").stdout and keep in s.ok("network", "ls").stdout
    s.fail("network", "prune", "-f", "--filter", "colour=red")
    assert "Deleted Networks:\n%s\n" % keep in s.ok("network", "prune", "-f").stdout
    s.fail("run", "--rm", "--network", unique_name("missing"), IMAGE, "true")


def test_dns_flags_and_add_host(net):
    r = net.servin.ok("run", "--rm", "--dns", "10.254.254.254", "--dns-search", "example.test",
                      "--dns-option", "ndots:2", "--add-host", "myhost:10.1.2.3", IMAGE, "sh", "-c",
                      "cat /etc/resolv.conf /etc/hosts")
    assert "nameserver 10.254.254.254" in r.stdout
    assert "search example.test" in r.stdout
    assert "options ndots:2" in r.stdout
    assert "10.1.2.3\tmyhost" in r.stdout


def pid_of(servin, cid, what):
    run = os.path.join(servin.root, "run", "containers", cid)
    if what == "monitor":
        return int(open(os.path.join(run, "monitor.pid")).read())
    return json.load(open(os.path.join(run, "state")))["Pid"]


def test_system_prune_releases_what_a_killed_monitor_left(net):
    """kill -9 the monitor and the container of a running container with a published port on a
    user network: `system prune` (with a filter that keeps the container record) and then
    `system restore` leave no veth, rule, lease, netns file, DNS entry or rootfs mount."""
    s = net.servin
    name, prefix = net.create()
    port = free_port()
    cid = s.ok("run", "-d", "--name", "lost", "--network", name, "-p", "127.0.0.1:%d:80" % port,
               IMAGE, "sh", "-c", WEB).stdout.strip()
    wait_http("http://127.0.0.1:%d/" % port)
    s.ok("run", "-d", "--name", "keeper", "--network", name, IMAGE, "sleep", "120")
    for what in ("monitor", "container"):
        os.kill(pid_of(s, cid, what), 9)
    time.sleep(0.3)
    rules, bridges, veths, netns, leases, dns = leftovers(s, net.made)
    assert rules and len(veths) == 2 and cid in netns and leases and any(cid in d for d in dns)
    r = s.ok("system", "prune", "-f", "--filter", "label=keep-all")
    assert r.stdout.strip().endswith("Total reclaimed space: 0B")
    rules, bridges, veths, netns, leases, dns = leftovers(s, net.made)
    # Only the running "keeper" holds anything now.
    keeper = s.json("inspect", "keeper")[0]["Id"]
    assert len(veths) == 1 and netns == [keeper], (veths, netns)
    assert [c for _, c in leases] == [keeper] and not any(cid in d for d in dns)
    assert not any(str(port) in rule for rule in rules)
    assert cid not in open("/proc/self/mountinfo").read()
    assert s.json("inspect", "lost")[0]["State"]["Status"] == "exited"
    # The same container starts again on its old port.
    s.ok("start", "lost")
    assert wait_http("http://127.0.0.1:%d/" % port).startswith("hello-from-")
    s.ok("rm", "-f", "keeper")
    # system restore cleans the same way.
    for what in ("monitor", "container"):
        os.kill(pid_of(s, cid, what), 9)
    time.sleep(0.3)
    assert any(leftovers(s, net.made))
    s.ok("system", "restore")
    assert not any(leftovers(s, net.made)), leftovers(s, net.made)
    assert cid not in open("/proc/self/mountinfo").read()


def test_system_prune_releases_what_a_killed_start_left(net, tmp_path):
    """`servin run` killed right after the backend wired the container, before the monitor ran:
    system prune releases the veth, rules, lease, DNS entry, namespace and rootfs mount."""
    s = net.servin
    name, prefix = net.create()
    marker = tmp_path / "netavark.pid"
    fake = tmp_path / "netavark"
    fake.write_text("#!/bin/sh\n/usr/lib/podman/netavark \"$@\" || exit $?\n"
                    "case \" $* \" in *\" setup \"*) echo $$ > %s; exec sleep 60;; esac\n" % marker)
    fake.chmod(0o755)
    p = s.popen("run", "-d", "--name", "half", "--network", name, IMAGE, "sleep", "60",
                env={"SERVIN_NETAVARK": str(fake)})
    deadline = time.time() + 30
    while not marker.exists() or not marker.read_text().strip():
        assert time.time() < deadline and p.poll() is None, p.communicate()
        time.sleep(0.05)
    os.kill(p.pid, 9)
    os.kill(int(marker.read_text()), 9)
    p.wait()
    cid = s.json("inspect", "half")[0]["Id"]
    rules, bridges, veths, netns, leases, dns = leftovers(s, net.made)
    assert rules and veths and netns == [cid] and leases and dns
    assert cid in open("/proc/self/mountinfo").read()
    r = s.ok("system", "prune", "-f")
    assert cid in r.stdout and "Deleted Containers:" in r.stdout and name in r.stdout
    assert not any(leftovers(s, net.made)), leftovers(s, net.made)
    assert cid not in open("/proc/self/mountinfo").read()


def test_network_container_mode(net):
    """--network container:X shares X's namespace (address, lo, its /etc/hosts and resolv.conf,
    names on X's user network); a stopped X is a clear error; -p with it is refused."""
    s = net.servin
    name, prefix = net.create()
    s.ok("run", "-d", "--name", "srv", "--network", name, IMAGE, "sh", "-c", WEB)
    s.ok("run", "-d", "--name", "peer", "--network", name, IMAGE, "sh", "-c", WEB)
    ip = s.json("inspect", "srv")[0]["NetworkSettings"]["Networks"][name]["IPAddress"]
    r = s.ok("run", "--rm", "--network", "container:srv", IMAGE, "sh", "-c",
             "ip -o -4 addr show eth0; hostname; cat /etc/hosts /etc/resolv.conf; "
             "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1/ && break; sleep 0.3; done; "
             + FETCH + "fetch peer")
    assert ip + "/" in r.stdout
    srv_host = s.json("inspect", "srv")[0]["Config"]["Hostname"]
    assert r.stdout.splitlines()[1] == srv_host
    assert "%s\t%s" % (ip, srv_host) in r.stdout and "nameserver %s1" % prefix in r.stdout
    assert r.stdout.count("hello-from-") == 2, r.stdout
    r = s.fail("run", "--rm", "--network", "container:srv", "-p", "80", IMAGE, "true")
    assert "conflicting options: port publishing" in r.stderr
    s.ok("stop", "-t", "0", "srv")
    r = s.fail("run", "--rm", "--network", "container:srv", IMAGE, "true", code=125)
    assert "cannot join the network of container srv: it is not running" in r.stderr
    s.fail("run", "--rm", "--network", "container:no-such-container", IMAGE, "true", code=125)
    # X on --network none: its lo is shared, nothing else.
    s.ok("run", "-d", "--name", "lonely", "--network", "none", IMAGE, "sh", "-c",
         "mkdir -p /w && echo only-lo > /w/index.html && exec httpd -f -p 127.0.0.1:80 -h /w")
    r = s.ok("run", "--rm", "--network", "container:lonely", IMAGE, "sh", "-c",
             "ls /sys/class/net; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1/ && break; "
             "sleep 0.3; done")
    assert r.stdout.split() == ["lo", "only-lo"], r.stdout
    s.ok("rm", "-f", "lonely")


def test_published_port_ranges(net):
    s = net.servin
    base = free_port()
    while base > 65000:
        base = free_port()
    serve = "mkdir -p /www && echo r > /www/index.html && httpd -p 80 -h /www && httpd -f -p 81 -h /www"
    s.ok("run", "-d", "--name", "rng", "-p", "127.0.0.1:%d-%d:80-81" % (base, base + 1),
         "-p", "127.0.0.1:%d-%d:90-91/udp" % (base + 2, base + 3), IMAGE, "sh", "-c", serve)
    assert s.lines("port", "rng") == ["80/tcp -> 127.0.0.1:%d" % base, "81/tcp -> 127.0.0.1:%d" % (base + 1),
                                      "90/udp -> 127.0.0.1:%d" % (base + 2), "91/udp -> 127.0.0.1:%d" % (base + 3)]
    assert wait_http("http://127.0.0.1:%d/" % base).strip() == "r"
    assert wait_http("http://127.0.0.1:%d/" % (base + 1)).strip() == "r"
    # A host range for one container port takes the first port free on the host and in the store
    # (base, base+1: tcp of "rng"; base+2: held here; base+2 and +3 are udp only in "rng").
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hold:
        hold.bind(("127.0.0.1", base + 2))
        hold.listen(1)
        s.ok("run", "-d", "--name", "pick", "-p", "127.0.0.1:%d-%d:80" % (base, base + 5), IMAGE, "sh", "-c", WEB)
    assert s.ok("port", "pick", "80").stdout.strip() == "127.0.0.1:%d" % (base + 3)
    r = s.fail("run", "-p", "%d-%d:80-82" % (base, base + 1), IMAGE, "true")
    assert "same length" in r.stderr
