"""Fixtures for Servin's end-to-end tests (pytest, run as root).

The binary is $SERVIN_BIN, else build/servin under the repository root.

Runner
------
``servin`` (function scope)
    A callable bound to a fresh temporary store.  ``servin("images", "-q")`` runs
    ``servin --root <tmp>/root images -q`` and returns a ``subprocess.CompletedProcess``
    (text mode, stdout and stderr captured).  Keyword arguments:
    ``check=True`` (raise AssertionError with stdout/stderr when the exit code is not 0),
    ``input=`` (str or bytes for stdin; bytes switch the call to binary mode),
    ``timeout=300``, ``env={...}`` (extra environment), ``root=False`` (omit ``--root``),
    ``cwd=``.
    Methods: ``servin.ok(*args)`` (must succeed), ``servin.fail(*args, code=None)`` (must exit
    non-zero with exactly one ``servin: `` line on stderr; returns the result),
    ``servin.json(*args)`` (succeeds, parses stdout as JSON), ``servin.lines(*args)``
    (succeeds, returns non-empty stdout lines), ``servin.popen(*args)`` (subprocess.Popen).
    Attributes: ``.root`` (store root), ``.auth_file`` (``<tmp>/auth.json``, passed as
    $SERVIN_REGISTRY_AUTH_FILE), ``.env`` (the environment used), ``.bin``, ``.tmp``.
``make_servin()`` (function scope)
    Factory: ``other = make_servin()`` returns another runner with its own root and auth file.
``servin_bin`` (session)
    Absolute path of the binary.

Registries (session scope; Debian's ``docker-registry serve`` on 127.0.0.1, free port)
-------------------------------------------------------------------------------------
``registry``          anonymous.  ``.host`` ("127.0.0.1:PORT"), ``.url``, ``.storage``, ``.log``.
``auth_registry``     htpasswd basic auth (bcrypt).  Also ``.user``, ``.password``.
``token_registry``    bearer-token auth through a token server written here (JWT RS256 signed
                      by a key whose certificate is the registry's rootcertbundle; the JWT header
                      carries ``x5c``).  Also ``.user``, ``.password``, ``.realm``, ``.service``,
                      ``.token_requests`` (list of (scope list, account) the token server saw).
Each has ``.get(path, headers=None, auth=None)`` -> (status, headers, body bytes) for direct
checks of what landed in the registry (``auth`` = (user, password) does the token dance too).
Their logs are appended to the report of a failing test.

``fake_registry`` (function scope)
    A Python ``http.server`` registry for odd responses.  ``.host``; ``.add_manifest(repo, ref,
    data, media_type)`` (also served by digest), ``.add_blob(digest, data)`` (the data need not
    match the digest: that is how to serve a corrupt blob), ``.add_image(repo, tag, image)`` (an
    ``imagebuild.Image``: its manifest, config and layer blobs), ``.set_response(method, path,
    status, body=b"", headers=None)`` (override one path), ``.requests`` (list of (method, path,
    headers dict)).

Test images (session scope)
---------------------------
``layouts``   dict of OCI layouts built once: ``"busybox"``, ``"multilayer"``, ``"zstd"``
              (``imagebuild.Image``) and ``"multiarch"`` (``imagebuild.MultiArch``).
``pushed``    pushes them with skopeo (digests preserved) and returns a dict:
              ``pushed["busybox"]`` -> ``Pushed(ref="<host>/test/busybox:latest", image=Image)``,
              likewise ``"multilayer"`` (test/multi), ``"multiarch"`` (test/multiarch, ``.image`` is
              a MultiArch), ``"zstd"`` (test/zstd), and ``"auth_busybox"``
              (``<auth host>/auth/busybox:latest``), ``"token_busybox"`` (``<token host>/auth/busybox:latest``).
              ``Pushed`` has ``.ref``, ``.repo`` (without tag), ``.host``, ``.image``,
              ``.digest`` (manifest or index digest), ``.image_id`` (config digest; for multiarch
              the linux/amd64 one).

See imagebuild.py for the image builders and their expected values (diff_ids, file lists...).
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imagebuild  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"

_started_registries = []


# ---------------------------------------------------------------- the runner


def _servin_bin():
    b = os.environ.get("SERVIN_BIN") or os.path.join(REPO_ROOT, "build", "servin")
    return os.path.abspath(b)


class ServinResultError(AssertionError):
    pass


def _fmt(r):
    def show(x):
        if isinstance(x, bytes):
            x = x[:4000].decode("utf-8", "replace")
        return (x or "")[-6000:]
    return "command: %s\nexit: %s\n--- stdout\n%s\n--- stderr\n%s" % (
        " ".join(map(str, r.args)), r.returncode, show(r.stdout), show(r.stderr))


class Servin:
    def __init__(self, tmp):
        self.tmp = str(tmp)
        os.makedirs(self.tmp, exist_ok=True)
        self.root = os.path.join(self.tmp, "root")
        self.auth_file = os.path.join(self.tmp, "auth.json")
        self.bin = _servin_bin()
        env = dict(os.environ)
        for k in ("SERVIN_ROOT", "SERVIN_LOG_LEVEL", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG"):
            env.pop(k, None)
        env["SERVIN_REGISTRY_AUTH_FILE"] = self.auth_file
        env["HOME"] = self.tmp
        env["LC_ALL"] = "C.UTF-8"
        self.env = env

    def argv(self, args, root=True):
        argv = [self.bin]
        if root:
            argv += ["--root", self.root]
        return argv + [str(a) for a in args]

    def __call__(self, *args, check=True, input=None, timeout=300, env=None, root=True, cwd=None):
        e = dict(self.env, **(env or {}))
        binary = isinstance(input, (bytes, bytearray))
        try:
            r = subprocess.run(self.argv(args, root), input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=not binary, timeout=timeout, env=e,
                               cwd=cwd or self.tmp)
        except subprocess.TimeoutExpired as ex:
            raise ServinResultError("timed out after %ss: %s\n--- stdout\n%s\n--- stderr\n%s" % (
                timeout, " ".join(self.argv(args, root)), ex.stdout, ex.stderr)) from None
        if check and r.returncode != 0:
            raise ServinResultError("servin failed\n" + _fmt(r))
        return r

    def ok(self, *args, **kw):
        kw["check"] = True
        return self(*args, **kw)

    def fail(self, *args, code=None, **kw):
        kw["check"] = False
        r = self(*args, **kw)
        assert r.returncode != 0, "expected failure\n" + _fmt(r)
        if code is not None:
            assert r.returncode == code, "expected exit %d\n%s" % (code, _fmt(r))
        err = r.stderr.decode("utf-8", "replace") if isinstance(r.stderr, bytes) else r.stderr
        lines = [l for l in err.splitlines() if l.startswith("servin: ")]
        assert len(lines) == 1, "expected exactly one 'servin: ' error line\n" + _fmt(r)
        return r

    def json(self, *args, **kw):
        r = self.ok(*args, **kw)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise ServinResultError("stdout is not JSON\n" + _fmt(r)) from None

    def lines(self, *args, **kw):
        return [l for l in self.ok(*args, **kw).stdout.splitlines() if l.strip()]

    def popen(self, *args, root=True, env=None, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.argv(args, root), env=dict(self.env, **(env or {})), **kw)

    def __repr__(self):
        return "Servin(root=%s)" % self.root


@pytest.fixture(scope="session")
def servin_bin():
    b = _servin_bin()
    if not os.access(b, os.X_OK):
        pytest.exit("servin binary not found at %s (set SERVIN_BIN or build first)" % b, returncode=2)
    return b


@pytest.fixture
def servin(servin_bin, tmp_path):
    return Servin(tmp_path / "servin")


@pytest.fixture
def make_servin(servin_bin, tmp_path):
    count = [0]

    def make():
        count[0] += 1
        return Servin(tmp_path / ("servin-%d" % count[0]))
    return make


# ---------------------------------------------------------------- registries


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method, url, headers=None, data=None, timeout=30):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def _basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def _parse_challenge(value):
    """'Bearer realm="x",service="y",scope="z"' -> ("bearer", {...})."""
    scheme, _, rest = value.partition(" ")
    out = {}
    for part in _split_params(rest):
        k, _, v = part.partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return scheme.lower(), out


def _split_params(s):
    parts, cur, inq = [], "", False
    for ch in s:
        if ch == '"':
            inq = not inq
        if ch == "," and not inq:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


class _PortTaken(Exception):
    pass


class Registry:
    def __init__(self, name, workdir):
        self.name = name
        self.dir = str(workdir)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host
        self.storage = os.path.join(self.dir, "storage")
        self.log = os.path.join(self.dir, "registry.log")
        self.config_path = os.path.join(self.dir, "config.yml")
        self.proc = None
        self.user = self.password = None
        self.extra_servers = []

    def write_config(self, auth_yaml=""):
        self.auth_yaml = auth_yaml
        os.makedirs(self.storage, exist_ok=True)
        with open(self.config_path, "w") as f:
            f.write("""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:%d
  secret: servin-tests-secret
  headers:
    X-Content-Type-Options: [nosniff]
