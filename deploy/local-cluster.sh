#!/usr/bin/env bash
# `./build.sh cluster up|down|status`: the docker-compose topology as local processes, for people without Docker:
# a private PostgreSQL from the local binaries, three silos and the API in cluster mode, with mutual TLS between them.
#
# Settings (environment): CLOUDDECK_CLUSTER_DIR (state, logs, certificates; default ./.clouddeck/cluster),
# CLOUDDECK_CLUSTER_API_PORT (8080), CLOUDDECK_CLUSTER_SILOS (3), CLOUDDECK_CLUSTER_NO_BUILD=1 (use the built output),
# PG_BIN (set by build.sh: the PostgreSQL binaries).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONFIGURATION="${CONFIGURATION:-Release}"
STATE="$(mkdir -p "${CLOUDDECK_CLUSTER_DIR:-./.clouddeck/cluster}" && cd "${CLOUDDECK_CLUSTER_DIR:-./.clouddeck/cluster}" && pwd)"
API_PORT="${CLOUDDECK_CLUSTER_API_PORT:-8080}"
SILOS="${CLOUDDECK_CLUSTER_SILOS:-3}"
SILO_DLL="silo/bin/$CONFIGURATION/net10.0/CloudDeck.Silo.dll"
API_DLL="api/bin/$CONFIGURATION/net10.0/CloudDeck.Api.dll"

say() { echo "cluster: $*"; }
fail() { echo "cluster: $*" >&2; exit 1; }

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port=$1
  while ! port_is_free "$port"; do port=$((port + 1)); done
  echo "$port"
}

# GET a path of the API with bash alone (a fresh machine may lack curl); prints the body.
http_get() {
  local body
  exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  body="$(cat <&3)"
  exec 3>&-
  echo "${body#*$'\r\n\r\n'}"
}

# PostgreSQL refuses to run as root: as root it runs as the postgres user, from a directory that user can reach.
as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]] || fail "PostgreSQL binaries not found (install: apt-get install postgresql)"
  local data port
  data="$(mktemp -d /tmp/clouddeck-cluster-pg.XXXXXX)"
  [[ "$(id -u)" == 0 ]] && chown postgres "$data"
  port="$(free_port 55432)"
  as_postgres "$PG_BIN/initdb" -D "$data/db" -U clouddeck --auth=trust >"$STATE/logs/postgres-init.log" 2>&1 || fail "initdb failed: see $STATE/logs/postgres-init.log"
  as_postgres "$PG_BIN/pg_ctl" -D "$data/db" -o "-p $port -k $data -c listen_addresses=127.0.0.1" -l "$data/postgres.log" -w start >/dev/null \
    || fail "PostgreSQL did not start: see $data/postgres.log"
  echo "$data" >"$STATE/postgres.dir"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U clouddeck clouddeck || fail "createdb failed"
  echo "Host=127.0.0.1;Port=$port;Username=clouddeck;Database=clouddeck" >"$STATE/postgres.connection"
  say "PostgreSQL on 127.0.0.1:$port (data in $data)"
}

stop_postgres() {
  [[ -f "$STATE/postgres.dir" ]] || return 0
  local data
  data="$(cat "$STATE/postgres.dir")"
  as_postgres "$PG_BIN/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$data" "$STATE/postgres.dir" "$STATE/postgres.connection"
}

# Starts a process in its own session (it outlives this script) and records its pid.
spawn() {
  local name=$1
  shift
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
}

