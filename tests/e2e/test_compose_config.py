"""`servin compose config`: file discovery, -f merging, project names, .env and --env-file,
profiles, the resolved model as YAML and JSON, and one clear error with the line for bad files.
No containers: every case only reads files in a temp dir."""
import json
import os

import yaml

CLEAN_ENV = {"COMPOSE_PROFILES": "", "COMPOSE_PROJECT_NAME": "", "COMPOSE_FILE": ""}


def write(d, name, text):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def config(servin, d, *args, env=None):
    return servin.ok("compose", *args, cwd=d, env=dict(CLEAN_ENV, **(env or {}))).stdout


STACK = """\
x-common: &common
  restart: unless-stopped
  labels: {team: core}
services:
  web:
    <<: *common
    build: {context: ./web, dockerfile: Buildfile}
    ports: ["${WEB_PORT:-8080}:80"]
    environment:
      - GREETING=${GREETING}
      - FIXED=1
    depends_on:
      kv: {condition: service_healthy}
      job: {condition: service_completed_successfully}
    volumes: [data:/data, ./conf:/etc/conf:ro]
  kv:
    image: busybox
    command: httpd -f -p 6379
    healthcheck: {test: [CMD, "true"], interval: 1m30s}
    deploy: {resources: {limits: {memory: 512m, cpus: "0.5"}}}
  job:
    image: busybox
    command: ["true"]
  debug:
    image: busybox
    profiles: [dev]
volumes:
  data: {}
"""


def test_config_resolves_the_model(servin, tmp_path):
    d = str(tmp_path / "My Stack.1")
    write(d, "compose.yaml", STACK)
    write(d, ".env", "GREETING=hello from dotenv\n")
    model = yaml.safe_load(config(servin, d, "config"))
    assert model["name"] == "mystack1"  # the directory's name, normalised
    assert sorted(model["services"]) == ["job", "kv", "web"]  # debug is in a disabled profile
    web = model["services"]["web"]
    assert web["environment"] == {"GREETING": "hello from dotenv", "FIXED": "1"}
    assert web["restart"] == "unless-stopped" and web["labels"] == {"team": "core"}
    assert web["build"] == {"context": os.path.join(d, "web"), "dockerfile": "Buildfile"}
    assert web["ports"] == [{"mode": "ingress", "protocol": "tcp", "published": "8080", "target": 80}]
    assert web["depends_on"]["kv"]["condition"] == "service_healthy"
    assert web["volumes"][0] == {"type": "volume", "source": "data", "target": "/data"}
    assert web["volumes"][1]["source"] == os.path.join(d, "conf") and web["volumes"][1]["read_only"]
    assert web["networks"] == {"default": None}
    kv = model["services"]["kv"]
    assert kv["command"] == ["httpd", "-f", "-p", "6379"]
    assert kv["healthcheck"]["interval"] == "1m30s"
    assert kv["deploy"]["resources"]["limits"] == {"memory": 512 * 1024 * 1024, "cpus": "0.5"}
    assert model["volumes"]["data"]["name"] == "mystack1_data"
    assert model["networks"]["default"]["name"] == "mystack1_default"

    # the same model as JSON; the process environment wins over .env
    j = json.loads(config(servin, d, "config", "--format", "json", env={"GREETING": "from env", "WEB_PORT": "9000"}))
    assert j["services"]["web"]["environment"]["GREETING"] == "from env"
    assert j["services"]["web"]["ports"][0]["published"] == "9000"

    # names only; services in dependency order
    services = config(servin, d, "config", "--services").split()
    assert sorted(services) == ["job", "kv", "web"] and services[-1] == "web"
    assert config(servin, d, "config", "--volumes").split() == ["data"]
    assert config(servin, d, "config", "--profiles").split() == ["dev"]
    assert config(servin, d, "config", "-q") == ""
    assert list(yaml.safe_load(config(servin, d, "config", "kv"))["services"]) == ["kv"]
    servin.fail("compose", "config", "nosuch", cwd=d)
    hashes = dict(l.split() for l in config(servin, d, "config", "--hash", "*").splitlines())
    assert sorted(hashes) == ["job", "kv", "web"] and all(len(h) == 64 for h in hashes.values())
    # the hash follows the configuration: only web's changes with its variable
    changed = dict(l.split() for l in config(servin, d, "config", "--hash", "web,kv",
                                             env={"GREETING": "changed"}).splitlines())
    assert sorted(changed) == ["kv", "web"]
    assert changed["kv"] == hashes["kv"] and changed["web"] != hashes["web"]

    # profiles: --profile, COMPOSE_PROFILES
    assert "debug" in config(servin, d, "--profile", "dev", "config", "--services").split()
    assert "debug" in config(servin, d, "config", "--services", env={"COMPOSE_PROFILES": "dev"}).split()

    # -p, COMPOSE_PROJECT_NAME, --env-file
    write(d, "other.env", "GREETING=from other\n")
    m = yaml.safe_load(config(servin, d, "-p", "given", "--env-file", os.path.join(d, "other.env"), "config"))
    assert m["name"] == "given"
    assert m["services"]["web"]["environment"]["GREETING"] == "from other"
    assert yaml.safe_load(config(servin, d, "config", env={"COMPOSE_PROJECT_NAME": "fromenv"}))["name"] == "fromenv"
    servin.fail("compose", "-p", "Not Valid", "config", cwd=d)

    # --project-directory from elsewhere
    m = yaml.safe_load(config(servin, str(tmp_path), "--project-directory", d, "config"))
    assert m["name"] == "mystack1"


