"""Differential cases from real-world stacks (part 1): wordpress, traefik, gitlab, monitoring...

Merged into ``cases.CASES`` (same ``Case`` shape, same expected/ directory).
"""

from __future__ import annotations

from tests.schema.cases import Case

_WORDPRESS = """\
services:
  db:
    image: mysql:8.0
    command: '--default-authentication-plugin=mysql_native_password'
    restart: always
    volumes:
      - db_data:/var/lib/mysql
    secrets: [db_root_password, db_password]
    environment:
      MYSQL_ROOT_PASSWORD_FILE: /run/secrets/db_root_password
      MYSQL_DATABASE: wordpress
      MYSQL_USER: wordpress
      MYSQL_PASSWORD_FILE: /run/secrets/db_password
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-h", "localhost"]
      interval: 10s
      timeout: 5s
      retries: 5
      start_period: 30s
    expose: [3306, 33060]
  wordpress:
    depends_on:
      db:
        condition: service_healthy
        restart: true
    image: wordpress:latest
    ports:
      - "8000:80"
    restart: unless-stopped
    volumes: ["wp_data:/var/www/html", "./uploads.ini:/usr/local/etc/php/conf.d/uploads.ini:ro"]
    environment:
      - WORDPRESS_DB_HOST=db:3306
      - WORDPRESS_DB_USER=wordpress
      - WORDPRESS_DB_PASSWORD_FILE=/run/secrets/db_password
      - WORDPRESS_DB_NAME=wordpress
      - WORDPRESS_CONFIG_EXTRA
    secrets:
      - source: db_password
        uid: "33"
        gid: "33"
        mode: 0440
secrets:
  db_password: {file: db_password.txt}
  db_root_password: {file: db_root_password.txt}
volumes:
  db_data:
  wp_data:
"""


_TRAEFIK = r"""
services:
  traefik:
    image: traefik:v3.1
    command:
      - --api.dashboard=true
      - --providers.docker=true
      - --providers.docker.exposedbydefault=false
      - --entrypoints.web.address=:80
      - --entrypoints.websecure.address=:443
      - --certificatesresolvers.le.acme.tlschallenge=true
      - --certificatesresolvers.le.acme.email=${ACME_EMAIL:-admin@example.com}
    ports: ["80:80", "443:443", "127.0.0.1:8080:8080"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - letsencrypt:/letsencrypt
    labels:
      - traefik.enable=true
      - "traefik.http.routers.dashboard.rule=Host(`traefik.example.com`) && PathPrefix(`/api`, `/dashboard`)"
      - traefik.http.routers.dashboard.service=api@internal
      - "traefik.http.middlewares.auth.basicauth.users=admin:$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/"
    networks: [proxy]
    security_opt: [no-new-privileges:true]
  whoami:
    image: traefik/whoami
    labels:
      traefik.enable: "true"
      traefik.http.routers.whoami.rule: Host(`whoami.example.com`)
      traefik.http.routers.whoami.entrypoints: websecure
      traefik.http.routers.whoami.tls.certresolver: le
      traefik.http.services.whoami.loadbalancer.server.port: 80
    networks: [proxy]
    deploy:
      replicas: 2
networks:
  proxy:
    name: traefik_proxy
    external: true
volumes:
  letsencrypt:
"""


_GITLAB = """\
services:
  gitlab:
    image: gitlab/gitlab-ce:17.3.1-ce.0
    container_name: gitlab
    restart: always
    hostname: gitlab.example.com
    environment:
      GITLAB_OMNIBUS_CONFIG: |
        external_url 'https://gitlab.example.com'
        gitlab_rails['gitlab_shell_ssh_port'] = 2224
        gitlab_rails['smtp_enable'] = true
        nginx['listen_port'] = 80
    ports:
      - '80:80'
      - '443:443'
      - '2224:22'
    volumes:
      - '$GITLAB_HOME/config:/etc/gitlab'
      - '$GITLAB_HOME/logs:/var/log/gitlab'
      - '$GITLAB_HOME/data:/var/opt/gitlab'
    shm_size: '256m'
    logging:
      driver: json-file
      options: {max-size: 10m, max-file: "3"}
    healthcheck:
      test: /opt/gitlab/bin/gitlab-healthcheck --fail --max-time 10
      interval: 1m
      timeout: 30s
      retries: 5
      start_period: 5m
      start_interval: 5s
  gitlab-runner:
    image: gitlab/gitlab-runner:alpine
    restart: always
    depends_on: [gitlab]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - runner-config:/etc/gitlab-runner
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
volumes:
  runner-config:
"""


_MONITORING = """\
services:
  prometheus:
    image: prom/prometheus:v2.54.0
    command:
      - '--config.file=/etc/prometheus/prometheus.yml'
      - '--storage.tsdb.retention.time=15d'
      - '--web.enable-lifecycle'
    configs:
      - source: prometheus_config
        target: /etc/prometheus/prometheus.yml
    volumes: [prom_data:/prometheus]
    ports: ["9090:9090"]
    user: "65534:65534"
    extra_hosts:
      host.docker.internal: host-gateway
      metrics.local: ["10.0.0.5", "::1"]
  grafana:
    image: grafana/grafana-oss:11.2.0
    user: "472"
    env_file:
      - path: ./grafana.env
        required: false
      - ./grafana-common.env
    environment:
      GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/grafana_admin
      GF_INSTALL_PLUGINS: grafana-clock-panel,grafana-piechart-panel
    secrets: [grafana_admin]
    depends_on: {prometheus: {condition: service_started}}
    ports: ["3000:3000"]
    volumes:
      - type: volume
        source: grafana_data
        target: /var/lib/grafana
  node-exporter:
    image: prom/node-exporter:v1.8.2
    pid: host
    network_mode: host
    command: ['--path.rootfs=/host']
    volumes: ['/:/host:ro,rslave']
    cap_add: [SYS_TIME]
  cadvisor:
    image: gcr.io/cadvisor/cadvisor:v0.49.1
    privileged: true
    devices: [/dev/kmsg]
    volumes:
      - /:/rootfs:ro
      - /var/run:/var/run:ro
      - /sys:/sys:ro
      - /var/lib/docker/:/var/lib/docker:ro
    cpus: 0.5
    mem_limit: 512m
configs:
  prometheus_config:
    content: |
      global:
        scrape_interval: 15s
      scrape_configs:
        - job_name: prometheus
          static_configs: [{targets: ['localhost:9090']}]
secrets:
  grafana_admin:
    environment: GF_ADMIN
volumes:
  prom_data: {}
  grafana_data:
    labels: {backup: daily}
"""


