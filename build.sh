#!/usr/bin/env bash
# The one entry point: ./build.sh build | deck | test [dotnet test args...] | bench [bench args...] | openapi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
CONFIGURATION="${CONFIGURATION:-Release}"
RESULTS_DIR=artifacts/test-results

is_ci() {
  case "${CI:-}" in
    [Tt][Rr][Uu][Ee] | 1) return 0 ;;
    *) return 1 ;;
  esac
}

# SDK 10's `dotnet new sln` writes .slnx; accept either.
solution() {
  local s
  for s in Actors.sln Actors.slnx; do
    if [[ -f "$s" ]]; then
      echo "$s"
      return 0
    fi
  done
  echo "build.sh: no Actors.sln (or .slnx) in $(pwd)" >&2
  return 1
}

# CI's harness may wait for every process holding its output open: a lingering MSBuild node or
# compiler server would hold it for minutes after the run, so CI builds without them.
build_server_args() {
  if is_ci; then echo "--disable-build-servers"; fi
}

# Same search order as CloudDeck.Testing's PostgresServer.FindBinDirectory, so what this prints
# is what the tests will use.
postgres_bin() {
  local d
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/postgres" ]] && echo "$PG_BIN"
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/postgres" ]]; then
    echo "$d"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1; then
    d="$(dirname "$(readlink -f "$(command -v initdb)")")"
    [[ -x "$d/postgres" ]] && echo "$d"
  fi
  return 0
}

MISSING_NOW=()

# report NAME LOCATION INSTALL_HINT NEEDED_NOW
report() {
  if [[ -n "$2" ]]; then
    echo "found $1 at $2"
  else
    echo "missing $1 (install: $3)"
    if [[ "$4" == yes ]]; then MISSING_NOW+=("$1"); fi
  fi
}

first_command() {
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 0
}

check_components() {
  report dotnet "$(first_command dotnet)" "the .NET 10 SDK (see global.json)" yes
  report postgresql "$(postgres_bin)" "apt-get install postgresql" yes
  report git "$(first_command git)" "apt-get install git" yes
  # The live-log tests run the real SignalR JS client (tests/js, installed with `npm ci`).
  report node "$(first_command node nodejs)" "apt-get install nodejs" yes
  report npm "$(first_command npm)" "apt-get install npm" yes
  # Builds and server apps run in a bubblewrap sandbox with slirp4netns networking (CloudDeck:Builds:Isolation).
  report bubblewrap "$(first_command bwrap)" "apt-get install bubblewrap" yes
  report slirp4netns "$(first_command slirp4netns)" "apt-get install slirp4netns" yes
  report docker-compose "$(first_command docker-compose)" "apt-get install docker-compose" yes
  report kubectl "$(first_command kubectl)" "apt-get install kubernetes-client" yes
  # The telemetry tests scrape the API and a silo with a real Prometheus and query it with PromQL.
  report prometheus "$(first_command prometheus)" "apt-get install prometheus" yes
  # The Docker executor and runtime tests use the dockerd DOCKER_HOST names, else /var/run/docker.sock, else (as root)
  # start a private one per test process (tests/CloudDeck.Testing/DockerDaemon.cs); their image is made from this
  # machine's node, npm, git and busybox-static (tests/CloudDeck.Testing/NodeImage.cs).
  report dockerd "$(first_command dockerd)" "apt-get install docker.io" yes
  report busybox-static "$([[ -x /bin/busybox ]] && echo /bin/busybox)" "apt-get install busybox-static" yes
  # The custom-domain tests: Pebble (ACME server), dnsmasq (DNS server), openssl s_client (tests/CloudDeck.Api.Tests/Domains).
  report pebble "$(first_command pebble)" "apt-get install pebble" yes
  report dnsmasq "$(first_command dnsmasq /usr/sbin/dnsmasq)" "apt-get install dnsmasq" yes
  report openssl "$(first_command openssl)" "apt-get install openssl" yes
  # The native deck (./build.sh deck, and NativeDeckTests) is linked by the C compiler: clang, or gcc.
  report "C compiler" "$(first_command clang gcc cc)" "apt-get install clang" yes
  report docker "$(first_command docker)" "apt-get install docker.io" no
  report chromium "$(first_command chromium chromium-browser)" "apt-get install chromium" no
  # `bench edge` only (not the tests): nginx is its baseline, wrk its load generator (HttpClient without it).
  report nginx "$(first_command nginx /usr/sbin/nginx)" "apt-get install nginx" no
  report wrk "$(first_command wrk)" "apt-get install wrk" no
}

