"""The table of compose files of the differential and canonical-form tests.

Each case is a directory: ``files`` (name → text), an ``env`` (the whole
process environment both tools see) and extra ``args`` for ``config``. The
directory is named after the case, so the project name is the case name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    files: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


def _one(body: str, extra: str = "", **files: str) -> dict[str, str]:
    return {"compose.yaml": "services:\n  web:\n" + body + extra, **files}


CASES: dict[str, Case] = {
    "minimal": Case(_one("    image: nginx\n")),
    "command-forms": Case(
        {
            "compose.yaml": """\
services:
  a: {image: x, command: echo "a b" 'c d' e\\ f, entrypoint: /bin/sh -c}
  b: {image: x, command: [echo, "1", "true"], entrypoint: []}
  c: {image: x, command: ""}
"""
        }
    ),
    "ports-short": Case(
        _one(
            """\
    image: x
    ports:
      - 80
      - "8080:80"
      - "127.0.0.1:8081:81"
      - "127.0.0.1::82"
      - "[::1]:8083:83"
      - "9000-9001:9000-9001"
      - "9100-9110:91"
      - "3000-3002"
      - "53:53/udp"
      - 9999:99/tcp
"""
        )
    ),
    "ports-long": Case(
        _one(
            """\
    image: x
    ports:
      - target: 80
      - target: 81
        published: 8081
        host_ip: 0.0.0.0
        protocol: udp
        mode: host
        name: web
        app_protocol: http
      - {target: 82, published: "8000-8010"}
"""
        )
    ),
    "volumes-short": Case(
        _one(
            """\
    image: x
    volumes:
      - data:/data
      - data:/ro:ro
      - ./src:/src
      - ../up:/up:rw
      - /abs:/abs:ro,z
      - /abs2:/abs2:Z,rslave
      - /anon
      - ~/h:/h
      - ./cached:/c:cached
      - named:/n:nocopy
""",
            "volumes:\n  data: {}\n  named: {}\n",
        ),
        env={"HOME": "/home/u"},
    ),
    "volumes-long": Case(
        _one(
            """\
    image: x
    volumes:
      - type: bind
        source: ./b
        target: /b
        read_only: true
        bind: {create_host_path: true, propagation: rshared, selinux: z}
      - type: volume
        source: data
        target: /d
        volume: {nocopy: true, subpath: sub, labels: {a: b}}
      - type: tmpfs
        target: /t
        tmpfs: {size: 10m, mode: 01777}
      - type: image
        source: alpine
        target: /img
        image: {subpath: etc}
      - type: volume
        target: /anon
        volume: {}
""",
            "volumes:\n  data: {}\n",
        )
    ),
    "tmpfs": Case(
        {
            "compose.yaml": """\
services:
  a: {image: x, tmpfs: /run}
  b: {image: x, tmpfs: [/run, "/tmp:size=64k,mode=1777"]}
"""
        }
    ),
    "environment": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    environment:
      - A=1
      - B
      - C=
      - D=with=equals
      - FROM_SHELL
  b:
    image: x
    environment:
      N: 1
      T: true
      F: 1.5
      E: ""
      U:
      S: $HOME
      Q: "quoted $$ dollar"
"""
        },
        env={"FROM_SHELL": "shell", "HOME": "/home/u"},
    ),
    "interpolation": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: ${IMAGE:-nginx}:${TAG-latest}
    container_name: ${NAME:?name is required}
    hostname: ${UNSET:-${NESTED:-deep}}
    working_dir: ${EMPTY:-/fallback}
    user: "${EMPTY-kept-empty}x"
    labels:
      alt: ${SET:+alternative}
      alt2: ${EMPTY+set-but-empty}
      alt3: ${UNSET:+never}
      dollar: $$HOME
      plain: $SET
      braces: ${SET}
    environment:
      TPL: "{{ $${VAR} }}"
