#!/usr/bin/env bash
# PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379) for the vouch-server and
# vouch-tlog tests (audit chain, log index, quotas, replay cache, two replicas). Idempotent: starts
# a service only when it does not answer; installs nothing the machine lacks.
set -euo pipefail
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if answers 5432; then
  echo "20-services: PostgreSQL answers"
elif command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do answers 5432 && break; sleep 0.5; done
  answers 5432 && echo "20-services: started PostgreSQL" || { echo "20-services: PostgreSQL does not start" >&2; exit 1; }
else
  echo "20-services: no PostgreSQL on 127.0.0.1:5432 and none installed" >&2
  exit 1
fi
if answers 6379; then
  echo "20-services: Redis answers"
elif command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do answers 6379 && break; sleep 0.2; done
  answers 6379 && echo "20-services: started Redis" || { echo "20-services: Redis does not start" >&2; exit 1; }
else
  echo "20-services: no Redis on 127.0.0.1:6379 and none installed" >&2
  exit 1
fi
