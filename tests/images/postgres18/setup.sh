#!/bin/bash
# Runs inside the debootstrapped Debian unstable chroot (as root) to make the base of the
# PostgreSQL 18 stand-in: Debian's postgresql-18 server and client, the en_US.UTF-8 locale, and
# the user and directories of the official `postgres:18` image (postgres 999:999, /var/lib/postgresql
# owned by postgres with mode 1777, the VOLUME of 18 and later).
set -euo pipefail

PG_MAJOR=18
PACKAGES=(
    ca-certificates locales procps less util-linux
    "postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR"
)

# Never start services while installing; never create a cluster from the package scripts.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/oduflow-test.conf
cat > /etc/dpkg/dpkg.cfg.d/oduflow-test-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG

# Fixed ids, created before the packages so that their maintainer scripts reuse them.
groupadd --system --gid 999 postgres
useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres

# unstable's Release file is valid for a week only: a mirror serving a frozen snapshot of it
# (as some CI mirrors do) would be refused. The packages are still verified by their signatures.
valid_until=/etc/apt/apt.conf.d/99oduflow-test-no-valid-until
echo 'Acquire::Check-Valid-Until "false";' > "$valid_until"
apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
rm -f "$valid_until"
"/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version | grep -q "PostgreSQL) $PG_MAJOR\."

localedef -i en_US -c -f UTF-8 en_US.UTF-8  # unstable ships no locale.alias
# Like the official postgres image: clusters made by initdb listen on every interface.
sample=/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"

install -d -o postgres -g postgres -m 3777 /var/run/postgresql
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql
install -d -o root -g root -m 755 /docker-entrypoint-initdb.d

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/*
: > /etc/resolv.conf
