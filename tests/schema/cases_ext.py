"""Differential cases of ``x-*`` extensions at every depth, and of Docker's checks.

Merged into ``cases.CASES`` / ``INVALID`` / ``STRICTER``. ``RAW_ONLY``: files
Docker refuses in ``config`` but prints with ``--no-interpolate`` (values it
checks only when decoding the interpolated project).
"""

from __future__ import annotations

from tests.schema.cases import Case

_EXT_DEEP = """\
services:
  web:
    image: nginx
    x-svc: {owner: a}
    build: {context: ., x-bake: {platforms: [linux/arm64]}}
    deploy:
      x-d: 1
      resources:
        x-r: {b: 2, a: 1}
        limits: {cpus: "0.5", x-l: 3}
        reservations:
          devices: [{capabilities: [gpu], x-dropped: 1}]
          generic_resources:
            - discrete_resource_spec: {kind: gpu, value: 1, x-drs: 1}
              x-gr: 1
      restart_policy: {condition: on-failure, x-rp: 1}
      update_config: {parallelism: 1, x-uc: 1}
      rollback_config: {parallelism: 2, x-rb: 1}
      placement:
        x-p: 1
        constraints: [node.role==worker]
        preferences: [{spread: node.labels.zone, x-sp: 1}]
    healthcheck: {test: ["CMD", "true"], x-h: [1, 2]}
    ports:
      - {target: 80, published: "8080", x-port: 1}
      - "81"
    volumes:
      - type: volume
        source: data
        target: /data
        x-vol: 1
        volume: {nocopy: true, x-vv: 1}
      - {type: bind, source: ., target: /b, bind: {x-bb: 1}}
      - {type: tmpfs, target: /t, tmpfs: {size: 10, x-tb: 1}}
      - {type: image, source: alpine, target: /i, image: {subpath: a, x-ib: 1}}
    networks:
      front: {aliases: [a], x-net: 1}
    logging: {driver: json-file, x-log: 1}
    depends_on:
      db: {condition: service_started, x-dep: 1}
    secrets: [{source: s, x-sec: 1}]
    configs: [{source: c, x-cfg: 1}]
    ulimits: {nofile: {soft: 1, hard: 2, x-ul: 1}}
    devices: [{source: /dev/null, target: /dev/n, x-dv: 1}]
    develop:
      x-dv: 1
      watch:
        - {path: ., action: sync+exec, target: /app, x-w: 1, exec: {command: [a], x-ex: 1}}
    credential_spec: {config: a, x-cs: 1}
    post_start: [{command: [a], x-ps: 1}]
    pre_stop: [{command: b, x-pst: 1}]
    gpus: [{driver: nvidia, x-g: 1}]
  db:
    image: db
    models:
      m: {endpoint_var: A, x-mo: 1}
  ai:
    provider: {type: foo, options: {a: b}, x-pr: 1}
networks:
  front:
    x-tn: 1
    ipam: {x-ipam: 1, config: [{subnet: 10.0.0.0/24, x-pool: 1}]}
volumes:
  data: {x-tv: 1}
secrets:
  s: {file: ./s, x-ts: 1}
configs:
  c: {file: ./c, x-tc: 1}
models:
  m: {model: ai/x, x-tm: 1}
x-top: {z: 1, a: [2020-01-01]}
"""


_EXT_MERGE_BASE = """\
services:
  web:
    image: nginx
    deploy: {x-d: {a: 1, b: 1}, resources: {limits: {cpus: "1", x-l: 1}}}
    healthcheck: {test: ["CMD", "true"], x-h: 1}
    ports: [{target: 80, published: "8080", x-port: 1}]
    volumes: [{type: volume, source: data, target: /data, x-vol: 1}]
    networks: {default: {x-net: 1}}
    logging: {driver: json-file, x-log: {a: 1}}
    depends_on: {db: {condition: service_started, x-dep: 1}}
  db:
    image: db
volumes:
  data: {}
"""