%s""" % (self.storage, self.port, auth_yaml))

    def start(self):
        # The free port may be taken by someone else before the registry binds it: try another.
        for attempt in range(5):
            try:
                return self._start_once()
            except _PortTaken:
                self.port = free_port()
                self.host = "127.0.0.1:%d" % self.port
                self.url = "http://" + self.host
                self.write_config(self.auth_yaml)
        raise RuntimeError("%s registry: no free port after 5 attempts" % self.name)

    def _start_once(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", self.config_path], stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if "address already in use" in self.log_tail(5):
                    raise _PortTaken()
                raise RuntimeError("%s registry exited (%s):\n%s" % (self.name, self.proc.returncode, self.log_tail()))
            try:
                status, _, _ = _http("GET", self.url + "/v2/", timeout=2)
                if status in (200, 401):
                    _started_registries.append(self)
                    return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError("%s registry did not answer on %s:\n%s" % (self.name, self.url, self.log_tail()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in self.extra_servers:
            s.shutdown()
            s.server_close()
        if self in _started_registries:
            _started_registries.remove(self)

    def log_tail(self, n=60):
        try:
            with open(self.log, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def get(self, path, headers=None, auth=None, method="GET"):
        """Direct HTTP request to the registry; auth=(user, password) handles Basic and Bearer."""
        headers = dict(headers or {})
        url = self.url + path
        status, rh, body = _http(method, url, headers)
        if status == 401 and auth:
            scheme, params = _parse_challenge(rh.get("Www-Authenticate") or rh.get("WWW-Authenticate", ""))
            if scheme == "basic":
                headers["Authorization"] = _basic(*auth)
            else:
                q = {"service": params.get("service", "")}
                if params.get("scope"):
                    q["scope"] = params["scope"]
                st, _, tb = _http("GET", params["realm"] + "?" + urllib.parse.urlencode(q),
                                  {"Authorization": _basic(*auth)})
                assert st == 200, "token request failed: %s %s" % (st, tb)
                headers["Authorization"] = "Bearer " + json.loads(tb)["token"]
            status, rh, body = _http(method, url, headers)
        return status, rh, body

    def __repr__(self):
        return "Registry(%s, %s)" % (self.name, self.host)


def _start(name, factory, auth_yaml=""):
    d = factory.mktemp("registry-" + name)
    reg = Registry(name, d)
    reg.write_config(auth_yaml)
    return reg


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = _start("plain", tmp_path_factory)
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    reg = _start("auth", tmp_path_factory)
    reg.user, reg.password = "servin", "s3cret-Pass"
    htpasswd = os.path.join(reg.dir, "htpasswd")
    line = subprocess.run(["htpasswd", "-Bbn", reg.user, reg.password], stdout=subprocess.PIPE,
                          check=True, text=True).stdout.strip()
    with open(htpasswd, "w") as f:
        f.write(line + "\n")
    reg.write_config("auth:\n  htpasswd:\n    realm: servin-test-realm\n    path: %s\n" % htpasswd)
    reg.start()
    yield reg
    reg.stop()


# ---------------------------------------------------------------- token server


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """Issues RS256 JWTs the distribution registry accepts (header x5c = our self-signed cert)."""

    def __init__(self, workdir, issuer="servin-test-issuer", service="servin-test-registry"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        import datetime

        self.issuer, self.service = issuer, service
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "servin test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = os.path.join(str(workdir), "token-signer.crt")
        with open(self.cert_path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def token(self, subject, access, expires_in=300):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + expires_in,
                  "nbf": now - 10, "iat": now, "jti": hashlib.sha256(os.urandom(16)).hexdigest()[:32],
                  "access": access}
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)


def _parse_scope(scope):
    """'repository:auth/busybox:pull,push' -> {"type","name","actions"}; names may hold ':' (ports)."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": typ, "name": name, "actions": [a for a in actions.split(",") if a]}