"""
        },
        env={"NAME": "n1", "SET": "yes", "EMPTY": "", "NESTED": "n"},
    ),
    "dotenv": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: ${IMAGE}
    environment:
      A: ${A}
      B: ${B}
      C: ${C}
      D: ${D}
      E: ${E}
      F: ${F}
      M: ${M}
""",
            ".env": """\
# comment
IMAGE=busybox
export A=exported
B="double \\"quoted\\" \\n newline"
C='single $A literal'
D=unquoted # comment
E=${A}-interp
F=${ZZ:-def}
M="multi
line"
""",
        }
    ),
    "dotenv-shell-wins": Case(
        {"compose.yaml": "services:\n  web: {image: \"${IMAGE}\"}\n", ".env": "IMAGE=fromfile\n"},
        env={"IMAGE": "fromshell"},
    ),
    "env-file": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    env_file:
      - a.env
      - path: b.env
        required: true
      - path: missing.env
        required: false
    environment:
      OVER: mine
""",
            "a.env": "A=1\nOVER=file\nexport X='q'\n",
            "b.env": "B=2\nC=${A}\n",
        }
    ),
    "env-file-string": Case(
        {
            "compose.yaml": "services:\n  web: {image: x, env_file: a.env}\n",
            "a.env": "A=1\n",
        }
    ),
    "label-file": Case(
        {
            "compose.yaml": "services:\n  web: {image: x, label_file: l.txt, labels: [z=1]}\n",
            "l.txt": "a=b\nz=0\n",
        }
    ),
    "labels-annotations": Case(
        _one(
            """\
    image: x
    labels: [a=b, c]
    annotations: {x: 1, y: "2"}
    sysctls: [net.core.somaxconn=1024]
    storage_opt: {size: 1G}
"""
        )
    ),
    "depends-on": Case(
        {
            "compose.yaml": """\
services:
  a: {image: x, depends_on: [b, c]}
  b:
    image: x
    depends_on:
      c: {condition: service_healthy, restart: true}
      d: {condition: service_completed_successfully, required: false}
  c: {image: x, healthcheck: {test: [CMD, "true"]}}
  d: {image: x}
"""
        }
    ),
    "healthcheck": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    healthcheck:
      test: curl -f http://localhost
      interval: 1m30s
      timeout: 500ms
      retries: 0
      start_period: 1h
      start_interval: 2s
  b: {image: x, healthcheck: {test: [CMD-SHELL, "exit 0"], retries: 5}}
  c: {image: x, healthcheck: {disable: true}}
  d: {image: x, healthcheck: {test: [NONE]}}
"""
        }
    ),
    "networks": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    networks:
      front:
        aliases: [web, www]
        ipv4_address: 10.5.0.5
        ipv6_address: "2001:db8::5"
        priority: 100
        gw_priority: 1
        mac_address: 02:42:ac:11:00:02
        link_local_ips: [169.254.1.1]
        interface_name: eth1
        driver_opts: {opt: 1}
      back:
  b: {image: x, networks: [back, default]}
  c: {image: x, network_mode: host}
  d: {image: x, network_mode: "service:a"}
networks:
  front:
    driver: bridge
    driver_opts: {com.docker.network.bridge.name: br0}
    ipam:
      driver: default
      config:
        - subnet: 10.5.0.0/16
          ip_range: 10.5.0.0/24
          gateway: 10.5.0.1
          aux_addresses: {host1: 10.5.0.2}
    internal: true
    attachable: true
    enable_ipv6: true
    enable_ipv4: true
    labels: [a=b]
  back: {name: custom-back}
  unused: {}
  ext: {external: true, name: outside}
"""
        }
    ),
    "top-volumes": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    volumes: [data:/d, ext:/e, legacy:/l, named:/n]
volumes:
  data:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv}
    labels: {a: b}
  ext: {external: true}
  named: {name: "my-${SUFFIX}"}
  legacy: {external: true, name: real-legacy}
  unused:
""",
        },
        env={"SUFFIX": "vol"},
    ),
    "secrets-configs": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    secrets:
      - s1
      - source: s2
        target: custom
        uid: "103"
        gid: "103"
        mode: 0440
    configs:
      - c1
      - source: c2
        target: /etc/c2
        mode: "0444"
      - c3
