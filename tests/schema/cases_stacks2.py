"""Differential cases from real-world stacks (part 2): low-level knobs, hooks, long syntax, extends...

Merged into ``cases.CASES`` (same ``Case`` shape, same expected/ directory).
"""

from __future__ import annotations

from tests.schema.cases import Case

_LOWLEVEL = """\
services:
  db:
    image: mariadb:11
    blkio_config:
      weight: 300
      weight_device:
        - {path: /dev/sda, weight: 400}
      device_read_bps:
        - {path: /dev/sda, rate: '12mb'}
      device_write_bps:
        - {path: /dev/sda, rate: 1024k}
      device_read_iops:
        - {path: /dev/sda, rate: 120}
      device_write_iops:
        - {path: /dev/sda, rate: 30}
    cpu_shares: 512
    cpuset: "0-1"
    cpu_period: 100000
    cpu_quota: 50000
    cpu_rt_runtime: "400"
    cpu_rt_period: 1400
    mem_reservation: 256m
    memswap_limit: 2g
    mem_swappiness: 10
    oom_score_adj: -500
    pids_limit: 200
    sysctls: {net.core.somaxconn: 1024, net.ipv4.tcp_syncookies: 0}
    storage_opt: {size: 20G}
    device_cgroup_rules: ["c 1:3 mr", "a 7:* rmw"]
    group_add: [mail, "1000"]
    cgroup: private
    init: true
    stop_signal: SIGQUIT
    stop_grace_period: 1m30s
  iis:
    image: mcr.microsoft.com/windows/servercore/iis
    credential_spec:
      file: my-credential-spec.json
    isolation: process
  legacy:
    image: example/legacy
    credential_spec: {registry: my-credential-spec}
    domainname: corp.example.com
    mac_address: 02:42:ac:11:65:43
    userns_mode: host
    uts: host
    runtime: runc
    platform: linux/amd64
    dns: 1.1.1.1
    dns_search: [corp.example.com]
    dns_opt: [use-vc, "ndots:2"]
"""


_HOOKS = """\
services:
  app:
    image: example/app
    attach: false
    annotations:
      com.example.owner: team-a
      io.kubernetes.cri-o.userns-mode: "auto:size=65536"
    post_start:
      - command: ["/bin/sh", "-c", "chown -R app:app /data"]
        user: root
        privileged: true
      - command: /usr/local/bin/warmup --fast
        working_dir: /app
        environment: [WARM=1, LEVEL]
    pre_stop:
      - command: ["./drain.sh", "--timeout", "30"]
        environment: {GRACE: "30"}
    label_file: [./app.labels, ./common.labels]
    labels: {com.example.tier: backend}
    use_api_socket: true
  sidecar:
    image: example/sidecar
    annotations: [a=1, b=two words]
    attach: true
    stdin_open: true
    tty: true
    read_only: true
    tmpfs: [/tmp, "/run:size=64m,mode=1777,uid=1000"]
"""


_LONG = """\
services:
  edge:
    image: nginx:1.27
    ports:
      - name: http
        target: 80
        published: "8080"
        host_ip: 127.0.0.1
        protocol: tcp
        app_protocol: http
        mode: host
      - {target: 53, published: 5353-5354, protocol: udp}
    volumes:
      - type: bind
        source: ./site
        target: /usr/share/nginx/html
        read_only: true
        bind: {propagation: rprivate, create_host_path: true, selinux: z}
      - type: volume
        source: cache
        target: /var/cache/nginx
        volume: {nocopy: true, subpath: nginx}
      - type: tmpfs
        target: /var/run
        tmpfs: {size: 10m, mode: 0755}
      - type: image
        source: example/assets:1
        target: /assets
        image: {subpath: public}
    secrets:
      - source: tls_key
        target: /etc/nginx/tls.key
        uid: "101"
        gid: "101"
        mode: 0400
    configs:
      - source: nginx_conf
        target: /etc/nginx/nginx.conf
        mode: "0444"
    networks:
      front:
        aliases: [www, edge.local]
        ipv4_address: 172.28.0.10
        ipv6_address: 2001:db8::10
        priority: 100
        gw_priority: 1
        mac_address: 02:42:ac:1c:00:0a
        driver_opts: {com.docker.network.endpoint.sysctls: "net.ipv4.conf.IFNAME.log_martians=1"}
        interface_name: eth-front
      back:
    depends_on:
      app: {condition: service_started, required: false}
  app:
    image: example/app
    networks: [back]
secrets:
  tls_key: {file: ./tls.key}
configs:
  nginx_conf: {file: ./nginx.conf}
networks:
  front:
    driver: bridge
    enable_ipv6: true
    enable_ipv4: true
    ipam:
      driver: default
      config:
        - subnet: 172.28.0.0/16
          ip_range: 172.28.5.0/24
          gateway: 172.28.0.1
          aux_addresses: {host1: 172.28.1.5}
        - subnet: 2001:db8::/64
    driver_opts: {com.docker.network.bridge.name: br-front}
    labels: [tier=front]
  back:
    internal: true
    attachable: true
volumes:
  cache:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=100m"}
"""


