# The README's commands. `make test` is what CI runs (through .ci/run).
.PHONY: run test lint bench bench-scale package deploy deploy-function sam-build sam-package sam-deploy smoke

ENV ?= dev

run:
	cargo run -p devserver

test:
	bash infra/scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	bash infra/scripts/bench-coldstart.sh

# BENCHMARKS.md, "Scale": request times at 1k, 10k and 100k stored, and the drain rate.
bench-scale:
	cargo build --release -p devserver --bins
	python3 infra/scripts/bench_scale.py target/release $(SIZES)

package:
	bash infra/scripts/package.sh

# Deploy (README, "Deploy"): the whole stack, or one function's code in the dev loop.
deploy:
	bash infra/scripts/deploy.sh $(ENV)

deploy-function:
	bash infra/scripts/deploy-function.sh "$(FN)" $(ENV)

# The same deploy in the pipeline's steps (.github/workflows/deploy.yml): build once,
# package once, deploy that one packaged template to each environment, smoke-test it.
sam-build:
	bash infra/scripts/deploy.sh build

sam-package:
	bash infra/scripts/deploy.sh package $(ENV)

sam-deploy:
	bash infra/scripts/deploy.sh deploy $(ENV) $(TEMPLATE)

smoke:
	bash infra/scripts/smoke-stack.sh $(ENV)
