# Multi-stage build of a static opsbot binary (no cgo: modernc.org/sqlite).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/opsbot .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/opsbot /usr/local/bin/opsbot
# The data folder (SQLite store, attachments) lives on a volume.
WORKDIR /var/lib/opsbot
VOLUME ["/var/lib/opsbot/data"]
ENV OPSBOT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s CMD ["opsbot", "healthcheck"]
ENTRYPOINT ["opsbot"]
CMD ["serve"]
