"""What the placeholders of the templates stand for.

`PATTERNS` are the regular expressions a response value must match (upstream's defaults plus
the per-test substitutions its sample tests pass). `request_values()` are the concrete values a
request template is rendered with. `relax()` lists, one by one, the literals of the templates
that come from upstream's test fixtures (its fake network's MAC address, its stubbed volume
attachments, the availability zone its test configured) rather than from the API.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.contract.matcher import Matcher, NoMatch

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISOTIME = r"\d{4}-[0,1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}Z"
STRTIME = r"\d{4}-[0,1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}\.\d{6}"
# Upstream's text pattern without its nested repetition (which backtracks exponentially when a
# long value does not match): the same strings, an escaped quote or any other character.
TEXT = r'(?:\\"|[^"])*'

# The project and user upstream's samples run as; the suite authenticates as them (noauth).
PROJECT = "6f70656e737461636b20342065766572"
USER = "admin"

PATTERNS: dict[str, str] = {
    "isotime": ISOTIME,
    "strtime": STRTIME,
    "strtime_or_none": f"None|{STRTIME}",
    "strtime_url": r"\d{4}-[0,1]\d-[0-3]\dT\d{2}%3A\d{2}%3A\d{2}\.\d{6}",
    "password": "[0-9a-zA-Z]{1,12}",
    "ip": r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
    "ip6": "([0-9a-zA-Z]{1,4}:){1,7}:?[0-9a-zA-Z]{1,4}",
    "id": f"(?P<id>{UUID})",
    "uuid": UUID,
    "request_id": f"req-{UUID}",
    "reservation_id": "r-[0-9a-zA-Z]{8}",
    "private_key": "(-----BEGIN (RSA|OPENSSH) PRIVATE KEY-----|)[a-zA-Z0-9\n/+=]*"
    "(-----END (RSA|OPENSSH) PRIVATE KEY-----|)\n?",
    "public_key": "(ssh-rsa|ecdsa-sha2-nistp256|ssh-ed25519) [a-zA-Z0-9/+=]*( .*)?",
    "fingerprint": "(([0-9a-f]{2}:){19}|([0-9a-f]{2}:){15})[0-9a-f]{2}",
    "keypair_type": "ssh|x509",
    "host_name": r"[\w.-]+",
    "text": TEXT,
    "int": "[0-9]+",
    "user_id": TEXT,
    "project_id": TEXT,
    "tenant_id": TEXT,
    "hostid": "[a-f0-9]+",
    "instance_name": "instance-[0-9a-f]{8}",
    "compute_host": r"[\w.-]+",
    "host": r"[\w.-]+",
    "hypervisor_hostname": r"[\w.-]+",
    "cdrive": "|True",
    "access_ip_v4": r"(|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})",
    "access_ip_v6": "(|([0-9a-zA-Z]{1,4}:){1,7}:?[0-9a-zA-Z]{1,4})",
    "mac_addr": "([0-9a-f]{2}:){5}[0-9a-f]{2}",
    "name": TEXT,
    "description": TEXT,
    "hostname": r"[\w.-]+",
    "availability_zone": r"[\w.-]+",
    "user_data": "[A-Za-z0-9+/=]*",
    "tag": TEXT,
}

# A base64 user_data payload (upstream's sample carries a shell script).
USER_DATA = "IyEvYmluL2Jhc2gKL2Jpbi9zdQplY2hvICJJIGFtIGluIHlvdSEiCg=="


def request_values(known: dict[str, str]) -> dict[str, str]:
    """Concrete values for request templates; `known` brings the ids the suite created."""
    values = {
        "access_ip_v4": "1.2.3.4",
        "access_ip_v6": "80fe::",
        "user_data": USER_DATA,
        "availability_zone": "nova",
        "password": "foo",
        "pass": "seekr3t",
        "name": "foobar",
        "description": "description of foobar",
        "hostname": "custom-hostname",
        "keypair_type": "ssh",
        "user_id": USER,
        "project_id": PROJECT,
        "tenant_id": PROJECT,
        "tag": "tag1",
        "tag1": "tag1",
        "tag2": "tag2",
        "int": "1",
        "min_count": "2",
        "max_count": "3",
        "value": "value",
        "value1": "value1",
        "value2": "value2",
        "preserve_ephemeral": "true",
        "disk_config": "AUTO",
        "status": "active",
        "text": "text",
        "action": "reboot",
        "device": "/dev/sdb",
    }
    values.update(known)
    return values


# Literals of upstream's fixtures: key -> pattern a response value must match instead.
_FIXTURE_LITERALS: dict[str, str] = {
    # upstream's fake network hands out this MAC; ours are Neutron-style fa:16:3e:...
    "OS-EXT-IPS-MAC:mac_addr": "([0-9a-f]{2}:){5}[0-9a-f]{2}",
    # upstream's test configured an AZ named us-west; the mesh's hosts are in "nova".
    "OS-EXT-AZ:availability_zone": r"[\w.-]+",
    # upstream's single fake compute node is "fake-mini"; the suite's mesh simulates several.
    "hypervisor_hostname": r"[\w.-]+",
    # upstream's fake driver reports a fixed `uptime` line for its host; ours is the host's.
    "uptime": r".* up .*",
    # upstream's Neutron fixture: its port, network and subnet ids, fixed IP and MAC.
    "port_id": UUID,
    "net_id": UUID,
    "subnet_id": UUID,
    "ip_address": r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
    "mac_addr": "([0-9a-f]{2}:){5}[0-9a-f]{2}",
    # upstream's fake network gives every server 192.168.1.30 (or its v6 twin).
    "addr": r"[0-9a-f.:]+",
    # upstream's fake virt driver answers every console-output call with the same three lines;
    # a guest's console here is what it logged.
    "output": r"(.|\n)*",
    # upstream's compute service is "compute" on node "fake-mini"; its fake driver names the
    # root disk /dev/sda (a virtio guest's is /dev/vda); its test's AZ is us-west.
    "OS-EXT-SRV-ATTR:host": r"[\w.-]+",
    "OS-EXT-SRV-ATTR:hypervisor_hostname": r"[\w.-]+",
    "OS-EXT-SRV-ATTR:root_device_name": r"/dev/[a-z]+",
    "pinned_availability_zone": r"[\w.-]+",
    # upstream's first instance row and its host "compute" in its project: fixed names.
    "OS-EXT-SRV-ATTR:instance_name": "instance-[0-9a-f]{8}",
    "hostId": "[0-9a-f]{56}",
}


# Upstream's older samples hard-code its test endpoint with the project in the path.
_SAMPLE_ENDPOINT = re.compile(rf"^http://openstack\.example\.com(/v2\.1)?/{PROJECT}")


_SAMPLE_GLANCE = "http://glance.openstack.example.com"
_FAKE_IMAGE_TIME = "2011-01-01T01:02:03Z"


def _same_link(expected: str, actual: Any) -> bool:
    """A literal sample link and ours name the same resource (ours have no project id)."""
    if not isinstance(actual, str):
        return False
    parts = re.split(r"%\(\w+\)s", _SAMPLE_ENDPOINT.sub(r"\1", expected))
    want = "[^&/?]+".join(re.escape(part) for part in parts)
    return re.fullmatch(r"https?://[^/]+" + want, actual) is not None


# Upstream's aggregate samples start from an empty table, so their literal ids are 1.
_AGGREGATE_ID = re.compile(r"/aggregates?(\[\d+\])?/id")
# Upstream's os-services samples show services its test stubbed: host1, fixed ids and times.
_SERVICE_FIXTURE = re.compile(r"/service/(host|id|updated_at)")
_SERVICE_VALUE = {"host": r"[\w.-]+", "id": f"{UUID}|[0-9]+", "updated_at": STRTIME}
_ZONE_HOSTS = re.compile(r"/availabilityZoneInfo\[\d+\]/hosts")


def _zone_hosts(expected: dict[str, Any], actual: Any) -> bool:
    """A zone's hosts are upstream's fixture hosts ("compute", "conductor"); what the API owes
    is each service binary of the zone, with its state, under the host that runs it."""
    if not isinstance(actual, dict):
        return False
    wanted = {b: v for services in expected.values() for b, v in services.items()}
    found = [(b, v) for services in actual.values() for b, v in services.items()]
    if {b for b, _ in found} != set(wanted):
        return False
    try:
        for binary, value in found:
            Matcher(PATTERNS).compare(wanted[binary], value)
    except NoMatch:
        return False
    return True


def _service_list(expected: list[Any], actual: Any) -> bool:
    """Upstream stubs the service table (host1/host2, set states); the API owes every binary
    the sample shows, each service in the sample's shape (the conductor as the scheduler)."""
    if not isinstance(actual, list) or not all(isinstance(a, dict) for a in actual):
        return False
    shapes = {t["binary"]: t for t in expected}
    if not set(shapes) <= {a.get("binary") for a in actual}:
        return False
    for item in actual:
        shape = shapes.get(item.get("binary")) or shapes.get("nova-scheduler")
        if shape is None or set(item) != set(shape) or item["zone"] != shape["zone"]:
            return False
        if item["state"] not in ("up", "down") or item["status"] not in ("enabled", "disabled"):
            return False
        if not isinstance(item["id"], int if isinstance(shape["id"], int) else str):
            return False
    return True


