# Multi-stage build of a static opsbot binary (no cgo: modernc.org/sqlite).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/opsbot .
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/opsbot /usr/local/bin/opsbot
# The data folder (SQLite store, attachments) lives on a volume. It exists
# in the image owned by the non-root user, so a new volume starts with that
# owner (a folder Docker made would be root's and the store could not open).
WORKDIR /var/lib/opsbot
COPY --from=build --chown=65532:65532 /out/data /var/lib/opsbot/data
VOLUME ["/var/lib/opsbot/data"]
ENV OPSBOT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s CMD ["opsbot", "healthcheck"]
ENTRYPOINT ["opsbot"]
CMD ["serve"]
