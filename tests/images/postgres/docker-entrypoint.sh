#!/usr/bin/env bash
# Entrypoint of the test PostgreSQL image, compatible with the official `postgres` image:
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / POSTGRES_INITDB_ARGS / POSTGRES_HOST_AUTH_METHOD,
# /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz}, then `exec postgres ARGS` as user postgres.
# Like the official 18 image, it refuses to initialise the default 18 PGDATA
# (/var/lib/postgresql/18/docker) while another cluster, or a mount, sits where older images kept one.
set -Eeo pipefail

log() { printf '%s\n' "$*"; }

# Clusters (or an unused mount) that the official 18+ entrypoint refuses to start next to.
old_databases() {
    [ "$PGDATA" = "/var/lib/postgresql/$PG_MAJOR/docker" ] || return 0
    local d found=0
    for d in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
        if [ -s "$d/PG_VERSION" ]; then
            printf '  %s (PG_VERSION %s)\n' "$d" "$(< "$d/PG_VERSION")"
            found=1
        fi
    done
    if [ "$found" = 0 ] && mountpoint -q /var/lib/postgresql/data 2>/dev/null; then
        printf '  %s\n' '/var/lib/postgresql/data (unused mount/volume)'
    fi
}

want_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?'|--help|--describe-config|-V|--version) return 0 ;;
        esac
    done
    return 1
}

# An option as first argument means "postgres with these options".
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != 'postgres' ] || want_help "$@"; then
    exec "$@"
fi

if [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != 'trust' ]; then
        log 'Error: Database is uninitialized and superuser password is not specified.' >&2
        log '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
        exit 1
    fi
    old="$(old_databases)"
    if [ -n "$old" ]; then
        log 'Error: in 18+, these Docker images are configured to store database data in a' >&2
        log '       format which is compatible with "pg_ctlcluster" (major-version-specific' >&2
        log '       directory names). Counter to that, there appears to be PostgreSQL data in:' >&2
        log "$old" >&2
        log '       Mount a single volume at /var/lib/postgresql (or set PGDATA explicitly).' >&2
        exit 1
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words on purpose
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    # A server on the unix socket only, with the caller's settings (an hba_file too), for the
    # init scripts; like the official image, psql gets the password in case local needs one.
    export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"
    opts=''
    if [ "$#" -gt 1 ]; then
        opts="$(printf '%q ' "${@:2}")"
    fi
    pg_ctl -D "$PGDATA" -o "$opts -c listen_addresses='' -p ${PGPORT:-5432}" -w start
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
    if [ "$POSTGRES_DB" != 'postgres' ]; then
        "${psql[@]}" --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) log "running $f"; . "$f" ;;
            *.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    log 'PostgreSQL init process complete; ready for start up.'
else
    log 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
fi

exec "$@"