_EXT_MERGE_OVERRIDE = """\
services:
  web:
    deploy: {x-d: {b: 2, c: 3}, resources: {limits: {x-l: 2}}}
    healthcheck: {x-h2: 2}
    ports: [{target: 80, published: "8080", x-port: 2}]
    volumes: [{type: volume, source: data, target: /data, x-vol: 2}]
    networks: {default: {x-net: 2}}
    logging: {x-log: {b: 2}}
    depends_on: {db: {condition: service_healthy, x-dep2: 1}}
"""


_STRING_MAPS = """\
services:
  web:
    image: x
    networks:
      n: {driver_opts: {x-a: 1, b: 2}}
      m:
    volumes: [vol:/v]
    build:
      context: .
      args: {x-a: "1", b: "2"}
      labels: {x-b: "1", x-a: two words}
    deploy:
      labels: {x-a: "1"}
      resources:
        reservations:
          devices: [{capabilities: [gpu], options: {x-a: "1"}}]
    annotations: {x-a: "1"}
    sysctls: {x-a: "1", net.core.somaxconn: 1024}
    labels: {x-a: 1.5, x-b: 1000000.0, x-c: true, x-d: null}
    environment: {x-a: "1", X: 2}
    logging: {driver: x, options: {x-l: 1}}
    post_start: [{command: [a], environment: {x-e: "1"}}]
  p:
    provider: {type: t, options: {x-a: "1", b: c}}
networks:
  n:
    ipam: {config: [{subnet: 10.0.0.0/24, aux_addresses: {x-h: 10.0.0.5}}]}
    labels: {x-n: "1"}
  m:
    driver_opts: {x-q: "1", x-p: 1.5}
volumes:
  vol:
    driver_opts: {x-q: "1"}
    labels: {x-v: "1"}
"""


_SHORT_VOLUMES = """\
services:
  web:
    image: x
    volumes:
      - data:/a:rprivate
      - data:/b:nocopy,z,ro
      - ./x:/c:nocopy
      - ./x:/d:nocopy,Z
      - data:/e:Z,rw
      - /var/lib/docker/:/f
      - /srv//a/./b/../c:/g
      - ./rel/dir/:/h
      - "c:\\\\data:/i"
      - "v:/j"
      - data:/k:cached
volumes: {data: {}}
"""


_SMAP_BASE = """\
services:
  web:
    image: x
    environment: {A: "1", x-a: one, x-c: c1}
    labels: {l: "1", x-l: a}
    logging: {driver: json-file, options: {max-size: 1m, x-o: a}}
    build:
      context: .
      args: {V: "1", x-arg: a}
networks:
  n:
    driver_opts: {o: "1", x-d: a}
volumes:
  vol:
    labels: {a: "1", b: "1", x-vl: a}
"""
_SMAP_OVERRIDE = """\
services:
  web:
    environment: {B: "2", x-b: two, x-c: c2}
    labels: {x-m: b}
    logging: {options: {x-p: b}}
    build:
      args: {x-arg2: b}
    networks: [n]
    volumes: ["vol:/v"]
networks:
  n:
    driver_opts: {x-e: b}
volumes:
  vol:
    labels: {a: "2", x-vl: b, x-vm: c}
"""

EXT: dict[str, Case] = {
    "ext-deep": Case({"compose.yaml": _EXT_DEEP, "s": "", "c": ""}),
    "ext-merge": Case(
        {"compose.yaml": _EXT_MERGE_BASE, "compose.override.yaml": _EXT_MERGE_OVERRIDE}
    ),
    "ext-deep-build": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: nginx
    build:
      context: .
      secrets: [{source: s, x-bs: 1}]
      ulimits: {nofile: {soft: 1, hard: 2, x-bu: 1}}
    networks: [n1]
secrets:
  s: {file: ./s}
networks:
  n1:
    external: {name: foo, x-ext: 1}
""",
            "s": "",
        }
    ),
    "ext-string-maps": Case({"compose.yaml": _STRING_MAPS}),
    "devices-counts": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    devices: [/dev/a, "/dev/b:/dev/c", "/dev/d:/dev/e:r", {source: /dev/f, target: /dev/f}]
    gpus:
      - driver: nvidia
      - {count: 0}
      - {capabilities: [gpu], unknown_key: dropped}
    deploy:
      resources:
        reservations:
          devices: [{capabilities: [gpu]}, {capabilities: [gpu], count: 2}]
"""
        }
    ),
    "volumes-short-options": Case({"compose.yaml": _SHORT_VOLUMES}),
    # ``x-*`` keys of string maps in two files: merged as plain keys (KEY=VALUE lists) or into one ``#extensions``
    # relative targets: ``a:/x`` is a Windows drive path (the source), ``rprivate`` the target
    "relative-targets": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    volumes: ["a:/x:rprivate", "b:/y", "c:/z:ro", "./d:/w:rw", "data:rel", {type: bind, source: ./e, target: rel2}]
    tmpfs: [rel3]
