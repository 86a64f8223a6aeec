# The README's commands. `make test` is what CI runs (through .ci/run).
.PHONY: run test lint bench package

run:
	cargo run -p devserver

test:
	bash infra/scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	bash infra/scripts/bench-coldstart.sh

package:
	bash infra/scripts/package.sh
