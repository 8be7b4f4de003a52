# syntax=docker/dockerfile:1
#
# usage-metrics container image.
#
# Build:   docker build --platform linux/amd64 \
#            --build-arg USAGE_METRICS_VERSION=1.2.3 -t usage-metrics .
# Run:     docker run --rm -p 3000:3000 usage-metrics
# Local check without a Docker engine: scripts/test-image
#
# USAGE_METRICS_VERSION is the release version /health, /info and every log
# line report (the deploy workflow passes the release tag without its "v");
# the image carries it as the org.opencontainers.image.version label.

ARG USAGE_METRICS_VERSION=1.0.0

############################
# Build stage
############################
FROM debian:bookworm-slim AS build

ARG DEBIAN_FRONTEND=noninteractive

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential \
      cmake \
      pkg-config \
      libcaf-dev \
      librestinio-dev \
      libasio-dev \
      libfmt-dev \
      libhttp-parser-dev \
      nlohmann-json3-dev \
      libspdlog-dev \
      libcli11-dev \
      libsqlite3-dev \
      librocksdb-dev \
      libcurl4-openssl-dev \
      libpqxx-dev \
      libyaml-cpp-dev \
      libhowardhinnant-date-dev \
      zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# After COPY: another version rebuilds from here, not the apt layer above.
ARG USAGE_METRICS_VERSION
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUSAGE_METRICS_BUILD_TESTS=OFF \
      -DUSAGE_METRICS_VERSION="${USAGE_METRICS_VERSION}" \
 && cmake --build build -j2 --target usage-metrics \
 && install -m 0755 -s build/usage-metrics /usr/local/bin/usage-metrics

############################
# Runtime stage
############################
FROM debian:bookworm-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive

# Runtime libraries only (the shared objects behind the -dev packages above).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      tzdata \
      libcaf-core0.17 \
      libcaf-io0.17 \
      libfmt9 \
      libspdlog1.10 \
      libsqlite3-0 \
      librocksdb7.8 \
      libcurl4 \
      libpqxx-6.4 \
      libyaml-cpp0.7 \
      libhttp-parser2.9 \
      libdate-tz3 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

RUN groupadd --system --gid 10001 usage-metrics \
 && useradd --system --uid 10001 --gid usage-metrics \
      --home-dir /var/lib/usage-metrics --no-create-home \
      --shell /usr/sbin/nologin usage-metrics \
 && install -d -o usage-metrics -g usage-metrics -m 0750 /var/lib/usage-metrics

COPY --from=build /usr/local/bin/usage-metrics /usr/local/bin/usage-metrics

ENV PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/var/lib/usage-metrics

WORKDIR /var/lib/usage-metrics
USER 10001:10001

EXPOSE 3000
STOPSIGNAL SIGTERM

# The binary checks itself: GET http://127.0.0.1:$PORT/health, exit 0 on 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/usage-metrics", "--healthcheck"]

ENTRYPOINT ["/usr/local/bin/usage-metrics"]

# Last, so that another version changes no layer above (an ARG is in the
# environment of every RUN after it).
ARG USAGE_METRICS_VERSION
LABEL org.opencontainers.image.title="usage-metrics" \
      org.opencontainers.image.version="${USAGE_METRICS_VERSION}"
