"""More differential cases: mount option blocks, YAML 1.2 scalars, env_file hashes.

Merged into ``cases.CASES`` (same ``Case`` shape, same expected/ directory).
"""

from __future__ import annotations

from tests.schema.cases import Case

_NUMBERS = [
    "0X1F",
    "0B11",
    "0O17",
    "-0x1f",
    "+0x1f",
    "1_0",
    "0_755",
    "0b1_0",
    "1_0.5",
    "-0o17",
    "0o1_7",
    "09",
    "-09",
    "-0.0",
    "1e400",
    "1e20",
    "1e6",
    "1234567.5",
    "1e15",
    "1e21",
    "0.00001",
    "1.0e-7",
    "18446744073709551616",
    "-12345678901234567890",
    ".inf",
    "-.Inf",
    ".NaN",
    ".5e3",
    "0x_1f",
    "._5",
    "_1",
    "1__0",
    "+-1",
    "=",
    "<<",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    "0755",
    "0o755",
    "1:20",
    "190:20:30",
    "~",
    "2020-02-30",
    "2020-13-01",
    "2020-01-01T10:00:00",
    "2020-01-01T25:00:00Z",
]

MORE: dict[str, Case] = {
    "volume-blocks": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    volumes:
      - {type: volume, source: data, target: /a}
      - {type: volume, source: data, target: /b, volume: {}}
      - {type: volume, target: /c}
      - {type: volume, source: data, target: /d, volume: {nocopy: false}}
      - {type: bind, source: ., target: /e}
      - {type: bind, source: ., target: /f, bind: {}}
      - {type: bind, source: ., target: /g, bind: {create_host_path: false}}
      - {type: tmpfs, target: /h}
      - {type: tmpfs, target: /i, tmpfs: {}}
      - {type: tmpfs, target: /j, tmpfs: {size: 0}}
      - {type: image, source: alp, target: /k}
      - {type: image, source: alp, target: /l, image: {}}
      - {type: volume, source: data, target: /m, bind: {}}
      - {type: bind, source: ., target: /n, volume: {}}
      - {type: bind, source: ., target: /o, tmpfs: {size: 1k}}
      - data:/p
      - ./x:/q
      - /r
      - /anon
      - data:/s:nocopy
volumes: {data: {}}
"""
        }
    ),
    "yaml-scalars": Case(
        {
            "compose.yaml": "services:\n  web:\n    image: x\n    environment:\n"
            + "".join(
                f"      V{i}: {v}\n"
                for i, v in enumerate(_NUMBERS)
                if v not in (".inf", "-.Inf", ".NaN")
            )
            + "    labels:\n"
            + "".join(f"      l{i}: {v}\n" for i, v in enumerate(_NUMBERS))
            + "    x-ext:\n"
            + "".join(
                f"      e{i}: {v}\n"
                for i, v in enumerate(_NUMBERS)
                if v not in (".inf", "-.Inf", ".NaN")
            )
            + "x-top:\n  when: 2001-12-14t21:59:43.10-05:00\n  day: 2020-1-2\n  utc: 2001-12-14 21:59:43.10\n"
            + "  zero: 2001-12-14t21:59:43+00:00\n  spaced: 2001-12-14  1:2:3.123456789123\n"
        }
    ),
    "env-file-hash": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    env_file: [f.env, {path: g.env, required: false}, {path: f.env, format: raw}]
    environment: [B, C=1, D]
    label_file: l.env
    labels: {z: "1"}
  other:
    image: y
    env_file: f.env
""",
            "f.env": "A=1\n",
            "l.env": "L=1\n",
        },
        env={"B": "fromshell"},
    ),
    "escapes-hash": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: "x<y>&z"
    labels: {html: "<b>&amp;</b>", uni: "héllo wörld ✓ 日本", sep: "a\\u2028b\\u2029c", ctl: "t\\tn\\x01\\x7f", dollar: "$$x"}
    environment: {"K<": ">v", Q: 'say "hi"', B: "back\\\\slash"}
    deploy: {replicas: 3, resources: {limits: {cpus: "0.5", memory: 1g}}}
    scale: 3
    healthcheck: {test: [CMD, curl, "http://x/?a=1&b=2"], interval: 1m30s, start_period: 500ms}
    pull_policy: always
    build: {context: ., args: {A: "<1>"}}
    ports: ["127.0.0.1:8080:80/udp"]
    volumes: [/data, "./a:/a:ro"]
    stop_grace_period: 1h2m3.5s
