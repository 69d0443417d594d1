"""A minimal rtnetlink client: the few link, address and route requests composer makes.

Enough of ``NETLINK_ROUTE`` for bridges and veth pairs (``links``) and for
reading what the host routes (``ipam``), on a plain socket: no event loop,
no thread, nothing to import but the standard library. pyroute2 did this
before; importing it took ~0.25 s and each request a few milliseconds, which
``up`` of a 20-service stack paid twenty times over.

A socket lives in the network namespace it was opened in, whatever thread
uses it later (see ``netns``): open one in a thread that joined a namespace to
configure that namespace. Errors come back as :class:`NetlinkError`, an
``OSError`` carrying the kernel's errno.

Message layouts are the kernel's (``linux/rtnetlink.h``, ``linux/if_link.h``);
attributes are (type, payload) pairs, padded to four bytes, nested ones
built from their own attribute lists.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address
from types import TracebackType

from composer.values import valueclass

NETLINK_ROUTE = 0
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER = 1, 3, 4, 10
IFLA_LINKINFO, IFLA_GROUP, IFLA_NET_NS_FD = 18, 27, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
IFF_UP = 0x1
TIMEOUT = 10.0  # seconds to wait for the kernel's answer (it always answers; a bound all the same)

_HDR = struct.Struct("=IHHII")      # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")   # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_ATTR = struct.Struct("=HH")

#: an attribute value: raw bytes, or a list of nested attributes
Attr = tuple[int, "bytes | Sequence[Attr]"]


class NetlinkError(OSError):
    """The kernel refused a request (``errno`` is its error)."""


def _pad(n: int) -> int:
    return (n + 3) & ~3


def pack_attrs(attrs: Sequence[Attr]) -> bytes:
    out = bytearray()
    for kind, value in attrs:
        data = value if isinstance(value, bytes) else pack_attrs(value)
        out += _ATTR.pack(_ATTR.size + len(data), kind) + data
        out += b"\0" * (_pad(len(data)) - len(data))
    return bytes(out)


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """Attributes by type (the last one wins), nested ones left packed."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, pos)
        if length < _ATTR.size:
            break
        out[kind & 0x3FFF] = data[pos + _ATTR.size:pos + length]
        pos += _pad(length)
    return out


def name_attr(name: str) -> bytes:
    return name.encode() + b"\0"


def u32(value: int) -> bytes:
    return struct.pack("=I", value)


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


@valueclass
class Link:
    index: int
    name: str
    kind: str | None
    flags: int


def _link(payload: bytes) -> Link:
    _, _, index, flags, _ = _IFINFO.unpack_from(payload)
    attrs = parse_attrs(payload[_IFINFO.size:])
    info = parse_attrs(attrs.get(IFLA_LINKINFO, b""))
    kind = info.get(IFLA_INFO_KIND)
    return Link(index, attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(),
                kind.rstrip(b"\0").decode() if kind is not None else None, flags)


class Rtnl:
    """One ``NETLINK_ROUTE`` socket in the namespace of the thread that opened it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.settimeout(TIMEOUT)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def request(self, kind: int, body: bytes, flags: int = 0) -> list[tuple[int, bytes]]:
        """Send one request and collect its answers (every part of a dump); raises on error."""
        self.seq += 1
        seq = self.seq
        flags |= NLM_F_REQUEST | (0 if kind % 4 == 2 else NLM_F_ACK)  # RTM_GET* answer without an ack
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
        out: list[tuple[int, bytes]] = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except TimeoutError:
                raise NetlinkError(errno.ETIMEDOUT, "no answer from the kernel") from None
            for mtype, mflags, mseq, payload in _messages(data):
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise NetlinkError(code, os.strerror(code))
                    return out
                if mtype == NLMSG_DONE:
                    return out
                out.append((mtype, payload))
                if not mflags & NLM_F_MULTI:
                    return out

    # -- links ----------------------------------------------------------------
    def links(self) -> list[Link]:
        return [_link(p) for t, p in self.request(RTM_GETLINK, ifinfo(), NLM_F_DUMP) if t == RTM_NEWLINK]

    def link(self, name: str) -> Link | None:
        """The link of that name, or None."""
        try:
            answers = self.request(RTM_GETLINK, ifinfo() + pack_attrs([(IFLA_IFNAME, name_attr(name))]))
        except NetlinkError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return next((_link(p) for t, p in answers if t == RTM_NEWLINK), None)

    def new_link(self, body: bytes) -> None:
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)

    def set_link(self, index: int, attrs: Sequence[Attr] = (), up: bool = False) -> None:
        body = ifinfo(index, IFF_UP if up else 0, IFF_UP if up else 0) + pack_attrs(attrs)
        self.request(RTM_NEWLINK, body)

    def del_link(self, index: int) -> None:
        self.request(RTM_DELLINK, ifinfo(index))

    # -- addresses and routes ---------------------------------------------------
    def addresses(self, index: int = 0) -> Iterator[tuple[int, IPv4Address, int]]:
        """(interface index, address, prefix length) of every IPv4 address (of one link)."""
        for t, p in self.request(RTM_GETADDR, _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0), NLM_F_DUMP):
            _, plen, _, _, ifindex = _IFADDR.unpack_from(p)
            attrs = parse_attrs(p[_IFADDR.size:])
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if t == RTM_NEWADDR and raw is not None and (not index or ifindex == index):
                yield ifindex, IPv4Address(raw), plen

    def add_address(self, index: int, address: IPv4Address, prefixlen: int, broadcast: IPv4Address) -> None:
        body = _IFADDR.pack(socket.AF_INET, prefixlen, 0, 0, index) + pack_attrs([
            (IFA_LOCAL, address.packed), (IFA_ADDRESS, address.packed), (IFA_BROADCAST, broadcast.packed)])
        self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL)

    def routes(self) -> Iterator[tuple[IPv4Address | None, int]]:
        """(destination, prefix length) of the main table's IPv4 routes."""
        for t, p in self.request(RTM_GETROUTE, _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0), NLM_F_DUMP):
            _, dst_len, _, _, table, _, _, _, _ = _RTMSG.unpack_from(p)
            attrs = parse_attrs(p[_RTMSG.size:])
            if RTA_TABLE in attrs:
                table = struct.unpack("=I", attrs[RTA_TABLE])[0]
            if t == RTM_NEWROUTE and table == RT_TABLE_MAIN:
                dst = attrs.get(RTA_DST)
                yield (IPv4Address(dst) if dst else None), dst_len

    def add_default_route(self, index: int, gateway: IPv4Address) -> None:
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0)
        body += pack_attrs([(RTA_GATEWAY, gateway.packed), (RTA_OIF, u32(index))])
        self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL)


def _messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    pos = 0
    while pos + _HDR.size <= len(data):
        length, mtype, flags, seq, _ = _HDR.unpack_from(data, pos)
        if length < _HDR.size:
            return
        yield mtype, flags, seq, data[pos + _HDR.size:pos + length]
        pos += _pad(length)
