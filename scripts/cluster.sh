#!/usr/bin/env bash
# A local Scheduler cluster on loopback, in one command:
#   bash scripts/cluster.sh start    PostgreSQL + Redis + two silos (Storage=Postgres, Redis membership); waits for /health
#   bash scripts/cluster.sh status   what runs, with pids, ports and each silo's /health
#   bash scripts/cluster.sh stop     stops what start started (pid files); data stays for the next start
# start is idempotent: whatever already runs is left as it is. Everything listens on 127.0.0.1 only.
#
# Environment (all optional):
#   SCHEDULER_CLUSTER_DIR       state: PostgreSQL data, logs, pid files, generated passwords
#                               (default ~/.local/share/scheduler-cluster; as root /var/lib/scheduler-cluster,
#                               because PostgreSQL runs as the unprivileged 'postgres' user and must reach it)
#   SCHEDULER_CLUSTER_PG_PORT       PostgreSQL port (default 55432)
#   SCHEDULER_CLUSTER_REDIS_PORT    Redis port (default 56379)
#   SCHEDULER_CLUSTER_GATEWAY_PORT  gateway of silo 1; silo 2 uses +1 (default 30000)
#   SCHEDULER_CLUSTER_SILO_PORT     silo port of silo 1; silo 2 uses +1 (default 11111)
#   SCHEDULER_CLUSTER_HTTP_PORT     HTTP (/health, /dashboard) of silo 1; silo 2 uses +1 (default 5000)
#   SCHEDULER_CLUSTER_ID            Orleans ClusterId and ServiceId (default scheduler)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -eq 0 ]; then
  dir=${SCHEDULER_CLUSTER_DIR:-/var/lib/scheduler-cluster}
else
  dir=${SCHEDULER_CLUSTER_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/scheduler-cluster}
fi
pg_port=${SCHEDULER_CLUSTER_PG_PORT:-55432}
redis_port=${SCHEDULER_CLUSTER_REDIS_PORT:-56379}
gateway_port=${SCHEDULER_CLUSTER_GATEWAY_PORT:-30000}
silo_port=${SCHEDULER_CLUSTER_SILO_PORT:-11111}
http_port=${SCHEDULER_CLUSTER_HTTP_PORT:-5000}
cluster_id=${SCHEDULER_CLUSTER_ID:-scheduler}
silos=(1 2)

pg_dir=$dir/postgres
log_dir=$dir/logs
run_dir=$dir/run
silo_dll=$repo/Silo/bin/Release/net10.0/Scheduler.Silo.dll

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

# --- helpers ------------------------------------------------------------------------------------------------------

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || return 1
  printf '%s' "$bin"
}

redis_bin() {
  command -v redis-server 2>/dev/null || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; }
}

# PostgreSQL refuses to run as root: as root it runs as 'postgres' (created by the Debian package).
pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

