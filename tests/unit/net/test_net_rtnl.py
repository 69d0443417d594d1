"""The netlink message encoding of ``runtime.net.rtnl`` (pure: no socket)."""

from __future__ import annotations

import struct

from composer.runtime.net import links, rtnl


def test_attributes_are_padded_and_parse_back() -> None:
    packed = rtnl.pack_attrs([(rtnl.IFLA_IFNAME, rtnl.name_attr("eth0")), (rtnl.IFLA_MTU, rtnl.u32(1400))])
    # 4-byte header + "eth0\0" (5) padded to 8, then 4 + 4
    assert len(packed) == 12 + 8
    assert struct.unpack_from("=HH", packed) == (9, rtnl.IFLA_IFNAME)
    attrs = rtnl.parse_attrs(packed)
    assert attrs[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", attrs[rtnl.IFLA_MTU]) == (1400,)


def test_nested_attributes() -> None:
    packed = rtnl.pack_attrs([(rtnl.IFLA_LINKINFO, [(rtnl.IFLA_INFO_KIND, b"veth")])])
    info = rtnl.parse_attrs(rtnl.parse_attrs(packed)[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth"


def test_parse_stops_at_a_truncated_attribute() -> None:
    assert rtnl.parse_attrs(b"\x02\x00\x01\x00") == {}
    assert rtnl.parse_attrs(b"") == {}


def test_veth_request_carries_peer_namespace_and_mac() -> None:
    body = links._veth_request("vethabc", "eth0", 7, 1500, "02:42:ac:11:00:02")
    attrs = rtnl.parse_attrs(body[16:])  # after the ifinfomsg
    assert attrs[rtnl.IFLA_IFNAME] == b"vethabc\0"
    info = rtnl.parse_attrs(attrs[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth"
    peer = rtnl.parse_attrs(info[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER]
    peer_attrs = rtnl.parse_attrs(peer[16:])
    assert peer_attrs[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", peer_attrs[rtnl.IFLA_NET_NS_FD]) == (7,)
    assert peer_attrs[rtnl.IFLA_ADDRESS] == bytes([0x02, 0x42, 0xAC, 0x11, 0x00, 0x02])


def test_bad_mac_is_a_network_error() -> None:
    import pytest

    from composer.errors import NetworkError

    with pytest.raises(NetworkError, match=r"^set address zz:00 on eth0: invalid MAC address$"):
        links._veth_request("vethabc", "eth0", 7, 1500, "zz:00")
