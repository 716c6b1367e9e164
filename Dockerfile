# Multi-stage build of train-prometheus: a static binary on a busybox base,
# running as nobody (65534). (No Docker engine runs where this was written; the file
# is kept correct by reading and by `make build`, which runs the same
# `go build` command.)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/train-prometheus ./cmd/train-prometheus \
 && mkdir -p /out/data /out/etc \
 && cp cmd/train-prometheus/train-prometheus.yml /out/etc/train-prometheus.yml

FROM quay.io/prometheus/busybox:latest
LABEL org.opencontainers.image.title="train-prometheus" \
      org.opencontainers.image.description="Forecasts and anomaly signals for Prometheus series, over remote_write"
COPY --from=build /out/train-prometheus /bin/train-prometheus
COPY --from=build --chown=nobody:nobody /out/etc/train-prometheus.yml /etc/train-prometheus/train-prometheus.yml
COPY --from=build --chown=nobody:nobody /out/data /train-prometheus
# Numeric, so that Kubernetes can verify runAsNonRoot (65534 is nobody).
USER 65534:65534
EXPOSE 9201
VOLUME ["/etc/train-prometheus", "/train-prometheus"]
WORKDIR /train-prometheus
ENTRYPOINT ["/bin/train-prometheus"]
CMD ["--config.file=/etc/train-prometheus/train-prometheus.yml", "--storage.path=/train-prometheus"]
