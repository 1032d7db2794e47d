# The two commands a fresh Debian machine needs (see README.md).
.PHONY: run run-cluster test sanitize chaos build setup clean

run:
	scripts/run.sh

# The same on a local Redis Cluster (3 masters + 3 replicas on ports 7001-7006, data in var/cluster).
run-cluster:
	scripts/run-cluster.sh

test:
	scripts/test.sh

# AddressSanitizer over every test, ThreadSanitizer over the hub tests with two workers (README).
sanitize:
	scripts/sanitize.sh all

# The long fault runs (release build; kill -9 / SIGSTOP of Redis, kill -9 of a hub, kill -9 of a
# Redis Cluster master under load);
# writes var/chaos/results.md. Not part of `make test`.
chaos:
	scripts/chaos.sh

setup:
	scripts/setup.sh

build: setup
	swift build

clean:
	rm -rf .build .build-asan .build-tsan var
