# `make bench`: every benchmark, each figure beside a reference measured in the same run; one table,
# also written to .local/bench/summary.json. Sizes and a subset: see tests/bench/run.ts.
.PHONY: bench

bench: deps ## benchmarks: ours vs. a reference measured in the same run (Kafka, processor, storage, end to end, operator)
	@INFRA_PARTS="kafka postgres redis kube" infra/with-infra.sh $(NODE) tests/bench/run.ts

.PHONY: bench-grpc
bench-grpc: deps ## MarketData under gRPC load (GetLatest, GetOptionChain at 1 and 32 callers) beside a grpc-js echo server
	@INFRA_PARTS="kafka postgres redis" infra/with-infra.sh $(NODE) tests/bench/storage/api.bench.ts