cmd_up() {
  [[ ! -d "$STATE/pids" ]] || [[ -z "$(ls -A "$STATE/pids")" ]] || fail "already up (pids in $STATE/pids); run ./build.sh cluster down first"
  port_is_free "$API_PORT" || fail "port $API_PORT is taken (set CLOUDDECK_CLUSTER_API_PORT)"
  if [[ "${CLOUDDECK_CLUSTER_NO_BUILD:-}" != 1 ]]; then
    dotnet build silo -c "$CONFIGURATION" -v q -nologo >/dev/null && dotnet build api -c "$CONFIGURATION" -v q -nologo >/dev/null || fail "build failed"
  fi
  [[ -f "$SILO_DLL" && -f "$API_DLL" ]] || fail "$SILO_DLL or $API_DLL missing: run ./build.sh build"
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/artifacts"
  dotnet "$SILO_DLL" tls-init "$STATE/certs" >/dev/null
  [[ -f "$STATE/keys.env" ]] || {
    umask 077
    echo "CloudDeck__Auth__SigningKey=$(head -c 32 /dev/urandom | base64)" >"$STATE/keys.env"
    echo "CloudDeck__Secrets__Key=$(head -c 32 /dev/urandom | base64)" >>"$STATE/keys.env"
    # Offline licenses are signed with an ECDSA key; without openssl, license routes answer 503 until one is set.
    if command -v openssl >/dev/null 2>&1; then
      echo "CloudDeck__Licenses__SigningKey=\"$(openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt)\"" >>"$STATE/keys.env"
    fi
  }
  start_postgres
  set -a
  # shellcheck disable=SC1091
  source "$STATE/keys.env"
  CloudDeck__StorageProvider=Postgres
  CloudDeck__PostgresConnectionString="$(cat "$STATE/postgres.connection")"
  CloudDeck__Cluster__Mode=Cluster
  CloudDeck__Cluster__ClusterId=local
  CloudDeck__Cluster__Tls__AuthorityPath="$STATE/certs/ca.pem"
  CloudDeck__Cluster__Tls__CertificatePath="$STATE/certs/node.pem"
  CloudDeck__Cluster__Tls__KeyPath="$STATE/certs/node.key"
  CloudDeck__Artifacts__Path="$STATE/artifacts"
  set +a
  local i silo_port=11111 gateway_port=30000
  for ((i = 1; i <= SILOS; i++)); do
    silo_port="$(free_port "$silo_port")"
    gateway_port="$(free_port "$gateway_port")"
    CloudDeck__DataDirectory="$STATE/silo-$i" CloudDeck__Cluster__SiloPort=$silo_port CloudDeck__Cluster__GatewayPort=$gateway_port \
      spawn "silo-$i" dotnet "$SILO_DLL"
    say "silo $i: silo port $silo_port, gateway $gateway_port, log $STATE/logs/silo-$i.log"
    silo_port=$((silo_port + 1))
    gateway_port=$((gateway_port + 1))
  done
  CloudDeck__DataDirectory="$STATE/api" ASPNETCORE_URLS="http://localhost:$API_PORT" spawn api dotnet "$API_DLL"
  local deadline=$((SECONDS + 120)) health=""
  until [[ "$health" == *"\"silos\":$SILOS"* ]]; do
    ((SECONDS < deadline)) || { cmd_down >/dev/null; fail "the API did not see $SILOS silos within 120 s (last /healthz: ${health:-none}); logs in $STATE/logs"; }
    sleep 1
    health="$(http_get /healthz 2>/dev/null || true)"
  done
  say "up: API and edge at http://localhost:$API_PORT ($SILOS silos); logs in $STATE/logs; stop with ./build.sh cluster down"
}

cmd_down() {
  local pid_file pid pids=()
  for pid_file in "$STATE"/pids/*; do
    [[ -f "$pid_file" ]] || continue
    pid="$(cat "$pid_file")"
    # Each process leads its own session: the signal reaches whatever it started too.
    kill -TERM -- "-$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$pid_file"
  done
  local deadline=$((SECONDS + 50))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  stop_postgres
  say "down: ${#pids[@]} process(es) stopped, PostgreSQL stopped"
}

cmd_status() {
  local pid_file
  for pid_file in "$STATE"/pids/*; do
    [[ -f "$pid_file" ]] || { say "down"; return 0; }
    if kill -0 "$(cat "$pid_file")" 2>/dev/null; then say "$(basename "$pid_file"): running"; else say "$(basename "$pid_file"): exited"; fi
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) fail "usage: ./build.sh cluster up|down|status" ;;
esac