_EXTENDS = """\
services:
  web:
    extends: {file: common.yaml, service: base}
    image: example/web:${WEB_TAG:-2.1}
    environment: {ROLE: web}
    ports: ["${WEB_PORT:-8080}:8080"]
  worker:
    extends: {file: common.yaml, service: base}
    image: example/worker:${WORKER_TAG-1.0}
    environment: [ROLE=worker, "QUEUE=${QUEUE:?queue name required}"]
    profiles: [jobs]
    scale: 2
  redis:
    image: redis:7-alpine
    command: redis-server --save 60 1 --loglevel warning
    profiles: [jobs, cache]
"""


_COMMON = """\
services:
  base:
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD:-secret}@db:5432/app
      RAILS_ENV: production
    env_file: [base.env]
    logging: {driver: local, options: {max-size: 5m}}
    x-origin: common
    healthcheck:
      test: ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]
      interval: 30s
"""


_NEXTCLOUD = """\
services:
  nextcloud:
    image: nextcloud:29-apache
    restart: "no"
    ports: ["${NC_PORT:-8080}:80"]
    links: ["db:database", redis]
    volumes:
      - nextcloud:/var/www/html:z
      - ./custom_apps:/var/www/html/custom_apps:cached
      - theme:/var/www/html/themes:nocopy
      - type: bind
        source: ~/nc-config
        target: /var/www/html/config
    environment:
      POSTGRES_HOST: db
      POSTGRES_DB: ${DB_NAME:-${FALLBACK_DB:-nextcloud}}
      REDIS_HOST: redis
      NEXTCLOUD_TRUSTED_DOMAINS: "cloud.example.com localhost"
      PHP_MEMORY_LIMIT: 1G
      OVERWRITEPROTOCOL: https
      x-not-an-extension: kept
      NUMBER: 42
      FLOAT: 1.5
      BOOL: true
      EMPTY: ""
      UNSET:
    labels: {x-label: 1, com.example.version: 29.0}
    sysctls: [net.ipv4.ip_unprivileged_port_start=0]
    depends_on:
      db: {condition: service_healthy}
      redis: {condition: service_started, required: false}
    healthcheck:
      test: NONE
    stop_grace_period: 1h2m3.5s
  cron:
    image: nextcloud:29-apache
    entrypoint: /cron.sh
    volumes_from: ["nextcloud:ro", "container:legacy-data"]
    network_mode: "service:nextcloud"
    pull_policy: daily
  db:
    image: postgres:16-alpine
    shm_size: 2147483648
    mem_limit: 1.5g
    memswap_limit: -1
    oom_kill_disable: true
    cgroup_parent: /nextcloud
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER}"]
      interval: 1.5s
      disable: false
    logging: {driver: none}
    environment: [POSTGRES_PASSWORD_FILE=/run/secrets/pg, "POSTGRES_USER=nc"]
    secrets: [pg]
  redis:
    image: redis:7
    command: []
    entrypoint: ""
    ulimits: {nofile: 65535}
    dns: 9.9.9.9
    external_links: [shared_redis:cache]
    pull_policy: every_12h
    scale: 0
secrets:
  pg:
    name: nextcloud_pg_password
    environment: PG_PASSWORD
  unused_ext:
    external: true
volumes:
  nextcloud:
  theme:
    external: true
    name: shared_theme
"""


