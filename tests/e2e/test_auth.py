"""servin login/logout and pulls from registries that need credentials (Basic and bearer tokens)."""

import base64
import json
import os
import stat


def image_ids(servin):
    return set(servin.lines("images", "-q", "--no-trunc"))


def read_auth(servin):
    with open(servin.auth_file) as f:
        return json.load(f)


def test_login_basic_saves_credentials(servin, auth_registry):
    r = servin.ok("login", "-u", auth_registry.user, "--password-stdin", auth_registry.host,
                  input=auth_registry.password + "\n")
    assert r.stdout.strip().splitlines()[-1] == "Login Succeeded"
    data = read_auth(servin)
    want = base64.b64encode(("%s:%s" % (auth_registry.user, auth_registry.password)).encode()).decode()
    assert data["auths"][auth_registry.host]["auth"] == want
    assert stat.S_IMODE(os.stat(servin.auth_file).st_mode) == 0o600


def test_login_wrong_password(servin, auth_registry):
    r = servin.fail("login", "-u", auth_registry.user, "-p", "wrong", auth_registry.host)
    assert "login to %s failed: unauthorized" % auth_registry.host in r.stderr
    assert not os.path.exists(servin.auth_file)


def test_login_token_registry(servin, token_registry):
    servin.ok("login", "-u", token_registry.user, "-p", token_registry.password, token_registry.host)
    assert token_registry.host in read_auth(servin)["auths"]
    r = servin.fail("login", "-u", token_registry.user, "-p", "nope", token_registry.host)
    assert "unauthorized" in r.stderr


def test_login_keeps_other_entries_and_logout(servin, auth_registry):
    with open(servin.auth_file, "w") as f:
        json.dump({"auths": {"other.example:5000": {"auth": "eDp5"}}, "credHelpers": {"x": "y"}}, f)
    servin.ok("login", "-u", auth_registry.user, "-p", auth_registry.password, auth_registry.host)
    data = read_auth(servin)
    assert set(data["auths"]) == {"other.example:5000", auth_registry.host}
    assert data["credHelpers"] == {"x": "y"}
    r = servin.ok("logout", auth_registry.host)
    assert r.stdout.strip() == "Removed login credentials for %s" % auth_registry.host
    assert set(read_auth(servin)["auths"]) == {"other.example:5000"}
    r = servin.fail("logout", auth_registry.host)
    assert "not logged in" in r.stderr


def test_login_unreachable(servin):
    r = servin.fail("login", "-u", "a", "-p", "b", "127.0.0.1:1")
    assert "Connection refused" in r.stderr
    assert not os.path.exists(servin.auth_file)


def test_pull_basic_without_login(servin, pushed):
    r = servin.fail("pull", pushed["auth_busybox"].ref)
    assert "authentication required" in r.stderr
    assert image_ids(servin) == set()


def test_pull_basic_after_login(servin, pushed, auth_registry):
    p = pushed["auth_busybox"]
    servin.ok("login", "-u", auth_registry.user, "-p", auth_registry.password, auth_registry.host)
    servin.ok("pull", p.ref)
    assert image_ids(servin) == {p.image_id}


def test_pull_basic_wrong_stored_password(servin, pushed, auth_registry):
    p = pushed["auth_busybox"]
    bad = base64.b64encode(("%s:wrong" % auth_registry.user).encode()).decode()
    with open(servin.auth_file, "w") as f:
        json.dump({"auths": {auth_registry.host: {"auth": bad}}}, f)
    r = servin.fail("pull", p.ref)
    assert "unauthorized" in r.stderr
    assert image_ids(servin) == set()
    blobs = os.path.join(servin.root, "content", "blobs", "sha256")
    assert not os.path.isdir(blobs) or os.listdir(blobs) == []


def test_pull_token_registry(servin, pushed, token_registry):
    p = pushed["token_busybox"]
    r = servin.fail("pull", p.ref)
    assert "authentication required" in r.stderr
    servin.ok("login", "-u", token_registry.user, "-p", token_registry.password, token_registry.host)
    del token_registry.token_requests[:]
    servin.ok("pull", p.ref)
    assert image_ids(servin) == {p.image_id}
    scopes = [s for scope_list, account in token_registry.token_requests for s in scope_list]
    assert "repository:auth/busybox:pull" in scopes
    # One token per scope for the whole pull.
    assert all(account == token_registry.user for _, account in token_registry.token_requests)
    assert scopes.count("repository:auth/busybox:pull") == 1


def test_pull_token_registry_wrong_password(servin, pushed, token_registry):
    bad = base64.b64encode(("%s:wrong" % token_registry.user).encode()).decode()
    with open(servin.auth_file, "w") as f:
        json.dump({"auths": {token_registry.host: {"auth": bad}}}, f)
    r = servin.fail("pull", pushed["token_busybox"].ref)
    assert "unauthorized" in r.stderr
    assert image_ids(servin) == set()


def test_auth_file_env_precedence(servin, auth_registry, tmp_path):
    other = str(tmp_path / "x" / "other-auth.json")
    env = {"SERVIN_REGISTRY_AUTH_FILE": "", "REGISTRY_AUTH_FILE": other}
    servin.ok("login", "-u", auth_registry.user, "-p", auth_registry.password, auth_registry.host, env=env)
    assert os.path.exists(other)
    assert stat.S_IMODE(os.stat(os.path.dirname(other)).st_mode) == 0o700
    assert not os.path.exists(servin.auth_file)
    env = {"SERVIN_REGISTRY_AUTH_FILE": "", "REGISTRY_AUTH_FILE": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    servin.ok("login", "-u", auth_registry.user, "-p", auth_registry.password, auth_registry.host, env=env)
    assert os.path.exists(str(tmp_path / "xdg" / "servin" / "auth.json"))


def test_login_needs_username_without_terminal(servin, auth_registry):
    r = servin.fail("login", "-p", "x", auth_registry.host)
    assert "username" in r.stderr