ensure_packages() {
  local need=()
  pg_bin >/dev/null || need+=(postgresql)
  [ -n "$(redis_bin)" ] || need+=(redis-server)
  [ "${#need[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "need ${need[*]} and apt-get is not available to install them"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
      || die "need ${need[*]}: install them (apt-get install ${need[*]}) or run as root"
    sudo=(sudo -n)
  fi
  say "installing ${need[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
}

# A pid from a pid file, if that process is alive and its command line contains $2.
alive() {
  local file=$1 pattern=$2 pid
  [ -f "$file" ] || return 1
  pid=$(head -n 1 "$file" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern" || return 1
  printf '%s' "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

secret() {
  local file=$1
  if [ ! -s "$file" ]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

pg_running() { [ -f "$pg_dir/data/postmaster.pid" ] && as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1; }

health() { curl -fsS --max-time 3 "http://127.0.0.1:$1/health" 2>/dev/null; }

pg_connection() {
  printf 'Host=127.0.0.1;Port=%s;Database=scheduler;Username=scheduler;Password=%s' "$pg_port" "$(cat "$dir/postgres.password")"
}
redis_connection() { printf '127.0.0.1:%s,password=%s' "$redis_port" "$(cat "$dir/redis.password")"; }

# --- start --------------------------------------------------------------------------------------------------------

start_postgres() {
  local bin; bin=$(pg_bin)
  local user; user=$(pg_user)
  if pg_running; then say "PostgreSQL already runs on 127.0.0.1:$pg_port"; return; fi
  mkdir -p "$pg_dir"
  local password; password=$(secret "$dir/postgres.password")
  if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $pg_dir/data (runs as $user)"
    mkdir -p "$pg_dir/sock"
    local pwfile="$pg_dir/initdb.pw"
    (umask 077; printf '%s\n' "$password" >"$pwfile")
    [ "$(id -u)" -eq 0 ] && chown -R "$user:" "$pg_dir"
    as_pg "$bin/initdb" -D "$pg_dir/data" -U scheduler --pwfile="$pwfile" --auth-local=scram-sha-256 \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$log_dir/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; die "initdb failed; see $log_dir/initdb.log"; }
    rm -f "$pwfile"
  fi
  port_busy "$pg_port" && die "port $pg_port is taken by another program (set SCHEDULER_CLUSTER_PG_PORT)"
  cat >"$pg_dir/data/postgresql.auto.conf.new" <<EOF
# written by scripts/cluster.sh
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_dir/sock'
max_connections = 300
EOF
  [ "$(id -u)" -eq 0 ] && chown "$user:" "$pg_dir/data/postgresql.auto.conf.new"
  mv "$pg_dir/data/postgresql.auto.conf.new" "$pg_dir/data/postgresql.auto.conf"
  touch "$log_dir/postgres.log"; [ "$(id -u)" -eq 0 ] && chown "$user:" "$log_dir/postgres.log"
  say "starting PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$bin/pg_ctl" -D "$pg_dir/data" -l "$log_dir/postgres.log" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start; see $log_dir/postgres.log"
  if ! PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U scheduler -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'scheduler'" | grep -q 1; then
    PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U scheduler -d postgres -qc "CREATE DATABASE scheduler" \
      || die "could not create database 'scheduler'"
  fi
}

start_redis() {
  if alive "$run_dir/redis.pid" redis-server >/dev/null; then say "Redis already runs on 127.0.0.1:$redis_port"; return; fi
  port_busy "$redis_port" && die "port $redis_port is taken by another program (set SCHEDULER_CLUSTER_REDIS_PORT)"
  mkdir -p "$dir/redis"
  local password; password=$(secret "$dir/redis.password")
  # Membership only: nothing to persist (silos re-register when they start). The password goes through a config
  # file, not the command line (visible in ps).
  (umask 077; cat >"$dir/redis/redis.conf" <<EOF
bind 127.0.0.1
port $redis_port
protected-mode yes
requirepass $password
save ""
appendonly no
dir $dir/redis
daemonize yes
pidfile $run_dir/redis.pid
logfile $log_dir/redis.log
EOF
  )
  say "starting Redis on 127.0.0.1:$redis_port"
  "$(redis_bin)" "$dir/redis/redis.conf"
  for _ in $(seq 1 50); do alive "$run_dir/redis.pid" redis-server >/dev/null && port_busy "$redis_port" && return; sleep 0.1; done
  die "Redis did not start; see $log_dir/redis.log"
}

build_silo() {
  say "building the silo (dotnet build Silo -c Release)"
  dotnet build "$repo/Silo" -c Release -v q -nologo >"$log_dir/build.log" 2>&1 || { tail -n 30 "$log_dir/build.log" >&2; die "build failed; see $log_dir/build.log"; }
  [ -f "$silo_dll" ] || die "built, but $silo_dll is missing"
}

start_silo() {
  local n=$1 offset=$(($1 - 1))
  local pidfile="$run_dir/silo$n.pid"
  if alive "$pidfile" Scheduler.Silo.dll >/dev/null; then say "silo $n already runs (pid $(cat "$pidfile"))"; return; fi
  local http=$((http_port + offset)) gw=$((gateway_port + offset)) sp=$((silo_port + offset))
  for p in "$http" "$gw" "$sp"; do port_busy "$p" && die "port $p (silo $n) is taken by another program"; done
  say "starting silo $n: gateway 127.0.0.1:$gw, silo port $sp, http://127.0.0.1:$http"
  (
    cd "$(dirname "$silo_dll")"
    export Urls="http://127.0.0.1:$http"
    export Scheduler__Storage=Postgres
    export Scheduler__PostgresConnectionString; Scheduler__PostgresConnectionString=$(pg_connection)
    export Scheduler__RedisConnectionString; Scheduler__RedisConnectionString=$(redis_connection)
    export Scheduler__AdvertisedAddress=127.0.0.1
    export Scheduler__SiloPort=$sp Scheduler__GatewayPort=$gw
    export Scheduler__ClusterId=$cluster_id Scheduler__ServiceId=$cluster_id
    export Scheduler__Dashboard; Scheduler__Dashboard=$([ "$n" -eq 1 ] && echo true || echo false)
    nohup setsid dotnet "$silo_dll" >>"$log_dir/silo$n.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  )
}

wait_healthy() {
  local n=$1 http=$((http_port + $1 - 1)) deadline=$((SECONDS + 180))
  while [ $SECONDS -lt $deadline ]; do
    if health "$http" | grep -q '^Healthy'; then say "silo $n healthy: $(health "$http")"; return; fi
    alive "$run_dir/silo$n.pid" Scheduler.Silo.dll >/dev/null || { tail -n 40 "$log_dir/silo$n.log" >&2; die "silo $n exited; see $log_dir/silo$n.log"; }
    sleep 0.5
  done
  die "silo $n did not report healthy on http://127.0.0.1:$http/health within 180 s; see $log_dir/silo$n.log"
}

cmd_start() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is required (dotnet not found on PATH)"
  command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"
  ensure_packages
  mkdir -p "$dir" "$log_dir" "$run_dir"
  chmod 755 "$dir" # the postgres user (when run as root) must reach its data directory
  start_postgres
  start_redis
  local need_build=0
  for n in "${silos[@]}"; do alive "$run_dir/silo$n.pid" Scheduler.Silo.dll >/dev/null || need_build=1; done
  [ "$need_build" -eq 1 ] && build_silo
  for n in "${silos[@]}"; do start_silo "$n"; done
  for n in "${silos[@]}"; do wait_healthy "$n"; done
  cat <<EOF

Cluster '$cluster_id' is up (state in $dir, logs in $log_dir).
  gateways   127.0.0.1:$gateway_port, 127.0.0.1:$((gateway_port + 1))
  dashboard  http://127.0.0.1:$http_port/dashboard
  CLI        dotnet run --project Cli -c Release -- submit --wait --gateway 127.0.0.1:$gateway_port -- /bin/echo hi
  SDK        Scheduler:Client:RedisConnectionString=127.0.0.1:$redis_port,password=<$dir/redis.password>
             Scheduler:Client:ClusterId=$cluster_id, Scheduler:Client:ServiceId=$cluster_id
  stop       bash scripts/cluster.sh stop
EOF
}

# --- stop ---------------------------------------------------------------------------------------------------------

stop_pid() {
  local name=$1 file=$2 pattern=$3 pid
  if ! pid=$(alive "$file" "$pattern"); then rm -f "$file"; say "$name is not running"; return; fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return; }; sleep 0.5; done
  say "$name did not stop within 40 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

cmd_stop() {
  for n in "${silos[@]}"; do stop_pid "silo $n" "$run_dir/silo$n.pid" Scheduler.Silo.dll; done
  stop_pid Redis "$run_dir/redis.pid" redis-server
  if pg_bin >/dev/null && pg_running; then
    say "stopping PostgreSQL"
    as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m fast -w -t 60 stop >/dev/null
  else
    say "PostgreSQL is not running"
  fi
  say "stopped; data kept in $dir"
}

# --- status -------------------------------------------------------------------------------------------------------

cmd_status() {
  local pid running=0
  if pg_bin >/dev/null && pg_running; then
    say "PostgreSQL  running  pid $(head -n 1 "$pg_dir/data/postmaster.pid")  127.0.0.1:$pg_port"; running=$((running + 1))
  else
    say "PostgreSQL  stopped"
  fi
  if pid=$(alive "$run_dir/redis.pid" redis-server); then
    say "Redis       running  pid $pid  127.0.0.1:$redis_port"; running=$((running + 1))
  else
    say "Redis       stopped"
  fi
  for n in "${silos[@]}"; do
    local http=$((http_port + n - 1)) gw=$((gateway_port + n - 1))
    if pid=$(alive "$run_dir/silo$n.pid" Scheduler.Silo.dll); then
      say "silo $n      running  pid $pid  gateway 127.0.0.1:$gw  http://127.0.0.1:$http  $(health "$http" || echo 'health: no answer')"
      running=$((running + 1))
    else
      say "silo $n      stopped"
    fi
  done
  say "$running of $((2 + ${#silos[@]})) processes running (state in $dir)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: bash scripts/cluster.sh start|stop|status" >&2; exit 2 ;;
esac