_SWARMISH = """\
services:
  agent:
    image: portainer/agent:2.21.0
    deploy:
      mode: global
      endpoint_mode: dnsrr
      placement:
        constraints: [node.platform.os == linux]
        max_replicas_per_node: 1
      labels: [com.example.role=agent, x-dep-label=1]
      resources:
        limits: {cpus: "0.25", memory: 128M}
      restart_policy: {condition: any}
      rollback_config: {parallelism: 0, delay: 0s, failure_action: pause, monitor: 30s, max_failure_ratio: 0.1, order: stop-first}
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /var/lib/docker/volumes:/var/lib/docker/volumes
    networks: [agent_network]
  portainer:
    image: portainer/portainer-ce:2.21.0
    command: -H tcp://tasks.agent:9001 --tlsskipverify
    ports: ["9443:9443", "9000:9000", "8000:8000"]
    volumes: [portainer_data:/data]
    networks:
      agent_network:
        aliases: [ui]
    build:
      context: https://github.com/portainer/portainer.git#develop
      dockerfile: build/linux/Dockerfile
      args: [GIT_COMMIT, "VERSION=2.21.0", x-arg=1]
      labels: {org.opencontainers.image.source: "https://github.com/portainer/portainer"}
      cache_from: [type=registry,ref=portainer/cache]
      cache_to: ["type=inline"]
      network: host
      ssh: [default]
      secrets: [npmrc]
      tags: ["registry.example.com/portainer:2.21.0"]
      platforms: [linux/amd64, linux/arm64]
      pull: true
      no_cache: false
      shm_size: 128m
      extra_hosts: ["registry.local=10.0.0.2"]
      entitlements: [network.host]
      provenance: true
      sbom: "true"
      additional_contexts: {assets: ./assets, base: "docker-image://alpine:3.20"}
networks:
  agent_network:
    driver: overlay
    attachable: true
    driver_opts: {encrypted: "", x-opt: "1"}
volumes:
  portainer_data:
    driver_opts: {x-vo: "1"}
secrets:
  npmrc: {file: ~/.npmrc}
"""


STACKS2: dict[str, Case] = {
    "stack-lowlevel": Case({"compose.yaml": _LOWLEVEL}),
    "stack-hooks": Case(
        {
            "compose.yaml": _HOOKS,
            "app.labels": "com.example.tier=from-file\ncom.example.build=42\n",
            "common.labels": "# shared\ncom.example.env=prod\n",
        }
    ),
    "stack-long-syntax": Case(
        {
            "compose.yaml": _LONG,
            "tls.key": "k\n",
            "nginx.conf": "events {}\n",
            "site/index.html": "hi\n",
        }
    ),
    "stack-extends-profiles": Case(
        {
            "compose.yaml": _EXTENDS,
            "common.yaml": _COMMON,
            "base.env": "SECRET_KEY_BASE=abc\nWORKERS=4\n",
        },
        env={"QUEUE": "default", "WORKER_TAG": ""},
        args=("--profile", "jobs"),
    ),
    "stack-nextcloud": Case(
        {"compose.yaml": _NEXTCLOUD, "custom_apps/.keep": ""},
        env={"HOME": "/home/nc", "PG_PASSWORD": "pw"},
    ),
    "stack-swarmish": Case({"compose.yaml": _SWARMISH}, env={"HOME": "/home/p"}),
}


_INCLUDE_EXTENDS = """\
name: hunt
include:
  - path: sub/inc.yaml
    env_file: sub/inc.env
services:
  api:
    build: ./sub/app
    image: registry.example.com/api:${TAG:-latest}
    ports:
      - published: 8080
        target: 80
      - "127.0.0.1:9229:9229"
    expose: ["3000-3002", 80/udp, 9000]
    command: ["sh", "-c", "echo $$HOME && exec node server.js"]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://localhost/health || exit 1"]
      disable: true
    pull_policy: if_not_present
    restart: on-failure:3
    stop_signal: SIGTERM
    working_dir: /app
    hostname: api
    platform: linux/arm64/v8
    mem_limit: 1.5GB
    memswap_limit: 1gb
    cpus: 2
    cpu_count: 2
    cpu_percent: 50
    shm_size: 64M
    environment:
      EMPTY_DEFAULT: ${UNSET_VAR:-}
      ALT: ${TAG:+tagged}
      MISSING: ${REALLY_UNSET}
      NESTED: ${A:-${B:-deep}}
    env_file:
      - path: raw.env
        format: raw
    logging:
      driver: syslog
      options:
        syslog-address: "tcp://192.168.0.42:123"
        tag: "{{.Name}}/{{.ID}}"
        max-file: 3
  worker:
    extends:
      file: sub/base.yaml
      service: base
    deploy:
      resources:
        limits: {cpus: "0.001", memory: 50M}
    profiles: [bg]
    depends_on:
      api: {condition: service_healthy, required: false}
networks:
  outside:
    external: true
volumes:
  legacy:
    external:
      name: old_volume
"""

STACKS2["stack-include-extends"] = Case(
    {
        "compose.yaml": _INCLUDE_EXTENDS,
        "sub/inc.yaml": "services:\n  cache:\n    image: redis:${REDIS_TAG}\n    volumes: [./data:/data]\n",
        "sub/inc.env": "REDIS_TAG=7.2\n",
        "sub/base.yaml": "services:\n  base:\n    build:\n      context: app\n      dockerfile: Dockerfile\n    environment: [FROM_BASE=1]\n    volumes: [./cfg:/cfg:ro]\n",
        "sub/app/Dockerfile": "FROM x\n",
        "raw.env": 'RAW=$NOT_EXPANDED\nQ="quoted"\n',
    },
    env={"A": ""},
    args=("--profile", "bg"),
)
