# The pgop image: PostgreSQL, pgBackRest, PgBouncer and the built pgop: one binary for the operator, the instance
# agent and the Poolers' PgBouncer pods.
# Build: docker build --build-arg PG_MAJOR=17 -t pgop:dev .
ARG PG_MAJOR=17

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
COPY . .
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ARG PG_MAJOR
# A fixed uid (26, as in most PostgreSQL images) so Pods can say runAsNonRoot with runAsUser 26.
RUN groupadd -r -g 26 postgres && useradd -r -u 26 -g 26 -d /var/lib/postgresql -s /bin/bash postgres
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-${PG_MAJOR} pgbackrest pgbouncer \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist /opt/pgop/dist
COPY --from=build /src/node_modules /opt/pgop/node_modules
COPY --from=build /src/package.json /opt/pgop/package.json
RUN ln -s /opt/pgop/dist/bin/pgop.js /usr/local/bin/pgop && chmod +x /opt/pgop/dist/bin/pgop.js
ENV PGOP_PG_ROOT=/usr/lib/postgresql
USER 26
ENTRYPOINT ["node", "/opt/pgop/dist/bin/pgop.js"]
