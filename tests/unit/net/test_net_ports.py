"""The /proc/net address decoding used to name a port's holder."""

import sys
from ipaddress import ip_address

import pytest

from composer.runtime.net.ports import _decode_ip


@pytest.mark.skipif(sys.byteorder != "little", reason="sample lines are from a little-endian host")
def test_decode_proc_net_addresses() -> None:
    assert _decode_ip("0100007F") == ip_address("127.0.0.1")
    assert _decode_ip("00000000000000000000000000000000") == ip_address("::")
    assert _decode_ip("0000000000000000FFFF00000100007F") == ip_address("127.0.0.1")
    assert _decode_ip("00000000000000000000000001000000") == ip_address("::1")