secrets:
  s1: {file: ./s1.txt}
  s2: {environment: TOKEN}
  unused: {file: ./nope}
configs:
  c1: {file: ./c1.conf}
  c2: {content: "hello ${NAME}"}
  c3: {external: true, name: real-c3}
""",
            "s1.txt": "secret\n",
            "c1.conf": "x\n",
        },
        env={"TOKEN": "t", "NAME": "n"},
    ),
    "build": Case(
        {
            "compose.yaml": """\
services:
  a: {build: .}
  b: {build: ./sub, image: myimg:1}
  c:
    build:
      context: ./sub
      dockerfile: Dockerfile.dev
      args: [A=1, B]
      target: dev
      labels: {a: b}
      cache_from: [type=local,src=/tmp]
      cache_to: [type=inline]
      no_cache: true
      pull: true
      network: host
      shm_size: 2g
      extra_hosts: ["h:1.2.3.4"]
      isolation: default
      privileged: true
      secrets: [s1]
      tags: [t:1, t:2]
      ulimits: {nofile: {soft: 1, hard: 2}}
      platforms: [linux/amd64, linux/arm64]
      ssh: [default]
      additional_contexts: {base: ./base, img: "docker-image://alpine"}
      entitlements: [network.host]
  d:
    build:
      dockerfile_inline: |
        FROM alpine
        RUN true
      args: {X: 1}
secrets:
  s1: {file: ./s1}
"""
        }
    ),
    "deploy": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: vip
      labels: [a=b]
      resources:
        limits: {cpus: "0.50", memory: 512M, pids: 100}
        reservations:
          cpus: '0.25'
          memory: 128m
          devices:
            - {driver: nvidia, count: all, capabilities: [gpu]}
            - {capabilities: [tpu], device_ids: ["0", "1"], options: {a: b}}
          generic_resources:
            - discrete_resource_spec: {kind: SSD, value: 2}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 120s}
      update_config: {parallelism: 2, delay: 10s, order: start-first, failure_action: rollback, monitor: 1m, max_failure_ratio: 0.3}
      rollback_config: {parallelism: 0}
      placement:
        constraints: [node.role==manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 1
  b: {image: x, scale: 2}
  c: {image: x, deploy: {replicas: 0}}
  d: {image: x, deploy: {resources: {limits: {memory: 1g}}}, mem_limit: 1g}
"""
        }
    ),
    "runtime-options": Case(
        _one(
            """\
    image: x
    cap_add: [NET_ADMIN, SYS_TIME]
    cap_drop: [ALL]
    privileged: true
    read_only: true
    security_opt: [no-new-privileges:true]
    init: true
    tty: true
    stdin_open: true
    user: "1000:1000"
    working_dir: /app
    hostname: h
    domainname: example.com
    shm_size: 64m
    mem_limit: 1.5g
    mem_reservation: 100k
    memswap_limit: -1
    mem_swappiness: 60
    cpus: 1.5
    cpu_shares: 512
    cpu_quota: 50000
    cpu_period: 100000
    cpu_rt_runtime: 950
    cpu_rt_period: 1000
    cpuset: 0-1
    cpu_count: 2
    cpu_percent: 50
    pids_limit: 100
    oom_kill_disable: true
    oom_score_adj: -500
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    sysctls: {net.ipv4.ip_forward: 1}
    devices: ["/dev/fuse", "/dev/sda:/dev/xvda:r", {source: /dev/null, target: /dev/n, permissions: rw}]
    device_cgroup_rules: ["c 1:3 mr"]
    group_add: [mail, 1001]
    runtime: runc
    pid: host
    ipc: shareable
    uts: host
    userns_mode: host
    cgroup: private
    cgroup_parent: parent
    isolation: default
    platform: linux/amd64
    stop_signal: SIGINT
    stop_grace_period: 1m
    restart: unless-stopped
    pull_policy: always
    container_name: my-web
    mac_address: 02:42:ac:11:00:02
    attach: false
"""
        )
    ),
    "dns-hosts-links": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    dns: 8.8.8.8
    dns_search: [a.example, b.example]
    dns_opt: [use-vc, no-tld-query]
    extra_hosts:
      - somehost:162.242.195.82
      - "otherhost=50.31.209.229"
      - "v6:::1"
    links: [b, "b:alias"]
    external_links: [redis_1, "project_db_1:mysql"]
    expose: ["3000", 8000, "9000-9001/udp"]
    volumes_from: [b, "b:ro"]
  b:
    image: x
    extra_hosts: {one: 1.1.1.1, many: [2.2.2.2, 3.3.3.3]}