def _cpu_info(expected: Any, actual: Any) -> bool:
    """The host's CPU as its driver describes it (upstream's fake driver: a Nehalem): the
    same fields, a JSON text before 2.28 and an object from it."""
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        try:
            expected, actual = json.loads(expected), json.loads(actual)
        except ValueError:
            return False
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return False
    return set(expected) == set(actual) and all(
        type(actual[k]) is type(v) for k, v in expected.items()
    )


def relax(path: str, expected: Any, actual: Any) -> bool | None:
    key = path.rsplit("/", 1)[-1]
    if key == "cpu_info" and isinstance(expected, str | dict) and "%(" not in str(expected):
        return _cpu_info(expected, actual)
    if key == "internal_access_path" and expected == "%(internal_access_path)s":
        # upstream's fake driver gives every console the path "FAKE" (its test accepts any
        # text); a real serial console has none: null
        return actual is None or isinstance(actual, str)
    if key == "disk_available_least" and isinstance(expected, int):
        # the driver's own estimate of free disk (upstream's fake driver says 0)
        return isinstance(actual, int) and not isinstance(actual, bool)
    if path == "/keypair/id" and isinstance(expected, int):
        # the first row of upstream's fresh database; any row id is the API's answer
        return isinstance(actual, int) and not isinstance(actual, bool)
    if _AGGREGATE_ID.fullmatch(path) and isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool)
    if (m := _SERVICE_FIXTURE.fullmatch(path)) and isinstance(expected, str | int):
        if isinstance(expected, str) and "%(" in expected:
            return None
        pattern = _SERVICE_VALUE[m.group(1)]
        return re.fullmatch(pattern, str(actual)) is not None
    if path == "/services" and isinstance(expected, list) and expected:
        return _service_list(expected, actual)
    if _ZONE_HOSTS.fullmatch(path) and isinstance(expected, dict):
        return _zone_hosts(expected, actual)
    if key == "href" and isinstance(expected, str) and _SAMPLE_ENDPOINT.match(expected):
        return _same_link(expected, actual)
    if key == "href" and isinstance(expected, str) and expected.startswith(_SAMPLE_GLANCE):
        # the image service's own link: this cloud's image endpoint, the same path
        parts = re.split(r"%\(\w+\)s", expected.removeprefix(_SAMPLE_GLANCE))
        want = "[^/]+".join(re.escape(part) for part in parts)
        return (
            isinstance(actual, str) and re.fullmatch(r"https?://[^/]+" + want, actual) is not None
        )
    if key in ("created", "updated") and expected == _FAKE_IMAGE_TIME:
        # upstream's fake image service dates every image so
        return isinstance(actual, str) and re.fullmatch(ISOTIME, actual) is not None
    if key in _FIXTURE_LITERALS and isinstance(expected, str) and "%(" not in expected:
        return isinstance(actual, str) and re.fullmatch(_FIXTURE_LITERALS[key], actual) is not None
    if key == "os-extended-volumes:volumes_attached" and isinstance(expected, list):
        # upstream stubs two attached volumes ("volume_id1", "volume_id2") into every server;
        # the shape is what the API owes: a list of {"id": ...} (plus delete_on_termination
        # from 2.3), possibly empty.
        if not isinstance(actual, list):
            return False
        keys = set(expected[0]) if expected and isinstance(expected[0], dict) else {"id"}
        return all(isinstance(v, dict) and set(v) == keys for v in actual)
    return None
