#!/bin/bash
# Runs inside the debootstrapped chroot (as root) to make the shared base of the test images:
# the PostgreSQL 15 server and client, Python 3 with psycopg2/lxml/pip, and the users and
# directories of the official `postgres` and `odoo` images (postgres 999:999, odoo 101:101).
set -euo pipefail

PACKAGES=(
    ca-certificates locales procps grep less
    postgresql-15 postgresql-client-15
    python3 python3-psycopg2 python3-lxml python3-pip python3-setuptools
)

# Never start services while installing; never create a cluster from the package scripts.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/oduflow-test.conf
# Keep the image small: no documentation or manual pages.
cat > /etc/dpkg/dpkg.cfg.d/oduflow-test-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG

# Fixed ids, created before the packages so that their maintainer scripts reuse them.
groupadd --system --gid 999 postgres
useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres
groupadd --system --gid 101 odoo
useradd --system --uid 101 --gid 101 --home-dir /var/lib/odoo --shell /bin/bash odoo

apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
# Like the official postgres image: clusters made by initdb listen on every interface.
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample
grep -q "^listen_addresses = '\*'" /usr/share/postgresql/15/postgresql.conf.sample

install -d -o postgres -g postgres -m 3777 /var/run/postgresql
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
install -d -o root -g root -m 755 /docker-entrypoint-initdb.d /etc/postgresql
install -d -o odoo -g odoo -m 755 /var/lib/odoo /mnt/extra-addons
install -d -o root -g root -m 755 /etc/odoo

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/*
: > /etc/resolv.conf
