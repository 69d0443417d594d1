"""Tables of keys the Compose Specification knows (from ``compose-spec.json``).

Copied here so the package does not read the spec at run time. A key not in
its table is a typo and a ConfigError, as Docker's validator says. Keys
starting with ``x-`` are extensions and always accepted. Tables of nested
structures live beside their converters (``service.py``, ``structs.py``,
``mounts.py``).
"""

from __future__ import annotations

from composer.schema.service import SERVICE_FIELDS

TOP_LEVEL = frozenset(
    {
        "configs", "include", "models", "name", "networks", "secrets", "services", "version",
        "volumes",
    }
)  # fmt: skip

# Every service attribute: the converter table plus those finished by the loader.
SERVICE = frozenset(SERVICE_FIELDS) | {"volumes", "env_file", "label_file", "extends"}

NETWORK = frozenset(
    {
        "attachable", "driver", "driver_opts", "enable_ipv4", "enable_ipv6", "external",
        "internal", "ipam", "labels", "name",
    }
)  # fmt: skip
IPAM = frozenset({"config", "driver", "options"})
IPAM_CONFIG = frozenset({"aux_addresses", "gateway", "ip_range", "subnet"})
VOLUME = frozenset({"driver", "driver_opts", "external", "labels", "name"})
SECRET = frozenset(
    {"name", "environment", "file", "external", "labels", "driver", "driver_opts", "template_driver"}
)
CONFIG = frozenset(
    {"name", "content", "environment", "file", "external", "labels", "template_driver"}
)
MODEL = frozenset({"name", "model", "context_size", "runtime_flags"})
