# syntax=docker/dockerfile:1
# Build a static crmsync binary, then ship it alone on a distroless base:
# no shell, no package manager, a non-root user. BuildKit (the default
# builder of Docker 23 and later) keeps the module and build caches between
# builds, so a code change rebuilds in seconds.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t crmsync .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o /out/crmsync ./cmd/crmsync \
 && mkdir -p /out/var/lib/crmsync/outbox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crmsync /usr/local/bin/crmsync
# An empty outbox folder owned by the non-root user: a volume mounted there
# starts with that owner, so crmsync can write to it.
COPY --from=build --chown=65532:65532 /out/var/lib/crmsync /var/lib/crmsync
USER nonroot:nonroot
# Inside a container crmsync must listen on every interface, whatever the
# config file says (the default, 127.0.0.1, is unreachable from outside).
ENV CRMSYNC_HTTP_LISTEN=0.0.0.0:8080 \
    CRMSYNC_CONFIG=/etc/crmsync/crmsync.yaml
EXPOSE 8080
# /healthz answers 200 while Redis answers; there is no curl here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/crmsync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/crmsync"]
CMD ["run"]