FULL = """\
name: full
services:
  app:
    build: {context: ., dockerfile: Buildfile, args: [V=1], target: prod}
    entrypoint: ["/bin/sh", "-c"]
    command: 'echo "a: b" # not a comment'
    environment: {EMPTY: "", TRUE_STRING: "true", NUM: "010", COLON: "a: b", NULLV: null}
    env_file: [app.env]
    ports: ["127.0.0.1:8080-8081:80-81/udp", {target: 22, published: "2222", mode: host}]
    expose: ["3000"]
    volumes:
      - data:/data:nocopy
      - ./src:/src:ro
      - {type: tmpfs, target: /tmp, tmpfs: {size: 1m, mode: "1777"}}
    tmpfs: ["/run:size=1m"]
    networks: {back: {aliases: [a1], ipv4_address: 10.9.0.5}}
    depends_on: {db: {condition: service_healthy, restart: true}}
    healthcheck: {test: "curl -f localhost", interval: 10s, timeout: 500ms, retries: 3, start_period: 1m}
    restart: on-failure:3
    deploy: {replicas: 2, resources: {limits: {memory: 1g, cpus: "1.5", pids: 50}, reservations: {memory: 64m}}}
    labels: {a: b}
    user: "1000:1000"
    working_dir: /src
    hostname: app
    init: true
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    privileged: false
    read_only: true
    security_opt: [no-new-privileges]
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    extra_hosts: ["db.local:10.9.0.2"]
    dns: [1.1.1.1]
    logging: {driver: json-file, options: {max-size: 10m}}
    container_name: the-app
    pull_policy: build
    secrets: [token]
    configs: [{source: conf, target: /etc/app.conf, mode: 0440}]
  db:
    image: busybox
    healthcheck: {disable: true}
    network_mode: none
volumes: {data: {labels: {x: y}}, old: {external: true}}
networks: {back: {internal: true, ipam: {config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1}]}}}
secrets: {token: {file: ./token}}
configs: {conf: {file: ./app.conf}}
"""


