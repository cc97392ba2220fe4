# One gate, locally and in CI (.ci/run runs the same steps).
.PHONY: check fmt vet lint tidy content test fuzz bench-qr loadtest

FUZZTIME ?= 30s

check: fmt tidy vet lint content test

fmt:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

tidy:
	go mod tidy -diff

vet:
	go vet ./...

lint:
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

content:
	go run ./cmd/hangxom content check

test:
	go test -race -count=1 ./...

# Bounded fuzzing of every target (not part of the default test run); a
# crasher lands in testdata/fuzz and becomes a regression test: commit it.
fuzz:
	go test ./flows -run XXX -fuzz FuzzFold -fuzztime $(FUZZTIME)
	go test ./flows/vietqr -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./bot/telegram -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	go test ./bot/telegram -run XXX -fuzz FuzzReceive -fuzztime $(FUZZTIME)
	# A check of the content takes ~20 ms on a 13 KB flow file, and Go
	# minimizes each new interesting input for up to a minute by default:
	# that stalled this target at a handful of runs. Bound it.
	go test ./content -run XXX -fuzz FuzzCheckFlowFile -fuzztime $(FUZZTIME) -fuzzminimizetime 20x

# The QR photo benchmark (docs/operations.md; about a minute).
bench-qr:
	go test ./bot/qrimage -run XXX -bench DecodePhotos -benchtime 1x

# The performance figures of docs/performance.md (about 12 minutes; starts its own
# redis-server unless REDIS_URL is set).
loadtest:
	go build -o bin/hangxom ./cmd/hangxom
	bin/hangxom loadtest --residents 3000 --memory-residents 2000 --duration 20s --latency-rate 1000 \
		--report-residents 10000,1000000 --reminders 10000 --bulk-limit 100
