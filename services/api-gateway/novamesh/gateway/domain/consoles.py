"""Remote consoles (os-remote-consoles, 2.6+, and the pre-2.6 console actions) and console
auth tokens (os-console-auth-tokens).

A console request asks the server's host where its console listens, stores a token for that
endpoint (valid TOKEN_TTL seconds; only its hash is kept) and answers a URL under the compute
endpoint the client used. The gateway's console proxy (novamesh.gateway.console) serves that
URL: noVNC's page, and the websocket it opens, piped to the host endpoint once the token checks
out (domain.console_access).
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass

from novamesh.common.config import ConsoleConfig
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.db import console_tokens
from novamesh.gateway.db.console_tokens import TokenRecord
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices

# Nova's [consoleauth] token_ttl default.
TOKEN_TTL = dt.timedelta(seconds=600)

# Console type -> its protocol.
PROTOCOLS = {
    "novnc": "vnc",
    "spice-html5": "spice",
    "spice-direct": "spice",
    "serial": "serial",
    "webmks": "mks",
    "rdp-html5": "rdp",
}

REMOTE_CONSOLES_RULE = "os_compute_api:os-remote-consoles"
TOKENS_RULE = "os_compute_api:os-console-auth-tokens"
policy.register(REMOTE_CONSOLES_RULE, "rule:admin_or_owner", "Get a remote console")
policy.register(TOKENS_RULE, "rule:admin_api", "Show a console's connection information")

_BUSY_TASKS = ("deleting", "migrating")


@dataclass(frozen=True)
class Console:
    protocol: str
    console_type: str
    url: str


def configured_bases(cfg: ConsoleConfig) -> dict[str, str]:
    """Console type -> the operator's base URL for it, where one is set."""
    bases = {
        "novnc": cfg.novncproxy_base_url,
        "serial": cfg.serialproxy_base_url,
        "spice-html5": cfg.html5proxy_base_url,
        "spice-direct": cfg.spice_direct_proxy_base_url,
    }
    return {kind: url for kind, url in bases.items() if url}


def access_url(
    base_url: str, console_type: str, token: str, configured: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(the URL base stored with the token, the URL handed to the user).

    A configured base is used as Nova uses it: the token joins its query (noVNC's inside
    the `path` parameter it opens its websocket with)."""
    base = (configured or {}).get(console_type)
    if base:
        sep = "&" if "?" in base else "?"
        if console_type == "novnc":
            return base, f"{base}{sep}path=%3Ftoken%3D{token}"
        return base, f"{base}{sep}token={token}"
    if console_type == "novnc":
        base = f"{base_url}/console/novnc/vnc_lite.html"
        return base, f"{base}?path=%3Ftoken%3D{token}"
    if console_type == "serial":
        ws = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        base = f"{ws}/console/serial/"
    elif console_type == "spice-html5":
        base = f"{base_url}/console/spice/spice_auto.html"
    else:
        base = f"{base_url}/console/{console_type}/"
    return base, f"{base}?token={token}"


async def create(
    deps: Deps,
    devices: Devices,
    who: Identity,
    uuid: str,
    protocol: str,
    console_type: str,
    base_url: str,
) -> Console:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, REMOTE_CONSOLES_RULE, inst.project_id)
    if PROTOCOLS.get(console_type) != protocol:
        raise errors.BadRequest(f"Invalid console type {console_type}")
    if protocol == "rdp":
        # Nova dropped its RDP console (Hyper-V only); no driver here offers one.
        raise errors.BadRequest(f"Unavailable console type {console_type}.")
    if not inst.host:
        raise errors.Conflict(f"Instance {uuid} is not ready")
    if inst.task_state in _BUSY_TASKS:
        raise errors.invalid_state(uuid, "task_state", inst.task_state, f"get_{protocol}_console")
    try:
        endpoint = await devices.console(uuid, protocol)
    except errors.NotImplementedYet:
        raise errors.NotImplementedYet(
            f"Unable to get {protocol} console, functionality not implemented"
        ) from None
    token = str(uuidlib.uuid4())
    url_base, url = access_url(base_url, console_type, token, configured_bases(deps.cfg.console))
    record = TokenRecord(
        console_type=console_type,
        host=endpoint.host,
        port=endpoint.port,
        tls_port=endpoint.tls_port if endpoint.HasField("tls_port") else None,
        internal_access_path=(
            endpoint.internal_access_path if endpoint.HasField("internal_access_path") else None
        ),
        instance_uuid=uuid,
        access_url_base=url_base,
    )
    expires = dt.datetime.now(dt.UTC) + TOKEN_TTL
    await console_tokens.issue(deps.sessions, token, record, expires)
    return Console(protocol, console_type, url)


async def connect_info(deps: Deps, who: Identity, token: str, rdp_only: bool) -> TokenRecord:
    policy.authorize(who, TOKENS_RULE)
    found = await console_tokens.find(deps.sessions, token, dt.datetime.now(dt.UTC))
    if found is None:
        raise errors.NotFound("Token not found")
    if rdp_only and found.console_type != "rdp-html5":
        # Before 2.31 Nova showed only RDP consoles' connection information.
        raise errors.Unauthorized("The requested console type details are not accessible")
    return found