"""
        }
    ),
    "logging": Case(
        {
            "compose.yaml": """\
services:
  a: {image: x, logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}}
  b: {image: x, logging: {driver: none}}
"""
        }
    ),
    "profiles": Case(
        {
            "compose.yaml": """\
services:
  a: {image: x}
  b: {image: x, profiles: [debug]}
  c: {image: x, profiles: [test, debug]}
  d: {image: x, profiles: [other]}
"""
        },
        args=("--profile", "debug"),
    ),
    "profiles-env": Case(
        {
            "compose.yaml": "services:\n  a: {image: x}\n  b: {image: x, profiles: [p1]}\n  c: {image: x, profiles: [p2]}\n"
        },
        env={"COMPOSE_PROFILES": "p2"},
    ),
    "extends": Case(
        {
            "compose.yaml": """\
services:
  base:
    image: base
    environment: {A: 1, B: 2}
    ports: ["80"]
    volumes: [./a:/a]
    labels: {x: base}
    command: base cmd
  web:
    extends: base
    environment: {B: over, C: 3}
    ports: ["81"]
    command: [web]
  chain:
    extends: {service: web}
    labels: {x: chain}
  other:
    extends: {file: common/common.yaml, service: common}
    image: mine
""",
            "common/common.yaml": """\
services:
  common:
    image: common
    volumes: [./data:/data]
    env_file: common.env
""",
            "common/common.env": "FROM_COMMON=1\n",
        }
    ),
    "include": Case(
        {
            "compose.yaml": """\
include:
  - sub/compose.yaml
  - path: other/compose.yaml
    env_file: other/custom.env
services:
  web: {image: x, depends_on: [db]}
