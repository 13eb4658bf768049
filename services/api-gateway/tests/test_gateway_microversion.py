"""Microversion negotiation, as Nova does it."""

from __future__ import annotations

import pytest
from novamesh.gateway.api import microversion
from novamesh.gateway.api.errors import BadRequest, NotAcceptable
from novamesh.gateway.api.microversion import APIVersion


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "2.1"),
        ({"openstack-api-version": "compute 2.47"}, "2.47"),
        ({"x-openstack-nova-api-version": "2.19"}, "2.19"),
        # The standard header wins over the legacy one.
        ({"openstack-api-version": "compute 2.60", "x-openstack-nova-api-version": "2.3"}, "2.60"),
        # Another service's version falls back to the legacy header, then the default.
        ({"openstack-api-version": "placement 1.20", "x-openstack-nova-api-version": "2.5"}, "2.5"),
        ({"openstack-api-version": "placement 1.20"}, "2.1"),
        ({"openstack-api-version": "placement 1.2, compute 2.33"}, "2.33"),
        ({"openstack-api-version": "compute latest"}, "2.104"),
        ({"x-openstack-nova-api-version": "latest"}, "2.104"),
        ({"openstack-api-version": "compute 2.104"}, "2.104"),
    ],
)
def test_negotiated(headers: dict[str, str], expected: str) -> None:
    assert str(microversion.negotiate(headers)) == expected


@pytest.mark.parametrize("value", ["2.105", "3.0", "2.0", "1.1"])
def test_out_of_range_is_406(value: str) -> None:
    with pytest.raises(NotAcceptable) as exc:
        microversion.negotiate({"openstack-api-version": f"compute {value}"})
    assert "is not supported by the API. Minimum is 2.1 and maximum is 2.104." in exc.value.message


@pytest.mark.parametrize("value", ["2", "2.01", "abc", "2.1.1", "02.1", ""])
def test_malformed_is_400(value: str) -> None:
    with pytest.raises(BadRequest) as exc:
        microversion.parse(value)
    assert "is of invalid format. Must be of format MajorNum.MinorNum." in exc.value.message


def test_ordering_is_numeric() -> None:
    assert APIVersion(2, 10) > APIVersion(2, 9)
    assert microversion.parse("2.100").at_least("2.96")
    assert not microversion.parse("2.9").at_least("2.10")


def test_response_headers() -> None:
    assert microversion.response_headers(APIVersion(2, 47)) == [
        ("openstack-api-version", "compute 2.47"),
        ("x-openstack-nova-api-version", "2.47"),
        ("vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    ]