volumes:
  data: {}
"""
        }
    ),
    "ext-string-maps-merge": Case({"compose.yaml": _SMAP_BASE, "compose.override.yaml": _SMAP_OVERRIDE}),
}

# Docker refuses these in ``config`` and prints them with ``--no-interpolate``.
RAW_ONLY: dict[str, Case] = {
    # Docker's long form of an attribute it cannot decode whole: a broken device is an empty mapping,
    # a watch rule without ``target`` keeps its resolved path
    "raw-half-filled": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    devices: ["/dev/a:/dev/b:rwm:extra", /dev/c, "/dev/d:/dev/e"]
    develop:
      watch:
        - {path: ./src, action: sync, ignore: [a]}
        - {path: ./b, action: rebuild}
        - {path: ./c, action: sync+restart, target: /c}
"""
        }
    ),
    "raw-unparsed-values": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    stop_grace_period: 10x
    mem_limit: 1.5q
    cpus: abc
    scale: -1
    attach: maybe
    healthcheck: {test: ["CMD", "true"], interval: 10x}
    deploy: {resources: {limits: {memory: 1q}}, restart_policy: {delay: soon}}
    secrets: [{source: s, mode: abc}]
    build: {context: ., shm_size: 1q}
    extra_hosts: [nohost]
    ports: ["80:80:80:80", "81"]
secrets:
  s: {file: ./s}
""",
            "s": "",
        }
    ),
}

# Files Docker refuses: composer must refuse them too.
EXT_INVALID: dict[str, dict[str, str]] = {
    "x-in-env-file": {
        "compose.yaml": "services:\n  web:\n    image: x\n    env_file: [{path: a.env, x-a: 1}]\n",
        "a.env": "",
    },
    "x-in-blkio": {
        "compose.yaml": "services:\n  web: {image: x, blkio_config: {weight: 10, x-a: 1}}\n"
    },
    "x-in-blkio-device": {
        "compose.yaml": "services:\n  web: {image: x, blkio_config: {weight_device: [{path: /a, weight: 1, x-a: 1}]}}\n"
    },
    "depends-no-condition": {
        "compose.yaml": "services:\n  web: {image: x, depends_on: {db: {required: false}}}\n  db: {image: y}\n"
    },
    "string-priority": {
        "compose.yaml": "services:\n  web: {image: x, networks: {n: {priority: '5'}}}\nnetworks:\n  n: {}\n"
    },
    "string-required": {
        "compose.yaml": "services:\n  web: {image: x, depends_on: {db: {condition: service_started, required: 'true'}}}\n"
        "  db: {image: y}\n"
    },
    "string-context-size": {
        "compose.yaml": "services:\n  web: {image: x}\nmodels:\n  m: {model: a, context_size: '5'}\n"
    },
    "string-initial-sync": {
        "compose.yaml": "services:\n  web:\n    image: x\n    develop: {watch: [{path: ., action: rebuild, initial_sync: 'true'}]}\n"
    },
    "device-no-target": {
        "compose.yaml": "services:\n  web: {image: x, devices: [{source: /dev/a}]}\n"
    },
    "gpus-count-and-ids": {
        "compose.yaml": "services:\n  web: {image: x, gpus: [{count: 1, device_ids: ['0']}]}\n"
    },
    "x-in-storage-opt": {"compose.yaml": "services:\n  web: {image: x, storage_opt: {x-a: '1'}}\n"},
    "x-in-extra-hosts-map": {
        "compose.yaml": "services:\n  web: {image: x, extra_hosts: {x-a: 10.0.0.1}}\n"
    },
    "x-in-secret-driver-opts": {
        "compose.yaml": "services:\n  web: {image: x, secrets: [s]}\nsecrets:\n  s: {file: ./s, driver_opts: {x-a: '1'}}\n",
        "s": "",
    },
}

# Docker's ``config`` accepts these; they fail at ``up`` (the engine refuses them): composer refuses early.
EXT_STRICTER: dict[str, dict[str, str]] = {
    "bad-tmpfs-size": {"compose.yaml": "services:\n  web: {image: x, tmpfs: ['/a:size=1q']}\n"},
    "ulimit-soft-above-hard": {
        "compose.yaml": "services:\n  web: {image: x, ulimits: {nofile: {soft: 10, hard: 5}}}\n"
    },
}


# Two files: later scalars win, sequences per table, ``!override`` and ``!reset`` (a whole service too).
_MERGE_BASE = """\
services:
  web:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    ports: ["80:80", "443:443"]
    volumes: [./a:/a, data:/data]
    environment: {A: "1", B: "2"}
    labels: [l1=a, l2=b]
    networks:
      front: {aliases: [w1]}
    healthcheck: {test: ["CMD", "true"], interval: 10s, retries: 3}
    deploy: {replicas: 2, resources: {limits: {memory: 256m}}}
    depends_on: [db]
    dns: [1.1.1.1]
    ulimits: {nofile: {soft: 100, hard: 200}}
    logging: {driver: json-file, options: {max-size: 1m}}
    secrets: [s1]
    extra_hosts: ["a:10.0.0.1"]
  db:
    image: postgres
    profiles: [db]