""",
            "sub/compose.yaml": "services:\n  db:\n    image: postgres\n    volumes: [./init:/init]\n",
            "other/compose.yaml": "services:\n  cache: {image: \"redis:${TAG}\"}\n",
            "other/custom.env": "TAG=7\n",
        }
    ),
    "override-file": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    ports: ["80:80"]
    environment: {A: 1}
    command: [a]
    volumes: [./a:/a, ./b:/b]
    labels: [x=1]
    dns: [1.1.1.1]
    logging: {driver: syslog, options: {a: b}}
""",
            "compose.override.yaml": """\
services:
  web:
    image: y
    ports: ["81:81", "80:80"]
    environment: [B=2]
    command: [b]
    volumes: [./c:/b]
    labels: {y: "2"}
    dns: [8.8.8.8]
    logging: {options: {c: d}}
""",
        }
    ),
    "reset-override": Case(
        {
            "compose.yaml": """\
services:
  web:
    image: x
    ports: ["80:80"]
    environment: {A: 1, B: 2}
    labels: {a: b}
    command: [a]
""",
            "compose.override.yaml": """\
services:
  web:
    ports: !reset []
    environment:
      B: !reset
    labels: !override {c: d}
""",
        }
    ),
    "multi-file": Case(
        {
            "a.yaml": "services:\n  web: {image: a, environment: [X=1]}\n",
            "b.yaml": "services:\n  web: {environment: [Y=2]}\n  extra: {image: e}\n",
        },
        args=("-f", "a.yaml", "-f", "b.yaml"),
    ),
    "compose-file-env": Case(
        {
            "one.yaml": "services:\n  web: {image: a}\n",
            "two.yaml": "services:\n  web: {image: b}\n",
        },
        env={"COMPOSE_FILE": "one.yaml;two.yaml", "COMPOSE_PATH_SEPARATOR": ";"},
    ),
    "project-name": Case(
        {"compose.yaml": "name: From_File.1\nservices:\n  web: {image: x}\n"},
    ),
    "project-name-env": Case(
        {"compose.yaml": "name: from-file\nservices:\n  web: {image: x}\n"},
        env={"COMPOSE_PROJECT_NAME": "from-env"},
    ),
    "project-name-flag": Case(
        {"compose.yaml": "services:\n  web: {image: x}\n"},
        args=("-p", "flagged"),
    ),
    "anchors": Case(
        {
            "compose.yaml": """\
x-common: &common
  image: x
  environment: &env
    A: 1
  labels: [a=b]
services:
  a:
    <<: *common
    environment:
      <<: *env
      B: 2
  b: *common
"""
        }
    ),
    "extensions": Case(
        {
            "compose.yaml": """\
x-top: {a: 1}
services:
  web:
    image: x
    x-svc: [1, 2]
networks:
  n: {x-net: yes}
volumes:
  v: {x-vol: 1}
""",
        }
    ),
    "yaml-types": Case(
        _one(
            """\
    image: x
    restart: no
    environment:
      Y: yes
      O: on
      OCT: 0755
      DATE: "2001-01-01"
      TIME: 12:30
      FLOAT: 1e3
"""
        )
    ),
    "version": Case({"compose.yaml": "version: '3.8'\nservices:\n  web: {image: x}\n"}),
    "hooks-develop": Case(
        _one(
            """\
    image: x
    post_start:
      - command: ./start.sh
        user: root
        privileged: true
        working_dir: /app
        environment: [A=1]
    pre_stop:
      - command: [./stop.sh, now]
    develop:
      watch:
        - {path: ./src, action: sync, target: /app/src, ignore: [node_modules/], initial_sync: true}
        - {path: package.json, action: rebuild}
        - {path: ./cfg, action: sync+restart, target: /etc/app}
"""
        )
    ),
    "misc-objects": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    gpus: all
    blkio_config:
      weight: 300
      weight_device: [{path: /dev/sda, weight: 400}]
      device_read_bps: [{path: /dev/sda, rate: 12mb}]
      device_write_iops: [{path: /dev/sda, rate: 30}]
    credential_spec: {file: spec.json}
    use_api_socket: true
    pull_refresh_after: 1h
  b:
    image: x
    gpus: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu, utility]}]
  p:
    provider:
      type: model
      options: {model: ai/smollm2, flags: [a, b]}
"""
        }
    ),
    "models": Case(
        {
            "compose.yaml": """\
services:
  a:
    image: x
    models:
      llm: {endpoint_var: URL, model_var: NAME}
  b: {image: x, models: [llm]}
models:
  llm: {model: ai/smollm2, context_size: 1024, runtime_flags: [--a]}
"""
        }
    ),
    "services-order": Case(
        {
            "compose.yaml": "services:\n  zeta: {image: z}\n  alpha: {image: a, depends_on: [zeta]}\n  mid: {image: m}\n"
        }
    ),
    "env-file-option": Case(
        {
            "compose.yaml": "services:\n  web: {image: '${IMG}:${TAG}', environment: ['A=${A}']}\n",
            ".env": "IMG=ignored\n",
            "one.env": "IMG=one\nTAG=1\nA=${TAG}-x\n",
            "two.env": "TAG=2\n",
        },
        env={"A": "shell"},
        args=("--env-file", "one.env", "--env-file", "two.env"),
    ),
    "compose-env-files": Case(
        {
            "compose.yaml": "services:\n  web: {image: '${IMG}'}\n",
            "a.env": "IMG=from-a\n",
        },
        env={"COMPOSE_ENV_FILES": "a.env"},
    ),
    "dotenv-forms": Case(
        {
            "compose.yaml": "services:\n  web:\n    image: x\n    env_file: [f.env]\n",
            "f.env": (
                "# c\n\nA=1\nexport B=2\nC = spaced \nD=\"esc\\ttab\"\nE='no ${A}'\n"
                "F=${A}${B}\nG=${MISSING:-dflt}\nH=\"${A} in double\"\nI=a#b\nJ=a #c\n"
                "K=\"line1\nline2\"\nL='x\ny'\nM=${A:+alt}\n"
            ),
        }
    ),
    "env-file-raw": Case(
        {
            "compose.yaml": "services:\n  web:\n    image: x\n    env_file: [{path: r.env, format: raw}]\n",
            "r.env": "A=${B}\nC='q'\n",
        }
    ),
    "include-long": Case(
        {
            "compose.yaml": """\