def make_token_server(issuer, user, password, requests_log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _reply(self, status, obj, headers=None):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, form):
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            for k, v in form.items():
                q.setdefault(k, []).extend(v)
            if u.path != "/token":
                return self._reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            account = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    account, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:
                    account, pw = None, None
                if account != user or pw != password:
                    return self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                                       {"WWW-Authenticate": 'Basic realm="servin-token"'})
            elif q.get("grant_type", [""])[0] == "refresh_token":
                # The refresh tokens this server hands out with offline_token=true (Docker's identity token).
                if q.get("refresh_token", [""])[0] != "servin-refresh-" + user:
                    return self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad refresh token"}]})
                account = user
            elif q.get("grant_type", [""])[0] == "password":
                account, pw = q.get("username", [""])[0], q.get("password", [""])[0]
                if account != user or pw != password:
                    return self._reply(401, {"errors": [{"code": "UNAUTHORIZED"}]})
            scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
            requests_log.append((scopes, account))
            # Anonymous callers get a token without access: the registry then answers 401.
            access = [_parse_scope(s) for s in scopes] if account else []
            for a in access:
                if a["type"] == "registry":
                    a["actions"] = ["*"]
            tok = issuer.token(account or "", access)
            resp = {"token": tok, "access_token": tok, "expires_in": 300,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            if q.get("offline_token", [""])[0] == "true" and account:
                resp["refresh_token"] = "servin-refresh-" + account
            self._reply(200, resp)

        def do_GET(self):
            self._handle({})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            self._handle(urllib.parse.parse_qs(body))

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    reg = _start("token", tmp_path_factory)
    reg.user, reg.password = "tokenuser", "t0ken-Pass"
    issuer = TokenIssuer(reg.dir)
    reg.token_requests = []
    srv = make_token_server(issuer, reg.user, reg.password, reg.token_requests)
    reg.extra_servers.append(srv)
    reg.realm = "http://127.0.0.1:%d/token" % srv.server_address[1]
    reg.service = issuer.service
    reg.issuer = issuer
    reg.write_config("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n"
                     % (reg.realm, issuer.service, issuer.issuer, issuer.cert_path))
    reg.start()
    yield reg
    reg.stop()


# ---------------------------------------------------------------- fake registry


class FakeRegistry:
    def __init__(self):
        self.manifests = {}  # (repo, ref) -> (bytes, media type)
        self.blobs = {}  # digest -> bytes
        self.overrides = {}  # (method, path) -> (status, body, headers)
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body=b"", headers=None, head=False):
                self.send_response(status)
                hdrs = {"Docker-Distribution-Api-Version": "registry/2.0", "Content-Length": str(len(body))}
                hdrs.update(headers or {})
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.end_headers()
                if not head and body:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def _route(self, method):
                head = method == "HEAD"
                fake.requests.append((method, self.path, dict(self.headers)))
                path = urllib.parse.urlsplit(self.path).path
                ov = fake.overrides.get((method, path)) or fake.overrides.get(("*", path))
                if ov:
                    status, body, headers = ov
                    return self._send(status, body, headers, head)
                if path in ("/v2", "/v2/"):
                    return self._send(200, b"{}", {"Content-Type": "application/json"}, head)
                err = json.dumps({"errors": [{"code": "NOT_FOUND", "message": "not found"}]}).encode()
                if path.startswith("/v2/") and "/manifests/" in path:
                    repo, _, ref = path[4:].rpartition("/manifests/")
                    m = fake.manifests.get((repo, ref))
                    if not m:
                        return self._send(404, err, {"Content-Type": "application/json"}, head)
                    data, mt = m
                    return self._send(200, data, {"Content-Type": mt,
                                                  "Docker-Content-Digest": imagebuild.sha256_digest(data)}, head)
                if path.startswith("/v2/") and "/blobs/" in path:
                    repo, _, digest = path[4:].rpartition("/blobs/")
                    if digest not in fake.blobs:
                        return self._send(404, err, {"Content-Type": "application/json"}, head)
                    return self._send(200, fake.blobs[digest], {"Content-Type": "application/octet-stream",
                                                                "Docker-Content-Digest": digest}, head)
                return self._send(404, err, {"Content-Type": "application/json"}, head)

            def do_GET(self):
                self._route("GET")

            def do_HEAD(self):
                self._route("HEAD")

            def do_POST(self):
                self._route("POST")

            def do_PUT(self):
                self._route("PUT")

            def do_PATCH(self):
                self._route("PATCH")

            def do_DELETE(self):
                self._route("DELETE")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.url = "http://" + self.host
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_manifest(self, repo, ref, data, media_type=imagebuild.MT_MANIFEST):
        if isinstance(data, str):
            data = data.encode()
        self.manifests[(repo, ref)] = (data, media_type)
        self.manifests[(repo, imagebuild.sha256_digest(data))] = (data, media_type)
        return imagebuild.sha256_digest(data)

    def add_blob(self, digest, data):
        self.blobs[digest] = data

    def add_image(self, repo, tag, image):
        """Serve an imagebuild.Image (manifest, config, layers) under repo:tag."""
        self.add_blob(image.config_digest, image.config)
        for d, b in zip(image.layer_digests, image.layer_blobs):
            self.add_blob(d, b)
        return self.add_manifest(repo, tag, image.manifest, image.manifest_media_type)

    def set_response(self, method, path, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.overrides[(method, path)] = (status, body, headers or {})

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_registry():
    f = FakeRegistry()
    yield f
    f.stop()


# ---------------------------------------------------------------- images


class Pushed:
    def __init__(self, host, repo_path, tag, image):
        self.host = host
        self.repo = "%s/%s" % (host, repo_path)
        self.tag = tag
        self.ref = "%s:%s" % (self.repo, tag)
        self.image = image
        self.digest = image.manifest_digest
        if isinstance(image, imagebuild.MultiArch):
            self.image_id = image.images["linux/amd64"].config_digest
        else:
            self.image_id = image.config_digest

    def __repr__(self):
        return "Pushed(%s, %s)" % (self.ref, self.digest)


@pytest.fixture(scope="session")
def layouts(tmp_path_factory):
    d = tmp_path_factory.mktemp("layouts")
    return {
        "busybox": imagebuild.busybox_layout(d / "busybox"),
        "multilayer": imagebuild.multilayer_layout(d / "multilayer"),
        "multiarch": imagebuild.multiarch_layout(d / "multiarch"),
        "zstd": imagebuild.zstd_layout(d / "zstd"),
    }


@pytest.fixture(scope="session")
def pushed(layouts, registry, auth_registry, token_registry):
    out = {}

    def push(key, host, repo_path, image, creds=None, multi=False):
        p = Pushed(host, repo_path, "latest", image)
        imagebuild.push_layout(image.layout, p.ref, creds=creds, tag=image.tag, multi=multi)
        out[key] = p

    push("busybox", registry.host, "test/busybox", layouts["busybox"])
    push("multilayer", registry.host, "test/multi", layouts["multilayer"])
    push("multiarch", registry.host, "test/multiarch", layouts["multiarch"], multi=True)
    push("zstd", registry.host, "test/zstd", layouts["zstd"])
    push("auth_busybox", auth_registry.host, "auth/busybox", layouts["busybox"],
         creds=(auth_registry.user, auth_registry.password))
    push("token_busybox", token_registry.host, "auth/busybox", layouts["busybox"],
         creds=(token_registry.user, token_registry.password))
    return out


# ---------------------------------------------------------------- reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        # Only the registries this test used: others' logs would bury the real failure.
        used = set(getattr(item, "fixturenames", ()))
        wanted = {"plain": {"registry", "pushed"}, "auth": {"auth_registry", "pushed"},
                  "token": {"token_registry", "pushed"}}
        for reg in list(_started_registries):
            if not used & wanted.get(reg.name, set()):
                continue
            tail = reg.log_tail(40)
            if tail:
                rep.sections.append(("%s registry log (%s)" % (reg.name, reg.log), tail))


# ---------------------------------------------------------------- the built-in registry server


@pytest.fixture
def servin_registry(servin):
    """Factory: ``servin_registry(*args)`` starts ``servin registry start --port 0 <args>`` on the
    ``servin`` runner's store (see regserver.py); every one started is stopped after the test."""
    import regserver
    started = []

    def start(*args, **kw):
        reg = regserver.ServinRegistry(servin, *args, **kw)
        started.append(reg)
        return reg
    yield start
    codes = [(reg.stop(), reg) for reg in started]
    for code, reg in codes:
        assert code == 0, "registry exited %s:\n%s" % (code, reg.stderr_tail)