networks:
  front: {}
volumes:
  data: {}
secrets:
  s1: {file: ./s1}
  s2: {file: ./s2}
"""

_MERGE_OVERRIDE = """\
services:
  web:
    image: nginx:1.27
    command: ["nginx-debug", "-g", "daemon off;"]
    ports: !override ["8080:80"]
    volumes: [./b:/a, other:/other]
    environment: [B=3, C=4]
    labels: {l2: c, l3: d}
    networks:
      front: {aliases: [w2]}
      back: {}
    healthcheck: {interval: 20s}
    deploy: {resources: {limits: {cpus: "0.5"}}}
    depends_on: !reset []
    dns: 8.8.8.8
    ulimits: {nofile: {soft: 50, hard: 60}, nproc: 10}
    logging: {options: {max-file: "2"}}
    secrets: [s2]
    extra_hosts: ["b=10.0.0.2", "a:10.0.0.1"]
    x-added: 1
  db: !reset
networks:
  back: {}
volumes:
  other: {}
"""

EXT["merge-tags"] = Case(
    {"compose.yaml": _MERGE_BASE, "compose.override.yaml": _MERGE_OVERRIDE, "s1": "", "s2": ""}
)

# ``build`` defaults come after merging: an override's ``{dockerfile: X}`` keeps the base's context.
EXT["build-merge"] = Case(
    {
        "compose.yaml": """\
services:
  base:
    image: b
    depends_on: [db]
    links: [db]
    volumes_from: [db]
    network_mode: "service:db"
    ports: ["80"]
    volumes: [./v:/v]
    build: ./ctx
  web:
    extends: base
    ports: ["81"]
    build: {dockerfile: Other}
  db:
    image: postgres
  other:
    extends: {file: sub/other.yaml, service: s}
""",
        "sub/other.yaml": "services:\n  s:\n    image: s\n    build: ../ctx\n    volumes: [./rel:/rel, ../up:/up]\n    env_file: s.env\n    labels: {from: sub}\n",
        "sub/s.env": "S=1\n",
        "ctx/Dockerfile": "FROM x\n",
    }
)
EXT["build-merge-files"] = Case(
    {
        "a.yaml": "services:\n  a:\n    image: a\n    build: {context: ./ctx, dockerfile: Other}\n",
        "b.yaml": "services:\n  a:\n    build: .\n  b:\n    image: b\n    build: {dockerfile: X}\n",
        "ctx/Dockerfile": "FROM x\n",
    },
    args=("-f", "a.yaml", "-f", "b.yaml"),
)