# Prints "N passed, N failed, N skipped" summed over the .trx files (VSTest counts a skipped
# test as total but not executed).
summarize_trx() {
  local passed=0 failed=0 skipped=0 file counters key
  local -A v
  shopt -s nullglob globstar
  for file in "$RESULTS_DIR"/**/*.trx; do
    counters="$(grep -o '<Counters [^>]*>' "$file" | head -n 1 || true)"
    [[ -z "$counters" ]] && continue
    for key in total executed passed failed error timeout aborted; do
      v[$key]="$(grep -o " $key=\"[0-9]*\"" <<<"$counters" | grep -o '[0-9]*' || echo 0)"
    done
    passed=$((passed + ${v[passed]}))
    failed=$((failed + ${v[failed]} + ${v[error]} + ${v[timeout]} + ${v[aborted]}))
    skipped=$((skipped + ${v[total]} - ${v[executed]}))
  done
  SUMMARY_FAILED=$failed
  echo "$passed passed, $failed failed, $skipped skipped"
}

cmd_build() {
  local sln
  sln="$(solution)"
  # shellcheck disable=SC2046 # build_server_args is empty or one word
  dotnet build "$sln" -c "$CONFIGURATION" $(build_server_args) "$@"
}

# deck as one native binary (Native AOT): starts in ~5 ms where `dotnet deck.dll` takes 40-60 ms of JIT before its
# first request. Written to artifacts/deck/deck; needs a C compiler (clang or gcc) to link.
DECK_NATIVE=artifacts/deck/deck
cmd_deck() {
  local rid
  case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64) rid=linux-arm64 ;;
    *)
      echo "build.sh: no native deck for $(uname -m); run deck with: dotnet run --project cli --" >&2
      return 1
      ;;
  esac
  if [[ -z "$(first_command clang gcc cc)" ]]; then
    echo "build.sh: the native deck needs a C compiler to link (apt-get install clang, or gcc)" >&2
    return 1
  fi
  # shellcheck disable=SC2046
  dotnet publish cli/CloudDeck.Cli.csproj -c Release -r "$rid" -p:PublishAot=true -o artifacts/deck $(build_server_args) -v quiet -nologo
  echo "deck: $(pwd)/$DECK_NATIVE"
}