def test_every_key_round_trips(servin, tmp_path):
    """The printed model reads back as the same model: the YAML emitter quotes what it must."""
    d = str(tmp_path / "full")
    write(d, "compose.yaml", FULL)
    write(d, "app.env", "FROM_FILE=1\n")
    first = config(servin, d, "config")
    m = yaml.safe_load(first)
    app = m["services"]["app"]
    assert app["environment"] == {"EMPTY": "", "TRUE_STRING": "true", "NUM": "010", "COLON": "a: b",
                                  "NULLV": None, "FROM_FILE": "1"}
    assert app["command"] == ["echo", "a: b", "#", "not", "a", "comment"]
    assert [(p["target"], p.get("published"), p["protocol"]) for p in app["ports"]] == [
        (80, "8080", "udp"), (81, "8081", "udp"), (22, "2222", "tcp")]
    assert app["volumes"][2]["tmpfs"] == {"size": 1048576, "mode": "1777"}
    assert app["configs"] == [{"source": "conf", "target": "/etc/app.conf", "mode": 0o440}]
    assert app["deploy"]["resources"]["limits"] == {"memory": 1 << 30, "cpus": "1.5", "pids": 50}
    assert app["healthcheck"]["test"] == ["CMD-SHELL", "curl -f localhost"]
    assert app["healthcheck"]["timeout"] == "500ms" and app["stop_grace_period"] == "1m30s"
    assert m["volumes"]["old"] == {"name": "old", "external": True}
    assert m["networks"]["back"]["ipam"]["config"] == [{"subnet": "10.9.0.0/24", "gateway": "10.9.0.1"}]
    write(d, "printed.yaml", first)
    again = config(servin, d, "-f", "printed.yaml", "config")
    assert again == first