"""
        }
    ),
    "raw-merge": Case(
        {
            "compose.yaml": """\
include:
  - path: lib/inc.yaml
services:
  web:
    extends: {file: base.yaml, service: base}
    image: ${IMG:?set IMG}
    environment: {B: over, D: $$LITERAL, N: 1}
    labels: [b=2]
    env_file: [w.env]
    command: echo $$HOME ${X:-x}
    profiles: [p]
    depends_on: [lib]
  plain: {image: x, environment: {A: 1}, labels: {a: b}, sysctls: {net.core.somaxconn: 1024}}
""",
            "override.yaml": """\
services:
  web:
    environment: [E=5]
    labels: {c: 3}
    ports: ["8080:80"]
  plain:
    environment: {B: 2}
    labels: [z=1]
    volumes: [./d:/d]
""",
            "base.yaml": "services:\n  base:\n    image: b\n    environment: [A=1, B=2]\n    env_file: b.env\n"
            "    labels: {a: 1}\n    mem_limit: 1.5g\n",
            "lib/inc.yaml": "services:\n  lib:\n    image: l\n    env_file: l.env\n    volumes: [./data:/data]\n",
            "lib/l.env": "L=1\n",
            "w.env": "W=1\n",
            "b.env": "BB=1\n",
        },
        env={"IMG": "img"},
        args=("-f", "compose.yaml", "-f", "override.yaml"),
    ),
    "build-extensions": Case(
        {
            "compose.yaml": "services:\n  web:\n    image: x\n    build:\n      context: .\n"
            "      x-bake: {platforms: [linux/amd64], tags: ['a:1']}\n      x-b2: 1\n",
            "compose.override.yaml": "services:\n  web:\n    build:\n      x-bake: {tags: ['b:2']}\n",
        }
    ),
    "raw-variables": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x:${TAG:-latest}
    ports: ["${P}:80", "81"]
    stop_grace_period: "${T}"
    volumes: ["${D}:/d"]
    mem_limit: ${MEM}
    environment: {A: "${A:?a is required}", B: $$B}
volumes: {data: {}}
"""
        },
        env={"P": "8080", "T": "10s", "D": "data", "MEM": "1g", "A": "a"},
    ),
}

# Unquoted timestamps where Docker wants a string (both refuse them).
MORE_INVALID: dict[str, dict[str, str]] = {
    "date-label": {"compose.yaml": "services:\n  web: {image: x, labels: {a: 2020-01-01}}\n"},
    "date-image": {"compose.yaml": "services:\n  web: {image: 2001-12-14t21:59:43.10-05:00}\n"},
    "date-list-item": {"compose.yaml": "services:\n  web: {image: x, labels: [a=1, 2020-01-01]}\n"},
    "date-env-list": {"compose.yaml": "services:\n  web: {image: x, environment: [2020-01-01]}\n"},
    "date-env-map": {
        "compose.yaml": "services:\n  web: {image: x, environment: {A: 2020-1-2 3:04:05}}\n"
    },
    "date-key": {"compose.yaml": "services:\n  web: {image: x, labels: {2020-01-01: a}}\n"},
    "date-command": {"compose.yaml": "services:\n  web: {image: x, command: [echo, 2020-01-01]}\n"},
    "date-x-label": {"compose.yaml": "services:\n  web: {image: x, labels: {x-a: 2020-01-01}}\n"},
    "date-name": {"compose.yaml": "name: 2020-01-01\nservices:\n  web: {image: x}\n"},
    "date-port": {
        "compose.yaml": "services:\n  web: {image: x, ports: [{target: 80, published: 2020-01-01}]}\n"
    },
}
