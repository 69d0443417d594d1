"""Differential cases from real-world stacks (part 3): inline Dockerfiles, configs, legacy files.

Merged into ``cases.CASES`` (same ``Case`` shape, same expected/ directory).
"""

from __future__ import annotations

from tests.schema.cases import Case

_INLINE = """\
services:
  app:
    build:
      context: .
      dockerfile_inline: |
        FROM alpine:3.20
        RUN apk add --no-cache curl
        CMD ["sh"]
      target: final
      secrets:
        - source: npm_token
          target: NPM_TOKEN
          mode: 0400
      args:
        - HTTP_PROXY
        - VERSION=${VERSION:-1.0}
    image: app:dev
    scale: 3
    environment: [HOME, PATH_EXTRA=/opt/bin, "QUOTED=a \\"b\\" c", 'UNI=héllo ✓', "TABS=a\\tb"]
    labels:
      description: |
        multi
        line
      empty: ""
      num: 1.50
    configs:
      - source: app_conf
        target: /etc/app.conf
      - env_conf
    secrets:
      - ext_secret
    network_mode: none
    ipc: shareable
    tmpfs: /run
    healthcheck:
      test: curl -fsS http://localhost:8080/ || exit 1
      start_period: 1m30s
      start_interval: 500ms
      timeout: 1.5s
    ports: []
    volumes:
      - type: bind
        source: ./conf
        target: /conf
        consistency: cached
      - type: volume
        target: /anon
    sysctls: ["net.ipv4.ip_forward = 1"]
    post_start:
      - command: echo started
  side:
    image: busybox
    network_mode: "container:abc123"
    ports: ["8000-8010:8000"]
    command: sleep infinity
    user: "1000:1000"
    read_only: true
    security_opt: ["seccomp:unconfined", "apparmor=unconfined"]
configs:
  app_conf:
    content: |
      port = 8080
      secret = $${NOT_INTERPOLATED}
      version = ${VERSION:-1.0}
  env_conf:
    environment: HOME
secrets:
  npm_token:
    environment: NPM_TOKEN
  ext_secret:
    external: true
    name: prod_secret
"""

_LEGACY = """\
version: "3.8"
x-base: &base
  restart: "unless-stopped"
  logging:
    driver: "json-file"
    options: {max-size: "10m", max-file: 3}
services:
  proxy:
    <<: *base
    image: jwilder/nginx-proxy
    container_name: Nginx-Proxy
    ports:
      - 80
      - "443:443"
    volumes:
      - /var/run/docker.sock:/tmp/docker.sock:ro
      - certs:/etc/nginx/certs:rw,z
    environment:
      - DEFAULT_HOST=
      - ENABLE_IPV6=true
    links: ["app:app"]
    cap_add: [ALL]
    devices: ["/dev/fuse"]
    ulimits:
      memlock: {soft: -1, hard: -1}
  app:
    <<: *base
    build:
      context: .
      args: {A: 1, B: true, C: null, D: 1.0}
    image: app
    command: >
      gunicorn app:app
      --bind 0.0.0.0:8000
      --workers 3
    env_file: .env
    healthcheck:
      test: ["NONE"]
    deploy:
      restart_policy: {condition: none}
      resources:
        limits: {cpus: 0.50, memory: 512M}
        reservations: {cpus: '0.25', memory: "128m"}
    mem_reservation: "128m"
    stop_grace_period: 2m
  debug:
    image: busybox
    profiles: ["debug"]
networks:
  default:
    name: my_net
    external: true
volumes:
  certs:
"""

_VARIABLES = """\
services:
  web:
    image: ${IMG:-nginx}:${TAG?tag needed}
    environment:
      A: ${X:+alt}
      D: $PLAIN ${BR} $$NOT
      E: ${R:?must}
    labels: ["x=${Y:-${Z:-deep}}"]
    models: [m]
models:
  m: {model: ai/x}
  unused: {model: ai/y}
x-ext: ${EXT_VAR:-e}
"""

STACKS3: dict[str, Case] = {
    "stack-inline-build": Case({"compose.yaml": _INLINE}, env={"HOME": "/root", "NPM_TOKEN": "t"}),
    "variables": Case(
        {"compose.yaml": _VARIABLES}, env={"TAG": "1", "R": "1", "PLAIN": "p", "BR": "b"}
    ),
    "stack-legacy-v3": Case(
        {"compose.yml": _LEGACY, ".env": "DEBUG=1\nexport KEY=value # comment\nEMPTY=\n"}
    ),
}

# Option maps whose value types the schema restricts (both refuse).
STACKS3_INVALID: dict[str, dict[str, str]] = {
    "logging-option-bool": {
        "compose.yaml": "services:\n  web: {image: x, logging: {options: {compress: true}}}\n"
    },
    "driver-opt-null": {
        "compose.yaml": "services:\n  web: {image: x, networks: {n: {driver_opts: {a: null}}}}\n"
        "networks:\n  n: {}\n"
    },
    "aux-address-int": {
        "compose.yaml": "services:\n  web: {image: x}\nnetworks:\n  n:\n"
        "    ipam: {config: [{subnet: 10.0.0.0/24, aux_addresses: {a: 1}}]}\n"
    },
}
