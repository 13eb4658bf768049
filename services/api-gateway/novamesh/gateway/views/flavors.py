"""The flavor views, per microversion (2.55 description, 2.61 extra_specs, 2.75 swap 0,
2.102 without rxtx_factor and OS-FLV-DISABLED)."""

from __future__ import annotations

from typing import Any

from novamesh.common.apidb import models
from novamesh.gateway.views.common import ViewContext, links


def summary(ctx: ViewContext, flavor: models.Flavor) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flavor.flavorid,
        "links": links(ctx, "flavors", flavor.flavorid),
        "name": flavor.name,
    }
    if ctx.v("2.55"):
        view["description"] = flavor.description
    return view


def detail(ctx: ViewContext, flavor: models.Flavor, extra_specs: bool) -> dict[str, Any]:
    view = summary(ctx, flavor)
    view.update(
        {
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb,
            "vcpus": flavor.vcpus,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "os-flavor-access:is_public": flavor.is_public,
            # Before 2.75 Nova printed a zero swap as "".
            "swap": flavor.swap if flavor.swap or ctx.v("2.75") else "",
        }
    )
    if not ctx.v("2.102"):
        view["OS-FLV-DISABLED:disabled"] = flavor.disabled
        view["rxtx_factor"] = flavor.rxtx_factor
    if ctx.v("2.61") and extra_specs:
        view["extra_specs"] = {spec.key: spec.value for spec in flavor.extra_specs}
    return view
