# Common tasks. `make test` is the whole suite (it starts PostgreSQL if needed); `make demo` runs
# the demo on the embedded database against the built-in CRM sandboxes.
.PHONY: build test race lint demo bench

build:
	go build -o bin/mapsync ./cmd/mapsync

test:
	scripts/test.sh

race:
	scripts/test.sh -race

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	go tool staticcheck ./...

demo:
	go run ./cmd/mapsync demo

bench:
	go test -run '^$$' -bench . -benchtime 3x ./...
