# `make bench`: every benchmark, each figure beside a reference measured in the same run; one table,
# also written to .local/bench/summary.json. Sizes and a subset: see tests/bench/run.ts.
.PHONY: bench

bench: deps ## benchmarks: ours vs. a reference measured in the same run (Kafka, processor, storage, gateway, end to end, operator)
	@INFRA_PARTS="kafka postgres redis kube" infra/with-infra.sh $(NODE) tests/bench/run.ts

.PHONY: bench-grpc
bench-grpc: deps ## MarketData under gRPC load (GetLatest, GetOptionChain at 1 and 32 callers) beside a grpc-js echo server
	@INFRA_PARTS="kafka postgres redis" infra/with-infra.sh $(NODE) tests/bench/storage/api.bench.ts

.PHONY: bench-gateway
bench-gateway: deps ## gateway: 1,000 WebSocket clients' fan-out latency beside Redis → ioredis, REST latest at 32 callers beside bare Fastify
	@INFRA_PARTS="kafka postgres redis" infra/with-infra.sh $(NODE) tests/bench/gateway/gateway.bench.ts
