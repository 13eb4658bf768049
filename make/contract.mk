# The API contract suite: upstream Nova's api-samples templates replayed against a mesh of its
# own through Envoy. `make contract` prints passed / failed / not applicable per API directory
# and writes contract-report.json (+ .md); `make contract-baseline` records the pass count CI
# holds the line on (tests/contract/baseline.json). `make contract ONLY=servers,os-keypairs`
# runs only those API directories.
.PHONY: contract contract-baseline

contract: $(STAMP)
	$(PY) -m tests.contract.runner --out contract-report.json --failures $(if $(ONLY),--only $(ONLY))

contract-baseline: $(STAMP)
	$(PY) -m tests.contract.runner --out contract-report.json --baseline tests/contract/baseline.json