include:
  - path: [lib/a.yaml, lib/a-override.yaml]
    project_directory: lib
services:
  web: {image: x, volumes: [./w:/w]}
""",
            "lib/a.yaml": "services:\n  a: {image: a, volumes: [./data:/data], env_file: [e.env]}\n",
            "lib/a-override.yaml": "services:\n  a: {image: a2}\n",
            "lib/e.env": "E=1\n",
        }
    ),
    "extends-more": Case(
        {
            "compose.yaml": """\
services:
  db: {image: pg}
  base:
    image: b
    depends_on: [db]
    ports: ["80:80"]
    healthcheck: {test: [CMD, a], interval: 5s}
    ulimits: {nofile: 10}
    networks: [default]
  app:
    extends: base
    ports: ["80:80", "81:81"]
    healthcheck: {test: [CMD, b]}
    ulimits: {nofile: {soft: 1, hard: 2}}
""",
        }
    ),
    "reset-more": Case(
        {
            "compose.yaml": "services:\n  web:\n    image: x\n    ports: ['80:80', '81:81']\n    dns: [1.1.1.1]\n    user: root\n",
            "compose.override.yaml": "services:\n  web:\n    ports: !override ['82:82']\n    dns: !reset []\n    user: !reset null\n",
        }
    ),
    "merge-lists": Case(
        {
            "a.yaml": """\
services:
  web:
    image: x
    ports: ["80:80"]
    expose: ["1"]
    cap_add: [A]
    secrets: [s]
    volumes: [/a:/a]
    extra_hosts: ["h:1.1.1.1"]
    depends_on: [db]
    networks: {n1: {aliases: [a]}}
  db: {image: d}
secrets:
  s: {file: ./s}
networks: {n1: {}, n2: {}}
""",
            "b.yaml": """\
services:
  web:
    ports: ["80:80", "90:90"]
    expose: ["1", "2"]
    cap_add: [B, A]
    secrets: [{source: s, target: /t}]
    volumes: [/b:/a]
    extra_hosts: ["h:1.1.1.1", "g:2.2.2.2"]
    depends_on: {db: {condition: service_started, required: false}}
    networks: {n1: {aliases: [b]}, n2: {}}
""",
        },
        args=("-f", "a.yaml", "-f", "b.yaml"),
    ),
    "external-legacy": Case(
        {
            "compose.yaml": """\
services:
  web: {image: x, networks: [n], volumes: ["vol:/v"]}
networks:
  n: {external: {name: real-net}}
volumes:
  vol: {external: true, name: real-vol}