def test_discovery_order_and_merging(servin, tmp_path):
    d = str(tmp_path / "disc")
    write(d, "docker-compose.yaml", "services: {a: {image: from-docker-compose-yaml}}\n")
    assert yaml.safe_load(config(servin, d, "config"))["services"]["a"]["image"] == "from-docker-compose-yaml"
    for name in ("docker-compose.yml", "compose.yml", "compose.yaml", "servin-compose.yml"):
        write(d, name, "services: {a: {image: from-%s}}\n" % name)
        assert yaml.safe_load(config(servin, d, "config"))["services"]["a"]["image"] == "from-" + name
    r = servin.fail("compose", "config", cwd=str(tmp_path))
    assert "no compose file found" in r.stderr

    # -f, repeatable: later files merge over earlier ones
    write(d, "base.yml", """\
services:
  a:
    image: base
    command: [sleep, "1"]
    environment: {A: "1", B: "2"}
    ports: ["80:80"]
    volumes: ["/host/one:/one"]
""")
    write(d, "over.yml", """\
services:
  a:
    command: echo over
    environment: [B=3, C=4]
    ports: ["81:81"]
    volumes: ["/host/two:/one:ro"]
  b:
    image: other
""")
    m = yaml.safe_load(config(servin, d, "-f", "base.yml", "-f", "over.yml", "config"))
    a = m["services"]["a"]
    assert a["image"] == "base"
    assert a["command"] == ["echo", "over"]
    assert a["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert [p["target"] for p in a["ports"]] == [80, 81]
    assert len(a["volumes"]) == 1 and a["volumes"][0]["source"] == "/host/two" and a["volumes"][0]["read_only"]
    assert m["services"]["b"]["image"] == "other"
    assert m["name"] == "disc"

    # -f - reads stdin, in the current directory's project
    r = servin.ok("compose", "-f", "-", "config", input="services: {s: {image: from-stdin}}\n", cwd=d, env=CLEAN_ENV)
    m = yaml.safe_load(r.stdout)
    assert m["services"]["s"]["image"] == "from-stdin" and m["name"] == "disc"
    r = servin.fail("compose", "-f", "-", "config", input="services: {s: {image: [x]}}\n", cwd=d, env=CLEAN_ENV)
    assert "-:1: services.s.image: expected a string, got a sequence" in r.stderr


BAD_FILES = [
    ("cycle", "services:\n  a: {image: x, depends_on: [b]}\n  b:\n    image: x\n    depends_on: [a]\n",
     "compose.yaml:5: services.b.depends_on: dependency cycle between services: a -> b -> a"),
    ("unknown key", "services:\n  web:\n    image: x\n    portz: ['80']\n",
     "compose.yaml:4: services.web.portz: unknown key"),
    ("wrong type", "services:\n  web:\n    image: x\n    ports:\n      - [80]\n",
     "compose.yaml:5: services.web.ports[0]: expected a string or a mapping, got a sequence"),
    ("missing variable", "services:\n  web:\n    image: ${IMAGE:?set IMAGE first}\n",
     "compose.yaml:3: services.web.image: required variable IMAGE is missing a value: set IMAGE first"),
    ("yaml syntax", "services:\n  web:\n    image: x\n  - oops\n", "compose.yaml:4:"),
]


def test_bad_files_give_one_error_with_the_line(servin, tmp_path):
    for i, (what, text, expected) in enumerate(BAD_FILES):
        d = str(tmp_path / ("bad%d" % i))
        write(d, "compose.yaml", text)
        r = servin.fail("compose", "config", cwd=d, env=CLEAN_ENV)
        assert expected in r.stderr, "%s: %s" % (what, r.stderr)
        assert r.stdout == ""
        r = servin.fail("compose", "config", "-q", cwd=d, env=CLEAN_ENV)
        assert expected in r.stderr
    # valid but unsupported keys only warn, once
    d = str(tmp_path / "warn")
    write(d, "compose.yaml", "services:\n  web:\n    image: x\n    develop: {watch: []}\n")
    r = servin.ok("compose", "config", "-q", cwd=d, env=CLEAN_ENV)
    assert r.stderr.count("services.web.develop is not supported") == 1


SERVICE_KEYS = """image build command entrypoint environment env_file ports expose volumes tmpfs networks
network_mode depends_on healthcheck restart deploy labels user init stop_grace_period ulimits extra_hosts
dns logging pull_policy profiles configs secrets shm_size cpus sysctls extends""".split()
ODD_VALUES = ["[[1]]", "{a: {b: [1]}}", "[{a: [1]}]", "{'': 1}"]
ODD_FILES = [
    "services: {s: {image: '${A:-${B'}}\n", "services: {s: {image: '${}'}}\n", "services: [1]\n",
    "services: {s: {<<: 1, image: x}}\n", "? [a]\n: 1\nservices: {s: {image: x}}\n", "include: [{path: [[1]]}]\n",
    "services: {s: {image: x}}\nnetworks: {a: {ipam: {config: [{subnet: []}]}}}\n",
    "services: {s: {image: x}}\nvolumes: {a: {external: {name: []}}}\n",
    "services: {s: {image: x}}\nsecrets: {a: {file: x, external: true}}\n",
    "services:\n  s:\n    image: x\n    ports: ['a:b:c:d', '::::', '1-2:3']\n",
    "services:\n  s:\n    image: x\n    volumes: [':', 'a:b:c:d', '/x:/y:zz']\n",
    "services:\n  s:\n    image: x\n    networks: null\n    depends_on: {}\n    ports: null\n",
]


def test_odd_shapes_never_crash(servin, tmp_path):
    """Every key given values of the wrong shape: a clean load or one error line, never a crash."""
    d = str(tmp_path / "odd")
    cases = ["services:\n  s:\n    image: x\n    %s: %s\n" % (k, v) for k in SERVICE_KEYS for v in ODD_VALUES]
    for text in cases + ODD_FILES:
        write(d, "compose.yaml", text)
        r = servin("compose", "config", "-q", check=False, cwd=d, env=CLEAN_ENV)
        errors = [l for l in r.stderr.splitlines() if l.startswith("servin: ")]
        assert (r.returncode == 0 and not errors) or (r.returncode == 125 and len(errors) == 1), (text, r.stderr)
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, (text, r.stderr)