cmd_test() {
  local sln rc
  check_components
  if ((${#MISSING_NOW[@]} > 0)); then
    if is_ci || [[ " ${MISSING_NOW[*]} " == *" dotnet "* ]]; then
      echo "build.sh: cannot run the tests without: ${MISSING_NOW[*]}" >&2
      exit 1
    fi
    echo "build.sh: tests needing ${MISSING_NOW[*]} will be skipped (they fail under CI=true)"
  fi

  sln="$(solution)"
  # shellcheck disable=SC2046
  dotnet build "$sln" -c "$CONFIGURATION" $(build_server_args)
  # NativeDeckTests run the native deck; without it they skip (fail under CI=true) and say why.
  cmd_deck || echo "build.sh: the native deck was not built; NativeDeckTests will say why"

  rm -rf "$RESULTS_DIR"
  mkdir -p "$RESULTS_DIR"
  set +e
  if (($# > 0)); then
    run_tests "$sln" "$@"
    rc=$?
  else
    # The multi-process cluster tests kill and pause silos and measure failure detection in seconds; on a
    # 2-core machine they run after the other projects instead of beside them, so their timing is their own.
    run_tests "$sln" --filter "FullyQualifiedName!~CloudDeck.Cluster.Tests"
    rc=$?
    run_tests tests/CloudDeck.Cluster.Tests/CloudDeck.Cluster.Tests.csproj
    rc=$((rc != 0 ? rc : $?))
  fi
  set -e

  SUMMARY_FAILED=0
  summarize_trx
  if ((rc == 0 && SUMMARY_FAILED > 0)); then rc=1; fi
  exit "$rc"
}

# A hung test is killed (and reported) well inside CI's time budget instead of eating all of it.
run_tests() {
  local target=$1
  shift
  dotnet test "$target" -c "$CONFIGURATION" --no-build \
    --logger "trx" --results-directory "$RESULTS_DIR" \
    --blame-hang-timeout "${TEST_HANG_TIMEOUT:-20m}" --blame-hang-dump-type none \
    "$@"
}

cmd_bench() {
  # `bench logs`: live build logs, append → receipt by the SignalR JS client (needs node and npm).
  if [[ "${1:-}" == logs ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Logs.Bench -- "$@"
    return
  fi
  # `bench dashboard`: dashboard first render (projects, deployment page) and live log append → line in the DOM, in Chromium.
  if [[ "${1:-}" == dashboard ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Dashboard.Bench -- "$@"
    return
  fi
  # `bench proxy`: requests/s through the edge's reverse proxy beside the same Node server directly, and idle cold starts.
  if [[ "${1:-}" == proxy ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Edge.Bench -- --proxy "$@"
    return
  fi
  # `bench edge`: static requests/s of the edge beside nginx serving the same files (needs nginx; uses wrk if installed).
  if [[ "${1:-}" == edge ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Edge.Bench -- "$@"
    return
  fi
  # `bench telemetry`: license validations/s and edge requests/s with telemetry exporting over OTLP vs off, same run.
  if [[ "${1:-}" == telemetry ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Telemetry.Bench -- "$@"
    return
  fi
  # `bench storage`: SQLite grain state writes/s, our SqliteGrainStorage beside Orleans' ADO.NET storage on SQLite.
  if [[ "${1:-}" == storage ]]; then
    shift
    dotnet run -c Release --project bench/Actors.Extensions.Bench -- "$@"
    return
  fi
  # `bench sandbox`: the sandbox's cost per command (`true` sandboxed vs direct, same run; needs root, bubblewrap, slirp4netns).
  if [[ "${1:-}" == sandbox ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Deploy.Bench -- --sandbox "$@"
    return
  fi
  # `bench creations`: deployments created per second (an upload the API already stores, no build commands), real API process.
  if [[ "${1:-}" == creations ]]; then
    shift
    dotnet run -c Release --project bench/CloudDeck.Deploy.Bench -- --creations "$@"
    return
  fi
  # `bench deploy`: deploy overhead (deck deploy → edge serves it) minus the same work done directly (needs node and npm).
  # Measured with the native deck (what ./build.sh deck installs) unless --deck names another.
  if [[ "${1:-}" == deploy ]]; then
    shift
    if [[ " $* " != *" --deck "* ]]; then
      if cmd_deck >/dev/null; then
        set -- "$@" --deck "$DECK_NATIVE"
      else
        echo "build.sh: measuring the JIT-compiled deck.dll (the native one did not build)"
      fi
    fi
    dotnet run -c Release --project bench/CloudDeck.Deploy.Bench -- "$@"
    return
  fi
  dotnet run -c Release --project bench/Actors.Bench -- "$@"
}

# Writes openapi.json (the repository's root) from the API's own /openapi/v1.json: builds the API, starts it embedded on
# a free loopback port with a throwaway data directory, fetches the document, stops it. OpenApiDocumentTests fails
# until the checked-in file matches what the API serves, so a contract change is a deliberate diff.
cmd_openapi() {
  local data log pid url="" i
  # shellcheck disable=SC2046
  dotnet build api/CloudDeck.Api.csproj -c "$CONFIGURATION" $(build_server_args) -v quiet -nologo
  data="$(mktemp -d -t clouddeck-openapi-XXXXXX)"
  log="$data/api.log"
  (cd "api/bin/$CONFIGURATION/net10.0" && exec env ASPNETCORE_URLS=http://127.0.0.1:0 CloudDeck__DataDirectory="$data/data" \
    dotnet CloudDeck.Api.dll >"$log" 2>&1) &
  pid=$!
  for i in $(seq 1 240); do
    url="$(grep -o 'Now listening on: http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -n 1 | sed 's/Now listening on: //' || true)"
    if [[ -n "$url" ]] && curl -sf "$url/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    url=""
    sleep 0.5
  done
  if [[ -z "$url" ]]; then
    kill "$pid" 2>/dev/null || true
    echo "build.sh openapi: the API did not start; its output:" >&2
    cat "$log" >&2
    rm -rf "$data"
    return 1
  fi
  curl -sf "$url/openapi/v1.json" -o openapi.json.tmp && mv openapi.json.tmp openapi.json
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  echo "wrote openapi.json ($(wc -c <openapi.json) bytes) from $url/openapi/v1.json"
}

usage() {
  cat <<'EOF'
usage: ./build.sh <verb> [args...]
  build   dotnet build Actors.sln -c $CONFIGURATION (default Release)
  deck    publish deck as one native binary to artifacts/deck/deck (Native AOT; needs clang or gcc)
  test    report components, build, run every test; extra args go to `dotnet test`
          (CI=true: missing postgresql/git/node/npm is an error, and skipped-for-missing tests fail)
  bench   dotnet run the benchmarks in bench/Actors.Bench; extra args go to the benchmark
          ([--only calls|postgres|streams|cluster|usage|licenses] [--duration 5] [--warmup 5] [--rounds 3]: Orleans grain calls,
          PostgreSQL state writes, log streams, remote calls and failover, usage ingest, license validations over HTTP)
          (`bench --only billing`: meter events and webhooks per second against the Stripe fake)
          (`bench --only email`: emails per second through the outbox to a local SMTP server (smtp-server from npm; needs node))
          (`bench --only webhooks`: outbound webhook deliveries per second to a local receiver)
          (`bench logs [--rate 1000 --duration 10 --rounds 2]`: live build log latency, bench/CloudDeck.Logs.Bench)
          (`bench dashboard [--samples 20 --rate 1000 --duration 10 --rounds 2]`: dashboard first render and live log → DOM, bench/CloudDeck.Dashboard.Bench)
          (`bench edge [--files 1000 --connections 64 --duration 10 --rounds 3]`: edge vs nginx, bench/CloudDeck.Edge.Bench)
          (`bench edge --https [--files 1000 --connections 64 --duration 10 --rounds 3 --nginx-protocols "TLSv1.2 TLSv1.3"]`: HTTPS requests/s and TLS handshakes/s, edge vs nginx, same certificate and protocol)
          (`bench edge --rollback [--rounds 200]`: rollback/promote call → production URL serves the other deployment)
          (`bench edge --misses [--connections 64 --duration 10 --rounds 3]`: requests/s for random unknown hosts beside the known host; needs wrk)
          (`bench creations [--deployments 300 --clients 16 --rounds 3]`: deployments created/s, bench/CloudDeck.Deploy.Bench)
          (`bench deploy [--files 1000 --rounds 5 --vite-rounds 3 --only static|vite --profile]`: deploy overhead, bench/CloudDeck.Deploy.Bench)
          (`bench storage [--duration 5 --rounds 3 --grains 256]`: SQLite state writes/s vs Orleans' ADO.NET SQLite, bench/Actors.Extensions.Bench)
          (`bench sandbox [--rounds 40]`: the sandbox's cost per command, `true` sandboxed vs direct, bench/CloudDeck.Deploy.Bench)
          (`bench proxy [--connections 32 --duration 10 --rounds 3 --cold-starts 5]`: edge proxy vs node directly, cold starts)
          (`bench telemetry [--connections 32 --duration 10 --rounds 3]`: license validations/s and edge requests/s, OTLP on vs off)
  openapi write openapi.json from the API's /openapi/v1.json (after a change to a route, a body or an answer)
  cluster up|down|status
          a private PostgreSQL, three silos and the API in cluster mode as local processes (deploy/local-cluster.sh)
EOF
}

verb="${1:-}"
if (($# > 0)); then shift; fi
case "$verb" in
  build) cmd_build "$@" ;;
  deck) cmd_deck ;;
  test) cmd_test "$@" ;;
  cluster) PG_BIN="$(postgres_bin)" exec deploy/local-cluster.sh "$@" ;;
  bench) cmd_bench "$@" ;;
  openapi) cmd_openapi ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
