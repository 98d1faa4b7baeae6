"""The CRI gRPC transport and the runtime-level RPCs, driven by grpcio (not our code): Version,
Status, health, unknown methods, malformed messages, concurrency, the JSON gateway."""

import concurrent.futures

from cri_client import api, code_of, cri, grpc, health  # noqa: F401


def test_version(cri):
    v = cri.runtime.Version(api.VersionRequest(version="v1"))
    assert v.runtime_name == "servin"
    assert v.runtime_api_version == "v1"
    assert v.version and v.runtime_version


def test_status_reports_runtime_and_network_conditions(cri):
    st = cri.runtime.Status(api.StatusRequest(verbose=True))
    conds = {c.type: c for c in st.status.conditions}
    assert conds["RuntimeReady"].status is True
    assert "NetworkReady" in conds
    if not conds["NetworkReady"].status:
        assert conds["NetworkReady"].reason and conds["NetworkReady"].message
    assert "config" in st.info


def test_health_check(cri):
    r = cri.health.Check(health.HealthCheckRequest())
    assert r.status == health.HealthCheckResponse.SERVING
    r = cri.health.Check(health.HealthCheckRequest(service="runtime.v1.RuntimeService"))
    assert r.status == health.HealthCheckResponse.SERVING
    code, _ = code_of(cri.health.Check, health.HealthCheckRequest(service="no.such.Service"))
    assert code == grpc.StatusCode.NOT_FOUND


def test_unknown_method_is_unimplemented(cri):
    code, details = code_of(cri.raw("/runtime.v1.RuntimeService/NoSuchThing"), b"")
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "NoSuchThing" in details


def test_malformed_message_is_invalid_argument_and_the_server_lives(cri):
    code, details = code_of(cri.raw("/runtime.v1.RuntimeService/Version"), b"\xff\xff\xff\xff")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed" in details
    assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"


def test_unimplemented_rpcs_say_so(cri):
    code, details = code_of(cri.runtime.ListMetricDescriptors, api.ListMetricDescriptorsRequest())
    assert code == grpc.StatusCode.UNIMPLEMENTED and details


def test_fifty_concurrent_calls_on_one_channel(cri):
    futures = [cri.runtime.Version.future(api.VersionRequest()) for _ in range(50)]
    assert all(f.result(timeout=30).runtime_name == "servin" for f in futures)
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        got = list(ex.map(lambda _: cri.runtime.Status(api.StatusRequest()).status.conditions[0].type, range(50)))
    assert got == ["RuntimeReady"] * 50


def test_runtime_config_and_update(cri):
    cri.runtime.UpdateRuntimeConfig(api.UpdateRuntimeConfigRequest(
        runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr="10.88.0.0/16"))))
    st = cri.runtime.Status(api.StatusRequest(verbose=True))
    assert "10.88.0.0/16" in st.info["config"]
    rc = cri.runtime.RuntimeConfig(api.RuntimeConfigRequest())
    assert rc.linux.cgroup_driver == api.CGROUPFS


def test_json_gateway(cri):
    status, body = cri.gateway("/v1/runtime/version", {"version": "v1"})
    assert status == 200 and body["runtimeName"] == "servin", body
    status, body = cri.gateway("/v1/runtime/status", {})
    assert status == 200 and body["status"]["conditions"][0]["type"] == "RuntimeReady"
    status, body = cri.gateway("/v1/runtime/nope", {})
    assert status == 404 and body["status"] == "NOT_FOUND"
    status, body = cri.gateway("/v1/runtime/version", "{not json")
    assert status == 400 and body["status"] == "INVALID_ARGUMENT"
    status, body = cri.gateway("/v1/runtime/status", {"verbose": "yes"})
    assert status == 400 and "verbose" in body["message"]
    status, body = cri.gateway("/v1", method="GET")
    assert status == 200 and any(p["path"] == "/v1/image/pull" for p in body)
