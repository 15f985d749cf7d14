# syntax=docker/dockerfile:1
# Build a static crmsync binary, then ship it alone on a distroless base:
# no shell, no package manager, a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/crmsync ./cmd/crmsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crmsync /usr/local/bin/crmsync
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/crmsync", "run"]
CMD ["-c", "/etc/crmsync/crmsync.yaml"]