_ANCHORS = """\
x-logging: &default-logging
  driver: json-file
  options:
    max-size: "12m"
    max-file: "5"
x-common: &common
  restart: unless-stopped
  logging: *default-logging
  environment: &env
    TZ: Europe/Paris
    LOG_LEVEL: info
  labels:
    com.example.stack: demo
  x-team: platform
x-deploy: &deploy
  resources:
    limits: {cpus: "1.5", memory: 1g}
    reservations: {memory: 256M}
  restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s, window: 2m}
services:
  api:
    <<: *common
    image: example/api:1.4
    environment:
      <<: *env
      LOG_LEVEL: debug
      DB_URL: postgres://db/app
    deploy: *deploy
  worker:
    <<: [*common]
    image: example/worker:1.4
    command: ["celery", "-A", "app", "worker", "--concurrency=4"]
    deploy:
      <<: *deploy
      replicas: 3
      update_config: {parallelism: 1, delay: 10s, order: start-first, failure_action: rollback}
  db:
    image: postgres:16
    logging: *default-logging
    environment: {POSTGRES_PASSWORD: example, PGDATA: /var/lib/postgresql/data/pgdata}
    volumes: [pg:/var/lib/postgresql/data]
volumes:
  pg:
"""


_DEVELOP = """\
services:
  web:
    build:
      context: .
      target: dev
      args: {NODE_ENV: development}
    command: npm run dev
    ports: ["3000:3000"]
    develop:
      watch:
        - action: sync
          path: ./web
          target: /src/web
          ignore: [node_modules/, "*.test.js"]
          initial_sync: true
        - action: rebuild
          path: package.json
        - action: sync+restart
          path: ./config
          target: /etc/app
        - action: sync+exec
          path: ./templates
          target: /src/templates
          include: ["*.html"]
          exec:
            command: ["npm", "run", "build:templates"]
            user: node
            environment: {FORCE: "1"}
        - action: restart
          path: ./.env.dev
  api:
    image: example/api
    develop:
      watch:
        - {path: ./api, action: sync, target: /app, ignore: __pycache__/}
"""


_MODELS = """\
services:
  chat:
    image: example/chat
    models:
      llm:
        endpoint_var: AI_MODEL_URL
        model_var: AI_MODEL_NAME
      embed: {}
  summarizer:
    image: example/sum
    models: [llm]
  ai-runner:
    provider:
      type: model
      options:
        model: ai/smollm2
        flags: [--verbose, --ctx=2048]
        threads: 4
models:
  llm:
    model: ai/smollm2:360M-Q4_K_M
    context_size: 4096
    runtime_flags: ["--no-prefill-assistant", "--temp", "0.2"]
  embed:
    model: ai/mxbai-embed-large
    name: embedder
"""


_GPUS = """\
services:
  trainer:
    image: pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime
    gpus: all
    shm_size: 8gb
    ipc: host
    ulimits: {memlock: -1, stack: 67108864}
  inference:
    image: nvcr.io/nvidia/tritonserver:24.08-py3
    gpus:
      - driver: nvidia
        device_ids: ["0", "1"]
        capabilities: [gpu, utility]
      - driver: nvidia
        count: 1
        options: {virtualization: false}
  ollama:
    image: ollama/ollama
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
            - driver: cdi
              device_ids: [nvidia.com/gpu=all]
              capabilities: [gpu]
          generic_resources:
            - discrete_resource_spec: {kind: gpu, value: 2}
        limits:
          pids: 512
          memory: 16G
"""


STACKS: dict[str, Case] = {
    "stack-wordpress": Case(
        {
            "compose.yaml": _WORDPRESS,
            "db_password.txt": "pw\n",
            "db_root_password.txt": "root\n",
            "uploads.ini": "upload_max_filesize = 64M\n",
        }
    ),
    "stack-traefik": Case({"compose.yaml": _TRAEFIK}),
    "stack-gitlab": Case({"compose.yaml": _GITLAB}, env={"GITLAB_HOME": "/srv/gitlab"}),
    "stack-monitoring": Case(
        {
            "compose.yaml": _MONITORING,
            "grafana-common.env": "GF_LOG_MODE=console\nGF_PATHS_DATA='/var/lib/grafana'\n",
        },
        env={"GF_ADMIN": "admin"},
    ),
    "stack-anchors": Case({"compose.yaml": _ANCHORS}),
    "stack-develop": Case({"compose.yaml": _DEVELOP}),
    "stack-models": Case({"compose.yaml": _MODELS}),
    "stack-gpus": Case({"compose.yaml": _GPUS}),
}
