"""Container networking on Linux: namespaces, bridges, veths, IPAM, DNS, ports.

The pieces, each in its own module and each usable alone:

- ``netns``: a network namespace that lives on a bind-mounted file, and a way
  to run code inside one (setns is per thread for network namespaces);
- ``links``: bridges and veth pairs over netlink (``rtnl``, a small client of our own);
- ``ipam``: subnets from Docker's default pools, addresses within a subnet;
- ``dns``: the embedded DNS server answering service names on each gateway;
- ``ports``: the userland proxy behind published ports;
- ``files``: ``/etc/hosts`` and ``/etc/resolv.conf`` as Docker writes them.

This package knows nothing of Compose: it imports ``composer.errors`` and
``composer.runtime.syscalls`` only. Heavy dependencies (dnslib) are
imported by the modules that need them, so importing this package is cheap.
"""
