# Multi-stage build of the strata image: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/strata ./cmd/strata

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/strata /usr/bin/strata
USER nonroot:nonroot
EXPOSE 3100 9095 4317 4318 7946
ENTRYPOINT ["/usr/bin/strata"]
CMD ["-target=all"]