"""
        }
    ),
    "project-directory": Case(
        {
            "files/compose.yaml": "services:\n  web: {image: x, volumes: [./d:/d], env_file: e.env}\n",
            "files/e.env": "X=1\n",
        },
        args=("-f", "files/compose.yaml"),
    ),
    "service-selected": Case(
        {
            "compose.yaml": "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x}\n  c: {image: x}\n  d: {image: x, profiles: [p]}\n"
        },
        args=("--profile", "p"),
    ),
}

from tests.schema.cases_more import MORE, MORE_INVALID  # noqa: E402  (it imports Case from here)

CASES.update(MORE)

# Files Docker Compose accepts in ``config`` but composer refuses on purpose
# (docs/compose-file.md, "Deliberate differences"): they fail later in Docker.
STRICTER: dict[str, dict[str, str]] = {
    "bad-restart": _one("    image: x\n    restart: sometimes\n"),
    "bad-volume-mode": _one("    image: x\n    volumes: ['/a:/b:foo']\n"),
}

# Files Docker Compose refuses: composer must refuse them too (ConfigError).
INVALID: dict[str, dict[str, str]] = {
    "unknown-key": _one("    image: x\n    imagee: y\n"),
    "bad-top": {"compose.yaml": "servics: {}\n"},
    "bad-port": _one("    image: x\n    ports: ['80:80:80:80']\n"),
    "bad-port-proto": _one("    image: x\n    ports: ['80/foo']\n"),
    "bad-duration": _one("    image: x\n    stop_grace_period: 10x\n"),
    "bad-size": _one("    image: x\n    shm_size: lots\n"),
    "no-image": _one("    command: x\n"),
    "undefined-network": _one("    image: x\n    networks: [nope]\n"),
    "undefined-volume": _one("    image: x\n    volumes: ['nope:/x']\n"),
    "undefined-secret": _one("    image: x\n    secrets: [nope]\n"),
    "undefined-config": _one("    image: x\n    configs: [nope]\n"),
    "undefined-dep": _one("    image: x\n    depends_on: [nope]\n"),
    "undefined-link": _one("    image: x\n    links: [nope]\n"),
    "undefined-volumes-from": _one("    image: x\n    volumes_from: [nope]\n"),
    "undefined-extends": _one("    image: x\n    extends: nope\n"),
    "network-mode-service": _one("    image: x\n    network_mode: service:nope\n"),
    "mode-and-networks": _one("    image: x\n    network_mode: host\n    networks: [default]\n"),
    "dockerfile-both": _one("    build: {context: ., dockerfile: D, dockerfile_inline: FROM x}\n"),
    "extends-cycle": {
        "compose.yaml": "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n"
    },
    "include-cycle": {
        "compose.yaml": "include: [b.yaml]\nservices:\n  a: {image: x}\n",
        "b.yaml": "include: [compose.yaml]\nservices:\n  b: {image: x}\n",
    },
    "required-var": _one("    image: ${IMG:?set IMG}\n"),
    "bad-interpolation": _one("    image: ${IMG\n"),
    "bad-interpolation2": _one("    image: ${-x}\n"),
    "dup-key": _one("    image: x\n    image: y\n"),
    "bad-yaml": {"compose.yaml": "services:\n  web: [\n"},
    "not-mapping": {"compose.yaml": "- a\n- b\n"},
    "cycle": {
        "compose.yaml": "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n"
    },
    "scale-mismatch": _one("    image: x\n    scale: 2\n    deploy: {replicas: 3}\n"),
    "bad-service-name": {"compose.yaml": "services:\n  'bad name': {image: x}\n"},
    "bad-project-name": {"compose.yaml": "services:\n  web: {image: x}\n", ".env": "COMPOSE_PROJECT_NAME=Bad_Name\n"},
    "missing-env-file": _one("    image: x\n    env_file: nope.env\n"),
    "bad-condition": _one("    image: x\n    depends_on: {db: {condition: soon}}\n", "  db: {image: x}\n"),
    "bad-tmpfs-type": _one("    image: x\n    volumes: [{type: weird, target: /x}]\n"),
    "bad-pull-policy": _one("    image: x\n    pull_policy: sometimes\n"),
    "bad-ulimit": _one("    image: x\n    ulimits: {nofile: {soft: 10}}\n"),
}
INVALID.update(MORE_INVALID)

from tests.schema.cases_ext import EXT, EXT_INVALID, EXT_STRICTER  # noqa: E402
from tests.schema.cases_stacks import STACKS  # noqa: E402
from tests.schema.cases_stacks2 import STACKS2  # noqa: E402
from tests.schema.cases_stacks3 import STACKS3, STACKS3_INVALID  # noqa: E402

CASES.update({**STACKS, **STACKS2, **STACKS3, **EXT})
INVALID.update({**EXT_INVALID, **STACKS3_INVALID})
STRICTER.update(EXT_STRICTER)
